"""outbox: side effects written with the change that causes them

Revision ID: 0004_outbox
Revises: 0003_token_version
Create Date: 2026-11-30 12:25:00
"""

from __future__ import annotations

revision = "0004_outbox"
down_revision = "0003_token_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
