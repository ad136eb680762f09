"""uploads: staged files, quotas and the sweeper

Revision ID: 0005_uploads
Revises: 0004_outbox
Create Date: 2026-11-30 12:25:00
"""

from __future__ import annotations

revision = "0005_uploads"
down_revision = "0004_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
