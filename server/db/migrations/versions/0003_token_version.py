"""accounts: a per-user token version, so access follows the user's current state

Revision ID: 0003_token_version
Revises: 0002_orders
Create Date: 2026-11-30 12:25:00
"""

from __future__ import annotations

revision = "0003_token_version"
down_revision = "0002_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
