"""booking: slot settings, date exceptions and per-slot counters

Also: `orders.slot_end` (the appointment window's end; `slot_date`/`slot_start` date from 0002),
and two timeline actions, `reschedule` (改约) and `hold_expired` (a booked order left unpaid is
cancelled and frees its slot), so the timeline's action CHECK is rebuilt with them. The values
are written out as they are on this date (a migration is a record of history).

Revision ID: 0007_booking
Revises: 0006_value_lists
Create Date: 2026-11-30 12:15:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_booking"
down_revision = "0006_value_lists"
branch_labels = None
depends_on = None

ACTIONS_BEFORE = (
    "'file', 'file_unpaid', 'payment_received', 'assign', 'grab', 'accept', 'reject', "
    "'transfer', 'hold', 'resume', 'complete', 'rate', 'auto_close', 'reopen', "
    "'reopen_to_assignee', 'cancel_by_tenant', 'cancel_by_desk'"
)
ACTIONS_AFTER = f"{ACTIONS_BEFORE}, 'reschedule', 'hold_expired'"
ACTION_CHECK = "ck_order_events_action_known"


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "booking_settings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("subtype_id", sa.BigInteger(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("windows", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("weekdays", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("desk_reserve", sa.Integer(), nullable=False),
        sa.Column("days_ahead", sa.Integer(), nullable=False),
        sa.Column("lead_minutes", sa.Integer(), nullable=False),
        sa.Column("hold_minutes", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "slot_minutes BETWEEN 10 AND 720", name=op.f("ck_booking_settings_slot_minutes_range")
        ),
        sa.CheckConstraint(
            "quota BETWEEN 0 AND 1000", name=op.f("ck_booking_settings_quota_range")
        ),
        sa.CheckConstraint(
            "desk_reserve BETWEEN 0 AND 1000", name=op.f("ck_booking_settings_desk_reserve_range")
        ),
        sa.CheckConstraint(
            "days_ahead BETWEEN 0 AND 90", name=op.f("ck_booking_settings_days_ahead_range")
        ),
        sa.CheckConstraint(
            "lead_minutes BETWEEN 0 AND 10080", name=op.f("ck_booking_settings_lead_range")
        ),
        sa.CheckConstraint(
            "hold_minutes BETWEEN 1 AND 1440", name=op.f("ck_booking_settings_hold_range")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_booking_settings_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subtype_id"],
            ["order_subtypes.id"],
            name=op.f("fk_booking_settings_subtype_id_order_subtypes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_settings")),
        sa.UniqueConstraint("subtype_id", name=op.f("uq_booking_settings_subtype_id")),
    )
    op.create_index(op.f("ix_booking_settings_org_id"), "booking_settings", ["org_id"])

    op.create_table(
        "booking_community_quotas",
        sa.Column("subtype_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quota BETWEEN 0 AND 1000", name=op.f("ck_booking_community_quotas_quota_range")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_booking_community_quotas_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_booking_community_quotas_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subtype_id"],
            ["order_subtypes.id"],
            name=op.f("fk_booking_community_quotas_subtype_id_order_subtypes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subtype_id", "community_id", name=op.f("pk_booking_community_quotas")
        ),
    )
    op.create_index(
        op.f("ix_booking_community_quotas_org_id"), "booking_community_quotas", ["org_id"]
    )

    op.create_table(
        "booking_exceptions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("subtype_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot_minute", sa.Integer(), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "closed OR quota IS NOT NULL", name=op.f("ck_booking_exceptions_closes_or_sets_quota")
        ),
        sa.CheckConstraint(
            "quota IS NULL OR quota BETWEEN 0 AND 1000",
            name=op.f("ck_booking_exceptions_quota_range"),
        ),
        sa.CheckConstraint(
            "slot_minute IS NULL OR slot_minute BETWEEN 0 AND 1439",
            name=op.f("ck_booking_exceptions_slot_minute_range"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_booking_exceptions_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subtype_id"],
            ["order_subtypes.id"],
            name=op.f("fk_booking_exceptions_subtype_id_order_subtypes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_exceptions")),
    )
    op.create_index(op.f("ix_booking_exceptions_org_id"), "booking_exceptions", ["org_id"])
    op.create_index(op.f("ix_booking_exceptions_subtype_id"), "booking_exceptions", ["subtype_id"])
    op.create_index(
        "uq_booking_exceptions_subtype_day_slot",
        "booking_exceptions",
        ["subtype_id", "day", sa.text("coalesce(slot_minute, -1)")],
        unique=True,
    )

    op.create_table(
        "slot_counters",
        sa.Column("subtype_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "used >= 0 AND used <= capacity", name=op.f("ck_slot_counters_used_within_capacity")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_slot_counters_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_slot_counters_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subtype_id"],
            ["order_subtypes.id"],
            name=op.f("fk_slot_counters_subtype_id_order_subtypes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subtype_id", "community_id", "slot_start", name=op.f("pk_slot_counters")
        ),
    )
    op.create_index(op.f("ix_slot_counters_org_id"), "slot_counters", ["org_id"])

    op.add_column("orders", sa.Column("slot_end", sa.DateTime(timezone=True), nullable=True))
    # The console's day view and the hold-expiry job look booked orders up by their slot.
    op.create_index(
        "ix_orders_org_id_slot_start",
        "orders",
        ["org_id", "slot_start"],
        postgresql_where=sa.text("slot_start IS NOT NULL"),
    )
    op.drop_constraint(op.f(ACTION_CHECK), "order_events", type_="check")
    op.create_check_constraint(op.f(ACTION_CHECK), "order_events", f"action IN ({ACTIONS_AFTER})")


def downgrade() -> None:
    op.drop_constraint(op.f(ACTION_CHECK), "order_events", type_="check")
    op.create_check_constraint(op.f(ACTION_CHECK), "order_events", f"action IN ({ACTIONS_BEFORE})")
    op.drop_index("ix_orders_org_id_slot_start", table_name="orders")
    op.drop_column("orders", "slot_end")
    op.drop_table("slot_counters")
    op.drop_table("booking_exceptions")
    op.drop_table("booking_community_quotas")
    op.drop_table("booking_settings")
