"""uploads: staged files, quotas and the sweeper

The per-user quota reads a user's uploads of the last 24 hours: (owner_user_id, created_at)
replaces the index on owner_user_id alone. The sweeper finds uploads nobody attached through a
partial index on created_at.

Revision ID: 0005_uploads
Revises: 0004_outbox
Create Date: 2026-11-30 12:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_uploads"
down_revision = "0004_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_uploads_owner_user_id_created_at",
        "uploads",
        ["owner_user_id", "created_at"],
        unique=False,
    )
    op.drop_index("ix_uploads_owner_user_id", table_name="uploads")
    op.create_index(
        "ix_uploads_created_at",
        "uploads",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("order_id IS NULL AND message_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_uploads_created_at", table_name="uploads")
    op.create_index("ix_uploads_owner_user_id", "uploads", ["owner_user_id"], unique=False)
    op.drop_index("ix_uploads_owner_user_id_created_at", table_name="uploads")
