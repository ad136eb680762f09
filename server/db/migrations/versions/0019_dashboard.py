"""data dashboard (数据看板): indexes or rollups it reads

The dashboard reads the orders filed in a range (`ix_orders_org_id_created_at`), their
ledgers (`ix_ledger_entries_org_created`) and, for on-hold time, the timeline's steps into
and out of a paused status (on hold, awaiting payment), and for the source and escalation,
the desk's filings and the SLA's escalate steps: a partial index of each
(`dashboard.models.PAUSE_STEPS`, `MARKS`); and the range's charge lines.

Revision ID: 0019_dashboard
Revises: 0018_notices_surveys
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0019_dashboard"
down_revision = "0018_notices_surveys"
branch_labels = None
depends_on = None

_PAUSED = "'awaiting_payment', 'on_hold'"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_order_events_pauses ON order_events (org_id, created_at)"
        f" WHERE (to_status IN ({_PAUSED}) OR from_status IN ({_PAUSED}))"
        " AND from_status IS DISTINCT FROM to_status"
    )
    op.execute(
        "CREATE INDEX ix_order_events_dashboard_marks ON order_events (org_id, created_at)"
        " WHERE (action IN ('file', 'file_unpaid') AND actor_role IN ('admin', 'dispatcher'))"
        " OR action = 'escalate'"
    )
    op.create_index("ix_order_charges_org_created", "order_charges", ["org_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_order_charges_org_created", table_name="order_charges")
    op.execute("DROP INDEX IF EXISTS ix_order_events_dashboard_marks")
    op.execute("DROP INDEX IF EXISTS ix_order_events_pauses")
