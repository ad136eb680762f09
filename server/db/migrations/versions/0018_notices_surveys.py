"""notices (通知公告) with read receipts, the staff bulletin, satisfaction surveys (满意度调查)

Revision ID: 0018_notices_surveys
Revises: 0017_visits_complaints
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

revision = "0018_notices_surveys"
down_revision = "0017_visits_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
