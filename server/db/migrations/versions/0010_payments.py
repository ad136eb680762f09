"""payments: payments and refunds at the providers, the order money ledger, refunded_fen

Revision ID: 0010_payments
Revises: 0009_payment_accounts
Create Date: 2026-11-30 14:11:50.915247
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_payments"
down_revision = "0009_payment_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('charge', 'waive', 'company_cost', 'cancel', 'payment', 'refund')",
            name=op.f("ck_ledger_entries_kind_known"),
        ),
        sa.CheckConstraint("amount_fen <> 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_ledger_entries_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_ledger_entries_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_ledger_entries_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        op.f("ix_ledger_entries_order_id"), "ledger_entries", ["order_id"], unique=False
    )
    op.create_index(
        "ix_ledger_entries_org_created", "ledger_entries", ["org_id", "created_at"], unique=False
    )
    op.create_index(op.f("ix_ledger_entries_org_id"), "ledger_entries", ["org_id"], unique=False)
    op.create_index(
        "uq_ledger_entries_reference",
        "ledger_entries",
        ["kind", "reference"],
        unique=True,
        postgresql_where=sa.text("reference IS NOT NULL"),
    )
    op.create_table(
        "payments",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("account_version", sa.Integer(), nullable=True),
        sa.Column("mchid", sa.String(length=32), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=127), nullable=False),
        sa.Column("payer_openid", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prepay_id", sa.String(length=64), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("provider_txn_id", sa.String(length=64), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_queried_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("query_count", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
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
            "channel IN ('wechat', 'alipay', 'offline')", name=op.f("ck_payments_channel_known")
        ),
        sa.CheckConstraint(
            "method IS NULL OR method IN ('cash', 'transfer')",
            name=op.f("ck_payments_method_known"),
        ),
        sa.CheckConstraint(
            "purpose IN ('prepay', 'balance')", name=op.f("ck_payments_purpose_known")
        ),
        sa.CheckConstraint(
            "status IN ('creating', 'open', 'closing', 'paid', 'closed')",
            name=op.f("ck_payments_status_known"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["payment_accounts.id"],
            name=op.f("fk_payments_account_id_payment_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_payments_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_payments_order_id_orders"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_payments_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("out_trade_no", name=op.f("uq_payments_out_trade_no")),
    )
    op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"], unique=False)
    op.create_index("ix_payments_org_created", "payments", ["org_id", "created_at"], unique=False)
    op.create_index(op.f("ix_payments_org_id"), "payments", ["org_id"], unique=False)
    op.create_index(
        "ix_payments_unsettled",
        "payments",
        ["status", "created_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('creating', 'open', 'closing')"),
    )
    op.create_index(
        "uq_payments_idempotency",
        "payments",
        ["created_by_user_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(
        "uq_payments_provider_txn",
        "payments",
        ["channel", "provider_txn_id"],
        unique=True,
        postgresql_where=sa.text("provider_txn_id IS NOT NULL"),
    )
    op.create_table(
        "refunds",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=64), nullable=True),
        sa.Column("failure", sa.String(length=200), nullable=False),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_queried_at", sa.DateTime(timezone=True), nullable=True),
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
            "source IN ('cancel', 'settlement', 'desk', 'late_payment')",
            name=op.f("ck_refunds_source_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'success', 'closed', 'abnormal')",
            name=op.f("ck_refunds_status_known"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_refunds_order_id_orders"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_refunds_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_refunds_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_refunds_requested_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("out_refund_no", name=op.f("uq_refunds_out_refund_no")),
    )
    op.create_index(
        "ix_refunds_open",
        "refunds",
        ["status", "updated_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"], unique=False)
    op.create_index("ix_refunds_org_created", "refunds", ["org_id", "created_at"], unique=False)
    op.create_index(op.f("ix_refunds_org_id"), "refunds", ["org_id"], unique=False)
    op.create_index(op.f("ix_refunds_payment_id"), "refunds", ["payment_id"], unique=False)
    op.add_column(
        "order_fees",
        sa.Column("refunded_fen", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.alter_column("order_fees", "refunded_fen", server_default=None)
    op.create_check_constraint(
        op.f("ck_order_fees_refunded_within_paid"),
        "order_fees",
        "refunded_fen >= 0 AND refunded_fen <= paid_fen",
    )
    # The money ledger is append-only, as the stock ledger and the timeline are.
    op.execute(
        """
        CREATE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'ledger_entries rows are never changed';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries"
        " FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
    op.execute("DROP FUNCTION ledger_entries_append_only()")
    op.drop_constraint(op.f("ck_order_fees_refunded_within_paid"), "order_fees", type_="check")
    op.drop_column("order_fees", "refunded_fen")
    op.drop_index(op.f("ix_refunds_payment_id"), table_name="refunds")
    op.drop_index(op.f("ix_refunds_org_id"), table_name="refunds")
    op.drop_index("ix_refunds_org_created", table_name="refunds")
    op.drop_index(op.f("ix_refunds_order_id"), table_name="refunds")
    op.drop_index(
        "ix_refunds_open",
        table_name="refunds",
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.drop_table("refunds")
    op.drop_index(
        "uq_payments_provider_txn",
        table_name="payments",
        postgresql_where=sa.text("provider_txn_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_payments_idempotency",
        table_name="payments",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index(
        "ix_payments_unsettled",
        table_name="payments",
        postgresql_where=sa.text("status IN ('creating', 'open', 'closing')"),
    )
    op.drop_index(op.f("ix_payments_org_id"), table_name="payments")
    op.drop_index("ix_payments_org_created", table_name="payments")
    op.drop_index(op.f("ix_payments_order_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(
        "uq_ledger_entries_reference",
        table_name="ledger_entries",
        postgresql_where=sa.text("reference IS NOT NULL"),
    )
    op.drop_index(op.f("ix_ledger_entries_org_id"), table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_org_created", table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_order_id"), table_name="ledger_entries")
    op.drop_table("ledger_entries")
