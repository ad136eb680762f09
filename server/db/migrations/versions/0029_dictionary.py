"""数据字典: dictionary_items, and the audit log's kind for its changes

One row per (organisation, list, code): an organisation's own item of an open list, or its
change (label, order, switch) to a system value. The audit log accepts `dictionary_changed`.

Revision ID: 0029_dictionary
Revises: 0028_residency
Create Date: 2026-12-07 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.kernel.values import sql_in

revision = "0029_dictionary"
down_revision = "0028_residency"
branch_labels = None
depends_on = None

# Frozen copies of the value lists as this revision created them.
_LISTS = (
    "room_uses",
    "orientations",
    "id_types",
    "contact_relations",
    "room_relations",
    "parking_space_kinds",
    "parking_holding_kinds",
    "complaint_categories",
    "cancel_reasons",
    "reject_reasons",
    "transfer_reasons",
    "hold_reasons",
    "vehicle_colours",
    "room_layouts",
)
_AUDIT_KINDS = (
    "login_succeeded",
    "login_failed",
    "fee_adjusted",
    "offline_payment",
    "refund",
    "order_assigned",
    "order_transferred",
    "staff_changed",
    "staff_deactivated",
    "export",
    "wechat_unbound",
    "deleted",
    "wechat_bound",
    "imported",
    "moved_in",
    "household_changed",
    "room_transferred",
    "room_split",
    "room_merged",
    "payer_changed",
)
_AUDIT_KINDS_NOW = (*_AUDIT_KINDS, "dictionary_changed")


def upgrade() -> None:
    op.create_table(
        "dictionary_items",
        sa.Column("list", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=50), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("system", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(sql_in("list", _LISTS), name=op.f("ck_dictionary_items_list_known")),
        sa.CheckConstraint("sort BETWEEN 0 AND 9999", name=op.f("ck_dictionary_items_sort_range")),
        sa.CheckConstraint("label <> ''", name=op.f("ck_dictionary_items_label_present")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_dictionary_items_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dictionary_items")),
        sa.UniqueConstraint(
            "org_id", "list", "code", name=op.f("uq_dictionary_items_org_id_list_code")
        ),
    )
    op.create_index(
        op.f("ix_dictionary_items_org_id"), "dictionary_items", ["org_id"], unique=False
    )
    _audit_kinds(_AUDIT_KINDS_NOW)


def downgrade() -> None:
    # The log is append-only (a trigger refuses DELETE): its rows of this kind go with the
    # revision, the trigger paused for this one statement.
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable")
    op.execute("DELETE FROM audit_log WHERE kind = 'dictionary_changed'")
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_immutable")
    _audit_kinds(_AUDIT_KINDS)
    op.drop_index(op.f("ix_dictionary_items_org_id"), table_name="dictionary_items")
    op.drop_table("dictionary_items")


def _audit_kinds(kinds: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_audit_log_kind_known"), "audit_log", type_="check")
    op.create_check_constraint(op.f("ck_audit_log_kind_known"), "audit_log", sql_in("kind", kinds))
