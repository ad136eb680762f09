"""roles as data (权限): `roles` composed from the permission catalogue, `user_roles`

An organisation's own roles: permissions from the fixed catalogue (server.kernel.permissions)
and a data scope (all communities, or the ones named). Staff users hold roles through
`user_roles`; admin, dispatcher and technician stay as presets in `users.roles`. The audit
log gains the kind `role_changed`.

Revision ID: 0032_roles
Revises: 0031_imports
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.kernel.values import sql_in, sql_subset

revision = "0032_roles"
down_revision = "0031_imports"
branch_labels = None
depends_on = None

# Frozen copies of the value lists as this revision leaves them.
_PERMISSIONS = (
    "orders.view",
    "orders.act",
    "dispatch.view",
    "dispatch.act",
    "money.view",
    "money.act",
    "refunds.act",
    "finance.act",
    "customers.view",
    "customers.act",
    "property.act",
    "imports.act",
    "notices.view",
    "notices.act",
    "reports.view",
    "settings.view",
    "settings.act",
    "audit.view",
    "personal_data.view",
    "roles.act",
)
_KINDS_BEFORE = (
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
    "dictionary_changed",
)
_KINDS = (*_KINDS_BEFORE, "role_changed")


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=200), server_default="", nullable=False),
        sa.Column("permissions", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("all_communities", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "community_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(sql_subset("permissions", _PERMISSIONS), name=op.f("ck_roles_known")),
        sa.CheckConstraint(
            "all_communities OR cardinality(community_ids) > 0", name=op.f("ck_roles_scope_named")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_roles_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_roles_org_id_name")),
    )
    op.create_index(op.f("ix_roles_org_id"), "roles", ["org_id"])
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_user_roles_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_user_roles_role_id_roles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_user_roles")),
    )
    op.create_index(op.f("ix_user_roles_org_id"), "user_roles", ["org_id"])
    op.create_index(op.f("ix_user_roles_role_id"), "user_roles", ["role_id"])
    op.drop_constraint(op.f("ck_audit_log_kind_known"), "audit_log", type_="check")
    op.create_check_constraint(op.f("ck_audit_log_kind_known"), "audit_log", sql_in("kind", _KINDS))


def downgrade() -> None:
    # The log is append-only (a trigger refuses DELETE): rows of the later kind stay, and the
    # older constraint holds for new rows only.
    op.drop_constraint(op.f("ck_audit_log_kind_known"), "audit_log", type_="check")
    op.execute(
        "ALTER TABLE audit_log ADD CONSTRAINT ck_audit_log_kind_known "
        f"CHECK ({sql_in('kind', _KINDS_BEFORE)}) NOT VALID"
    )
    op.drop_table("user_roles")
    op.drop_table("roles")
