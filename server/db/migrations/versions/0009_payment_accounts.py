"""payment accounts: WeChat Pay merchants and Alipay apps per organisation, their versioned
sealed keys, and the channels tenants may pay with

Revision ID: 0009_payment_accounts
Revises: 0008_charges
Create Date: 2026-11-30 13:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_payment_accounts"
down_revision = "0008_charges"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organisations.id"],
        name=op.f(f"fk_{table}_org_id_organisations"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "payment_accounts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("mchid", sa.String(length=32), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("seller_id", sa.String(length=32), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "provider IN ('wechat', 'alipay')", name=op.f("ck_payment_accounts_provider_known")
        ),
        _org_fk("payment_accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_accounts")),
    )
    op.create_index(
        op.f("ix_payment_accounts_org_id"), "payment_accounts", ["org_id"], unique=False
    )
    op.create_index(
        "uq_payment_accounts_active_provider",
        "payment_accounts",
        ["org_id", "provider"],
        unique=True,
        postgresql_where=sa.text("is_active"),
    )

    op.create_table(
        "payment_account_secrets",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cert_serial", sa.String(length=64), nullable=False),
        sa.Column("platform_public_key_id", sa.String(length=80), nullable=False),
        sa.Column("platform_public_key", sa.Text(), nullable=False),
        sa.Column("platform_certs", sa.Text(), nullable=False),
        sa.Column("alipay_public_key", sa.Text(), nullable=False),
        sa.Column("private_key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("private_key_nonce", sa.LargeBinary(), nullable=False),
        sa.Column("private_key_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("apiv3_key_nonce", sa.LargeBinary(), nullable=True),
        sa.Column("apiv3_key_ciphertext", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "version >= 1", name=op.f("ck_payment_account_secrets_version_positive")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["payment_accounts.id"],
            name=op.f("fk_payment_account_secrets_account_id_payment_accounts"),
            ondelete="CASCADE",
        ),
        _org_fk("payment_account_secrets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_account_secrets")),
        sa.UniqueConstraint(
            "account_id", "version", name=op.f("uq_payment_account_secrets_account_id_version")
        ),
    )
    op.create_index(
        op.f("ix_payment_account_secrets_account_id"),
        "payment_account_secrets",
        ["account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_payment_account_secrets_org_id"),
        "payment_account_secrets",
        ["org_id"],
        unique=False,
    )

    op.create_table(
        "payment_channel_settings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("channels", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "channels <@ ARRAY['wechat', 'alipay', 'company']::varchar[]",
            name=op.f("ck_payment_channel_settings_channels_known"),
        ),
        _org_fk("payment_channel_settings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_channel_settings")),
        sa.UniqueConstraint("org_id", name=op.f("uq_payment_channel_settings_org_id")),
    )
    op.create_index(
        op.f("ix_payment_channel_settings_org_id"),
        "payment_channel_settings",
        ["org_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("payment_channel_settings")
    op.drop_table("payment_account_secrets")
    op.drop_index("uq_payment_accounts_active_provider", table_name="payment_accounts")
    op.drop_table("payment_accounts")
