"""Payment accounts of an organisation and their versioned, sealed key material.

`payment_accounts` holds who the account is (provider, mchid / app id, seller id) and which key
version is active. `payment_account_secrets` holds one row per key version: the public parts in
clear (certificate serial, platform public key and its id, platform certificates, Alipay public
key, fingerprints) and the secrets sealed (key version + nonce + ciphertext per field). A
rotation adds a version and marks the old one retired; retired versions stay readable so that a
payment made with version N is verified with version N's keys.
"""

from __future__ import annotations

from datetime import datetime

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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.kernel.values import sql_in, sql_subset
from server.payments.rules import CHANNELS, PROVIDERS


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
