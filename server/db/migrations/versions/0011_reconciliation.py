"""reconciliation: daily bill runs per organisation, channel and date; their discrepancies

Revision ID: 0011_reconciliation
Revises: 0010_payments
Create Date: 2026-11-30 14:16:56.579252
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_reconciliation"
down_revision = "0010_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("bill_date", sa.Date(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rows_seen", sa.BigInteger(), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.Column("requested_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel IN ('wechat', 'alipay')", name=op.f("ck_reconciliation_runs_channel_known")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')",
            name=op.f("ck_reconciliation_runs_status_known"),
        ),
        sa.CheckConstraint(
            "rows_seen >= 0", name=op.f("ck_reconciliation_runs_rows_seen_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["payment_accounts.id"],
            name=op.f("fk_reconciliation_runs_account_id_payment_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_reconciliation_runs_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_reconciliation_runs_requested_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
        sa.UniqueConstraint(
            "org_id",
            "channel",
            "bill_date",
            name=op.f("uq_reconciliation_runs_org_id_channel_bill_date"),
        ),
    )
    op.create_index(
        op.f("ix_reconciliation_runs_org_id"), "reconciliation_runs", ["org_id"], unique=False
    )
    op.create_index(
        "ix_reconciliation_runs_status_bill_date",
        "reconciliation_runs",
        ["status", "bill_date"],
        unique=False,
    )
    op.create_table(
        "reconciliation_discrepancies",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("out_trade_no", sa.String(length=64), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("provider_txn_id", sa.String(length=64), nullable=False),
        sa.Column("ours_fen", sa.BigInteger(), nullable=True),
        sa.Column("theirs_fen", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "action IS NULL OR action IN ('settled', 'query_scheduled')",
            name=op.f("ck_reconciliation_discrepancies_action_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('missing_here', 'unpaid_here', 'missing_at_provider', 'amount_mismatch', 'refund_status_mismatch', 'refund_missing_here', 'refund_missing_at_provider', 'total_mismatch')",
            name=op.f("ck_reconciliation_discrepancies_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_reconciliation_discrepancies_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name=op.f("fk_reconciliation_discrepancies_run_id_reconciliation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_discrepancies")),
    )
    op.create_index(
        op.f("ix_reconciliation_discrepancies_org_id"),
        "reconciliation_discrepancies",
        ["org_id"],
        unique=False,
    )
    op.create_index(
        "ix_reconciliation_discrepancies_run_id_kind",
        "reconciliation_discrepancies",
        ["run_id", "kind"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_reconciliation_discrepancies_run_id_kind", table_name="reconciliation_discrepancies"
    )
    op.drop_index(
        op.f("ix_reconciliation_discrepancies_org_id"), table_name="reconciliation_discrepancies"
    )
    op.drop_table("reconciliation_discrepancies")
    op.drop_index("ix_reconciliation_runs_status_bill_date", table_name="reconciliation_runs")
    op.drop_index(op.f("ix_reconciliation_runs_org_id"), table_name="reconciliation_runs")
    op.drop_table("reconciliation_runs")
