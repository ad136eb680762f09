"""accounts: a per-user token version, so access follows the user's current state

Revision ID: 0003_token_version
Revises: 0002_orders
Create Date: 2026-11-30 12:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_token_version"
down_revision = "0002_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows start at 0, the version access tokens issued before this revision imply.
    op.add_column(
        "users",
        sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "token_version")
