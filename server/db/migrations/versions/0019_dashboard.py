"""data dashboard (数据看板): indexes or rollups it reads

Revision ID: 0019_dashboard
Revises: 0018_notices_surveys
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

revision = "0019_dashboard"
down_revision = "0018_notices_surveys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
