"""return visits (回访) and complaints and suggestions (投诉建议)

Revision ID: 0017_visits_complaints
Revises: 0016_workbench_urging
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

revision = "0017_visits_complaints"
down_revision = "0016_workbench_urging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
