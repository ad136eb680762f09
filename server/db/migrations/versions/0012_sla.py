"""sla: deadline policies, the business calendar, one clock per order; the `escalate` action

Revision ID: 0012_sla
Revises: 0011_reconciliation
Create Date: 2026-11-30 15:10:00
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.kernel.values import sql_in

revision = "0012_sla"
down_revision = "0011_reconciliation"
branch_labels = None
depends_on = None

# Value lists as they stand at this revision (a migration never reads today's lists).
PRIORITIES = ("normal", "urgent")
DAY_KINDS = ("holiday", "workday")
ACTIONS_BEFORE = (
    "file",
    "file_unpaid",
    "payment_received",
    "assign",
    "grab",
    "accept",
    "reject",
    "transfer",
    "hold",
    "resume",
    "complete",
    "rate",
    "auto_close",
    "reopen",
    "reopen_to_assignee",
    "cancel_by_tenant",
    "cancel_by_desk",
    "adjust_fee",
    "reschedule",
    "hold_expired",
)
ACTIONS_AFTER = (*ACTIONS_BEFORE, "escalate")
OPEN = ("awaiting_payment", "pending", "assigned", "in_progress", "on_hold")
PAUSED = ("awaiting_payment", "on_hold")
MINUTES_RANGE = "BETWEEN 1 AND 525600"
LEVEL_RANGE = "BETWEEN 0 AND 3"


def _org(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organisations.id"],
        name=op.f(f"fk_{table}_org_id_organisations"),
        ondelete="CASCADE",
    )


def _now(name: str) -> sa.Column[datetime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("order_type_id", sa.BigInteger(), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(
            sql_in("priority", PRIORITIES, nullable=True),
            name=op.f("ck_sla_policies_priority_known"),
        ),
        sa.CheckConstraint(
            f"response_minutes IS NULL OR response_minutes {MINUTES_RANGE}",
            name=op.f("ck_sla_policies_response_minutes_range"),
        ),
        sa.CheckConstraint(
            f"resolution_minutes {MINUTES_RANGE}",
            name=op.f("ck_sla_policies_resolution_minutes_range"),
        ),
        sa.ForeignKeyConstraint(
            ["order_type_id"],
            ["order_types.id"],
            name=op.f("fk_sla_policies_order_type_id_order_types"),
            ondelete="CASCADE",
        ),
        _org("sla_policies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint(
            "order_type_id",
            "priority",
            name=op.f("uq_sla_policies_order_type_id_priority"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(op.f("ix_sla_policies_org_id"), "sla_policies", ["org_id"])
    op.create_index(op.f("ix_sla_policies_order_type_id"), "sla_policies", ["order_type_id"])

    op.create_table(
        "business_calendars",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("weekdays", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(
            "opens < closes", name=op.f("ck_business_calendars_opens_before_closes")
        ),
        _org("business_calendars"),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_business_calendars")),
    )

    op.create_table(
        "business_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(sql_in("kind", DAY_KINDS), name=op.f("ck_business_days_kind_known")),
        _org("business_days"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_days")),
        sa.UniqueConstraint("org_id", "day", name=op.f("uq_business_days_org_id_day")),
    )
    op.create_index(op.f("ix_business_days_org_id"), "business_days", ["org_id"])

    op.create_table(
        "sla_clocks",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("policy_id", sa.BigInteger(), nullable=True),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_escalate_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_level", sa.SmallInteger(), nullable=False),
        sa.Column("resolution_remind_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_escalate_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_level", sa.SmallInteger(), nullable=False),
        sa.Column("visit_reminded_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            f"response_level {LEVEL_RANGE}", name=op.f("ck_sla_clocks_response_level_range")
        ),
        sa.CheckConstraint(
            f"resolution_level {LEVEL_RANGE}", name=op.f("ck_sla_clocks_resolution_level_range")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_sla_clocks_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_clocks_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        _org("sla_clocks"),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_sla_clocks")),
    )
    op.create_index(op.f("ix_sla_clocks_org_id"), "sla_clocks", ["org_id"])
    op.create_index("ix_sla_clocks_resolution_remind_at", "sla_clocks", ["resolution_remind_at"])

    op.drop_constraint(op.f("ck_order_events_action_known"), "order_events", type_="check")
    op.create_check_constraint(
        op.f("ck_order_events_action_known"), "order_events", sql_in("action", ACTIONS_AFTER)
    )
    # Open orders filed before clocks existed get one on their wall-clock due_at. What their
    # milestones already passed counts as sent: the first tick must not page everyone about
    # last month's orders, only about what falls due from now on.
    op.execute(
        f"""
        INSERT INTO sla_clocks (
            order_id, org_id, business_hours, started_at, paused_at, response_level,
            resolution_remind_at, resolution_due_at, resolution_escalate_at, resolution_level
        )
        SELECT id, org_id, false, created_at,
               CASE WHEN {sql_in("status", PAUSED)} THEN now() END, 0,
               remind_at, due_at, escalate_at,
               CASE WHEN now() > escalate_at THEN 3 WHEN now() > due_at THEN 2
                    WHEN now() >= remind_at THEN 1 ELSE 0 END
        FROM (
            SELECT id, org_id, status, created_at, due_at,
                   created_at + GREATEST(due_at - created_at, interval '0') * 0.8 AS remind_at,
                   due_at + GREATEST(due_at - created_at, interval '0') * 0.5 AS escalate_at
            FROM orders
            WHERE {sql_in("status", OPEN)}
        ) AS open_orders
        """
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_order_events_action_known"), "order_events", type_="check")
    op.create_check_constraint(
        op.f("ck_order_events_action_known"), "order_events", sql_in("action", ACTIONS_BEFORE)
    )
    op.drop_table("sla_clocks")
    op.drop_table("business_days")
    op.drop_table("business_calendars")
    op.drop_table("sla_policies")
