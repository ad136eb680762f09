"""workbench queues, order records filters, urging (督办 by the desk, 催单 by the tenant)

Revision ID: 0016_workbench_urging
Revises: 0015_desk_notification_kinds
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_workbench_urging"
down_revision = "0015_desk_notification_kinds"
branch_labels = None
depends_on = None

_MAX_MINUTES = 30 * 24 * 60
_SETTINGS = (
    # (column, default, lowest allowed)
    ("unaccepted_alert_minutes", 30, 1),
    ("long_hold_minutes", 24 * 60, 1),
    ("tenant_urge_after_minutes", 30, 0),
    ("tenant_urge_interval_minutes", 60, 1),
)
_INDEXES = (
    ("ix_orders_pending_created_at", ["org_id", "created_at"], "status = 'pending'"),
    ("ix_orders_assigned_assigned_at", ["org_id", "assigned_at"], "status = 'assigned'"),
    ("ix_orders_on_hold_created_at", ["org_id", "created_at"], "status = 'on_hold'"),
    (
        "ix_orders_completed_unpaid",
        ["org_id", "completed_at"],
        "status = 'completed' AND payment_status IN ('unpaid', 'partially_paid')",
    ),
    (
        "ix_orders_tenant_urged",
        ["org_id", "last_tenant_urged_at"],
        "last_tenant_urged_at IS NOT NULL"
        " AND status IN ('assigned', 'in_progress', 'on_hold', 'pending')",
    ),
)


def upgrade() -> None:
    for column, default, lowest in _SETTINGS:
        op.add_column(
            "organisations",
            sa.Column(column, sa.Integer(), server_default=str(default), nullable=False),
        )
        op.create_check_constraint(
            op.f(f"ck_organisations_{column}_range"),
            "organisations",
            f"{column} BETWEEN {lowest} AND {_MAX_MINUTES}",
        )
    op.add_column("orders", sa.Column("last_tenant_urged_at", sa.DateTime(timezone=True)))
    op.add_column(
        "orders",
        sa.Column("tenant_urge_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "sla_clocks", sa.Column("urge_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("sla_clocks", sa.Column("last_urged_at", sa.DateTime(timezone=True)))
    for name, columns, where in _INDEXES:
        op.create_index(name, "orders", columns, postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, _, _ in reversed(_INDEXES):
        op.drop_index(name, table_name="orders")
    op.drop_column("sla_clocks", "last_urged_at")
    op.drop_column("sla_clocks", "urge_count")
    op.drop_column("orders", "tenant_urge_count")
    op.drop_column("orders", "last_tenant_urged_at")
    for column, _, _ in reversed(_SETTINGS):
        op.drop_constraint(op.f(f"ck_organisations_{column}_range"), "organisations", type_="check")
        op.drop_column("organisations", column)
