"""workbench queues, order records filters, urging (督办 by the desk, 催单 by the tenant)

Revision ID: 0016_workbench_urging
Revises: 0015_desk_notification_kinds
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

revision = "0016_workbench_urging"
down_revision = "0015_desk_notification_kinds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
