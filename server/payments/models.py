"""Payment accounts of an organisation and their versioned, sealed key material.

`payment_accounts` holds who the account is (provider, mchid / app id, seller id) and which key
version is active. `payment_account_secrets` holds one row per key version: the public parts in
clear (certificate serial, platform public key and its id, platform certificates, Alipay public
key or, in certificate mode, the Alipay certificates, fingerprints) and the secrets sealed (key
version + nonce + ciphertext per field). A rotation adds a version and marks the old one
retired; retired versions stay readable so that a payment made with version N is verified with
version N's keys. WeChat's platform certificates learnt by the refresh job are added in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.kernel.values import sql_in, sql_subset
from server.payments.rules import (
    CHANNELS,
    CREATING,
    OFFLINE_METHODS,
    PAYMENT_CHANNELS,
    PAYMENT_PURPOSES,
    PAYMENT_STATUSES,
    PROVIDERS,
    R_PENDING,
    REFUND_OPEN,
    REFUND_SOURCES,
    REFUND_STATUSES,
    UNSETTLED,
)


class PaymentAccount(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A WeChat Pay merchant or an Alipay app of one organisation (one active per provider)."""

    __tablename__ = "payment_accounts"
    __table_args__ = (
        CheckConstraint(sql_in("provider", PROVIDERS), name="provider_known"),
        Index(
            "uq_payment_accounts_active_provider",
            "org_id",
            "provider",
            unique=True,
            postgresql_where=text("is_active"),
        ),
    )

    provider: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(50), default="")
    mchid: Mapped[str] = mapped_column(String(32), default="")  # WeChat Pay only
    appid: Mapped[str] = mapped_column(String(32))
    seller_id: Mapped[str] = mapped_column(String(32), default="")  # Alipay only, optional
    is_active: Mapped[bool] = mapped_column(default=True)
    active_version: Mapped[int] = mapped_column(default=1)


class PaymentAccountSecret(IdMixin, OrgOwnedMixin, Base):
    """One key version of an account. Secret fields are sealed; see server.payments.crypto."""

    __tablename__ = "payment_account_secrets"
    __table_args__ = (
        UniqueConstraint("account_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("payment_accounts.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    retired_at: Mapped[datetime | None] = mapped_column(default=None)

    # Public material, in clear.
    cert_serial: Mapped[str] = mapped_column(String(64), default="")
    platform_public_key_id: Mapped[str] = mapped_column(String(80), default="")
    platform_public_key: Mapped[str] = mapped_column(Text, default="")
    platform_certs: Mapped[str] = mapped_column(Text, default="")
    alipay_public_key: Mapped[str] = mapped_column(Text, default="")
    # Alipay certificate mode (公钥证书), instead of `alipay_public_key`: the app public-key
    # certificate, the Alipay public-key certificate and the Alipay root certificate chain (PEM).
    app_public_key_cert: Mapped[str] = mapped_column(Text, default="")
    alipay_public_key_cert: Mapped[str] = mapped_column(Text, default="")
    alipay_root_cert: Mapped[str] = mapped_column(Text, default="")
    # SHA-256 of the public half of the private key: shows which key is stored.
    private_key_fingerprint: Mapped[str] = mapped_column(String(64))

    # Sealed secrets: the sealing key's version, and a nonce + ciphertext per field.
    key_version: Mapped[int] = mapped_column()
    private_key_nonce: Mapped[bytes] = mapped_column(LargeBinary)
    private_key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    apiv3_key_nonce: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    apiv3_key_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class PaymentChannelSetting(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """The channels the organisation lets tenants pay with; no row: the default set."""

    __tablename__ = "payment_channel_settings"
    __table_args__ = (
        UniqueConstraint("org_id"),
        CheckConstraint(sql_subset("channels", CHANNELS), name="channels_known"),
    )

    channels: Mapped[list[str]] = mapped_column(ARRAY(String(20)))


class Payment(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """One attempt to collect money for an order: one `out_trade_no` at one provider, or money
    the desk took offline (现金 / 转账).

    The merchant identity (mchid / appid) and the account key version are kept as they were at
    creation: a notification is verified with that account's keys, and reconciliation finds
    the payment in that merchant's bill.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(sql_in("channel", PAYMENT_CHANNELS), name="channel_known"),
        CheckConstraint(sql_in("purpose", PAYMENT_PURPOSES), name="purpose_known"),
        CheckConstraint(sql_in("status", PAYMENT_STATUSES), name="status_known"),
        CheckConstraint(sql_in("method", OFFLINE_METHODS, nullable=True), name="method_known"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index(
            "uq_payments_provider_txn",
            "channel",
            "provider_txn_id",
            unique=True,
            postgresql_where=text("provider_txn_id IS NOT NULL"),
        ),
        Index(
            "uq_payments_idempotency",
            "created_by_user_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index(
            "ix_payments_unsettled",
            "status",
            "created_at",
            postgresql_where=text(sql_in("status", UNSETTLED)),
        ),
        Index("ix_payments_org_created", "org_id", "created_at"),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="RESTRICT"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=CREATING)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    # The account the payment was made with (None: the WECHATPAY_* / ALIPAY_* default) and
    # its key version; the merchant ids as they were.
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("payment_accounts.id", ondelete="RESTRICT")
    )
    account_version: Mapped[int | None] = mapped_column()
    mchid: Mapped[str] = mapped_column(String(32), default="")
    appid: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str] = mapped_column(String(127), default="")
    payer_openid: Mapped[str] = mapped_column(String(64), default="")
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    prepay_id: Mapped[str] = mapped_column(String(64), default="")
    # The answer given to the tenant (wx.requestPayment / Alipay parameters), replayed as is.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    provider_txn_id: Mapped[str | None] = mapped_column(String(64), default=None)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_queried_at: Mapped[datetime | None] = mapped_column(default=None)
    query_count: Mapped[int] = mapped_column(default=0)
    # Offline payments: how the money came and why; who took it is created_by_user_id.
    method: Mapped[str | None] = mapped_column(String(10), default=None)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(128), default=None)
    request_hash: Mapped[str] = mapped_column(String(64), default="")


class Refund(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """Money returned from one payment under our own `out_refund_no` (the provider's
    idempotency key: a retry reuses it, so one refund never pays out twice)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(sql_in("status", REFUND_STATUSES), name="status_known"),
        CheckConstraint(sql_in("source", REFUND_SOURCES), name="source_known"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index(
            "ix_refunds_open",
            "status",
            "updated_at",
            postgresql_where=text(sql_in("status", REFUND_OPEN)),
        ),
        Index("ix_refunds_org_created", "org_id", "created_at"),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="RESTRICT"), index=True
    )
    payment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default=R_PENDING)
    source: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(80), default="")
    provider_refund_id: Mapped[str | None] = mapped_column(String(64), default=None)
    failure: Mapped[str] = mapped_column(String(200), default="")
    succeeded_at: Mapped[datetime | None] = mapped_column(default=None)
    last_queried_at: Mapped[datetime | None] = mapped_column(default=None)
    requested_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
