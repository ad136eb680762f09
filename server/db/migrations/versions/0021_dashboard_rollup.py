"""data dashboard (数据看板): the daily rollup its periodic job keeps

Rows aggregated per organisation, local filing day (and whole past week and month), community and
order type (`dashboard.models`): the counts by breakdown, the durations' histograms, the cancellations,
the money; a marker per organisation of the days built; and an index by `updated_at` on
orders, by which the job finds the days to rebuild, and one of the open orders by filing time
for the figure always counted live (overdue now).

Revision ID: 0021_dashboard_rollup
Revises: 0020_notice_images
Create Date: 2026-12-07 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_dashboard_rollup"
down_revision = "0020_notice_images"
branch_labels = None
depends_on = None

_COUNTS = (
    "filed",
    "completed",
    "closed",
    "cancelled",
    "reopened",
    "reopens",
    "in_time",
    "escalated",
    "rated",
    "rating_sum",
    "low_scores",
    "finished",
    "outstanding_fen",
    "taken_n",
    "completed_n",
    "closed_n",
    "handling_n",
)
_TIME_SUMS = ("taken_sum", "completed_sum", "closed_sum", "handling_sum")
_TIMES = ("taken", "completed", "closed", "handling")
_OPEN = "'assigned', 'awaiting_payment', 'in_progress', 'on_hold', 'pending'"


def _keys() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("span", sa.Text(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("order_type_id", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "dashboard_days",
        *_keys(),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTS),
        *(sa.Column(name, sa.Float(), nullable=False) for name in _TIME_SUMS),
    )
    op.create_index(
        "ix_dashboard_days_org_id_span_day",
        "dashboard_days",
        ["org_id", "span", "day"],
    )
    op.create_index(
        "ix_dashboard_days_base",
        "dashboard_days",
        ["org_id", "day"],
        postgresql_where=sa.text("kind = 'base' AND span = 'day'"),
    )
    op.create_table(
        "dashboard_time_days",
        *_keys(),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _TIMES),
    )
    op.create_index(
        "ix_dashboard_time_days_org_id_span_day",
        "dashboard_time_days",
        ["org_id", "span", "day"],
    )
    op.create_table(
        "dashboard_cancel_days",
        *_keys(),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_dashboard_cancel_days_org_id_span_day",
        "dashboard_cancel_days",
        ["org_id", "span", "day"],
    )
    op.create_table(
        "dashboard_money_days",
        *_keys(),
        sa.Column("book", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column("fen", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_dashboard_money_days_org_id_span_day",
        "dashboard_money_days",
        ["org_id", "span", "day"],
    )
    op.create_table(
        "dashboard_rollup_state",
        sa.Column("org_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("built_until", sa.Date(), nullable=False),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_dashboard_rollup_state")),
    )
    op.create_index("ix_orders_org_id_updated_at", "orders", ["org_id", "updated_at"])
    op.execute(
        "CREATE INDEX ix_orders_open_created ON orders (org_id, created_at, due_at)"
        f" WHERE status IN ({_OPEN})"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_orders_open_created")
    op.drop_index("ix_orders_org_id_updated_at", table_name="orders")
    op.drop_table("dashboard_rollup_state")
    op.drop_index("ix_dashboard_money_days_org_id_span_day", table_name="dashboard_money_days")
    op.drop_table("dashboard_money_days")
    op.drop_index("ix_dashboard_cancel_days_org_id_span_day", table_name="dashboard_cancel_days")
    op.drop_table("dashboard_cancel_days")
    op.drop_index("ix_dashboard_time_days_org_id_span_day", table_name="dashboard_time_days")
    op.drop_table("dashboard_time_days")
    op.drop_index("ix_dashboard_days_base", table_name="dashboard_days")
    op.drop_index("ix_dashboard_days_org_id_span_day", table_name="dashboard_days")
    op.drop_table("dashboard_days")
