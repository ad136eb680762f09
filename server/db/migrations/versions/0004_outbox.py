"""outbox: side effects written with the change that causes them

Revision ID: 0004_outbox
Revises: 0003_token_version
Create Date: 2026-11-30 12:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_outbox"
down_revision = "0003_token_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("org_id", sa.BigInteger(), nullable=True),
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("kwargs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivering', 'delivered', 'failed')",
            name=op.f("ck_outbox_status_known"),
        ),
        sa.CheckConstraint(
            "attempts >= 0 AND max_attempts >= 1", name=op.f("ck_outbox_attempts_counted")
        ),
        sa.CheckConstraint(
            "status <> 'delivering' OR lease_until IS NOT NULL",
            name=op.f("ck_outbox_delivering_has_lease"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_outbox_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_outbox_leases",
        "outbox",
        ["lease_until"],
        unique=False,
        postgresql_where=sa.text("status = 'delivering'"),
    )
    op.create_index(
        "ix_outbox_org_id_status_id", "outbox", ["org_id", "status", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_org_id_status_id", table_name="outbox")
    op.drop_index(
        "ix_outbox_leases", table_name="outbox", postgresql_where=sa.text("status = 'delivering'")
    )
    op.drop_index(
        "ix_outbox_due", table_name="outbox", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("outbox")
