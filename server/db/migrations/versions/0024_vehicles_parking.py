"""客车关系: parking spaces, their holders over time (owned / rented), vehicles; the
desk notification kind `parking_rent_expiring`

A space's number is unique in its community; a holder's relation is never deleted (ending it
sets its end date); one active vehicle per plate in an organisation (a partial unique index;
removed vehicles stay as history). Customers with parking history are not deleted (RESTRICT).

Revision ID: 0024_vehicles_parking
Revises: 0022_department_lead
Create Date: 2026-12-07 10:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_vehicles_parking"
down_revision = "0022_department_lead"
branch_labels = None
depends_on = None

_KINDS_BEFORE = (
    "order_assigned",
    "order_transferred",
    "pool_order",
    "tenant_message",
    "sla_reminder",
    "visit_reminder",
    "order_taken",
    "order_completed",
    "payment_received",
    "refund_done",
    "desk_reply",
    "visit_reminder_tenant",
    "order_rejected",
    "low_rating",
    "order_overdue",
    "order_escalated",
    "reconciliation_discrepancy",
    "payment_cert_expiring",
    "order_urged",
    "tenant_urged",
    "tenant_urged_tech",
    "return_visit_due",
    "complaint_filed",
    "complaint_assigned",
    "complaint_reply",
    "notice",
    "notice_urgent",
    "staff_notice",
    "survey_open",
)
_KINDS_AFTER = (*_KINDS_BEFORE, "parking_rent_expiring")


def _quoted(kinds: tuple[str, ...]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)


def _kind_checks(kinds: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_known"), "notifications", f"kind IN ({_quoted(kinds)})"
    )
    op.drop_constraint(
        op.f("ck_notification_preferences_muted_kinds_known"),
        "notification_preferences",
        type_="check",
    )
    op.create_check_constraint(
        op.f("ck_notification_preferences_muted_kinds_known"),
        "notification_preferences",
        f"muted_kinds <@ ARRAY[{_quoted(kinds)}]::varchar[]",
    )


def upgrade() -> None:
    _kind_checks(_KINDS_AFTER)
    op.create_table(
        "parking_spaces",
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("area", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("remark", sa.String(length=500), nullable=False),
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
        sa.CheckConstraint(
            "kind IN ('ground', 'underground', 'mechanical')",
            name=op.f("ck_parking_spaces_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'disabled')", name=op.f("ck_parking_spaces_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_parking_spaces_community_id_communities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_parking_spaces_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_spaces")),
        sa.UniqueConstraint(
            "community_id", "number", name=op.f("uq_parking_spaces_community_id_number")
        ),
    )
    op.create_index(
        op.f("ix_parking_spaces_community_id"), "parking_spaces", ["community_id"], unique=False
    )
    op.create_index(op.f("ix_parking_spaces_org_id"), "parking_spaces", ["org_id"], unique=False)
    op.create_table(
        "parking_space_holdings",
        sa.Column("space_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("remind_days", sa.SmallInteger(), nullable=False),
        sa.Column("contract_number", sa.String(length=50), nullable=False),
        sa.Column("remark", sa.String(length=500), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "kind <> 'rented' OR end_date IS NOT NULL",
            name=op.f("ck_parking_space_holdings_rental_has_end"),
        ),
        sa.CheckConstraint(
            "kind IN ('owned', 'rented')", name=op.f("ck_parking_space_holdings_kind_known")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_parking_space_holdings_period_ordered"),
        ),
        sa.CheckConstraint(
            "remind_days BETWEEN 0 AND 365",
            name=op.f("ck_parking_space_holdings_remind_days_range"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_parking_space_holdings_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_parking_space_holdings_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["parking_spaces.id"],
            name=op.f("fk_parking_space_holdings_space_id_parking_spaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_space_holdings")),
    )
    op.create_index(
        op.f("ix_parking_space_holdings_customer_id"),
        "parking_space_holdings",
        ["customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_parking_space_holdings_org_id"), "parking_space_holdings", ["org_id"], unique=False
    )
    op.create_index(
        "ix_parking_space_holdings_reminder",
        "parking_space_holdings",
        ["end_date"],
        unique=False,
        postgresql_where=sa.text("kind = 'rented' AND ended_at IS NULL AND reminded_at IS NULL"),
    )
    op.create_index(
        "ix_parking_space_holdings_space_id_start_date",
        "parking_space_holdings",
        ["space_id", "start_date"],
        unique=False,
    )
    op.create_table(
        "vehicles",
        sa.Column("plate", sa.String(length=10), nullable=False),
        sa.Column("plate_kind", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=50), nullable=False),
        sa.Column("colour", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("space_id", sa.BigInteger(), nullable=True),
        sa.Column("remark", sa.String(length=500), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("remove_reason", sa.String(length=200), nullable=False),
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
        sa.CheckConstraint(
            "plate_kind IN ('ordinary', 'new_energy', 'coach', 'trailer', 'police', 'consulate', 'embassy', 'hk_macao')",
            name=op.f("ck_vehicles_plate_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_vehicles_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_vehicles_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["parking_spaces.id"],
            name=op.f("fk_vehicles_space_id_parking_spaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
    )
    op.create_index(op.f("ix_vehicles_customer_id"), "vehicles", ["customer_id"], unique=False)
    op.create_index(op.f("ix_vehicles_org_id"), "vehicles", ["org_id"], unique=False)
    op.create_index(op.f("ix_vehicles_space_id"), "vehicles", ["space_id"], unique=False)
    op.create_index(
        "uq_vehicles_org_id_plate_active",
        "vehicles",
        ["org_id", "plate"],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'parking_rent_expiring'")
    op.execute(
        "UPDATE notification_preferences"
        " SET muted_kinds = array_remove(muted_kinds, 'parking_rent_expiring')"
    )
    _kind_checks(_KINDS_BEFORE)
    op.drop_index(
        "uq_vehicles_org_id_plate_active",
        table_name="vehicles",
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.drop_index(op.f("ix_vehicles_space_id"), table_name="vehicles")
    op.drop_index(op.f("ix_vehicles_org_id"), table_name="vehicles")
    op.drop_index(op.f("ix_vehicles_customer_id"), table_name="vehicles")
    op.drop_table("vehicles")
    op.drop_index(
        "ix_parking_space_holdings_space_id_start_date", table_name="parking_space_holdings"
    )
    op.drop_index(
        "ix_parking_space_holdings_reminder",
        table_name="parking_space_holdings",
        postgresql_where=sa.text("kind = 'rented' AND ended_at IS NULL AND reminded_at IS NULL"),
    )
    op.drop_index(op.f("ix_parking_space_holdings_org_id"), table_name="parking_space_holdings")
    op.drop_index(
        op.f("ix_parking_space_holdings_customer_id"), table_name="parking_space_holdings"
    )
    op.drop_table("parking_space_holdings")
    op.drop_index(op.f("ix_parking_spaces_org_id"), table_name="parking_spaces")
    op.drop_index(op.f("ix_parking_spaces_community_id"), table_name="parking_spaces")
    op.drop_table("parking_spaces")
