"""Devices, the in-app inbox, per-device deliveries, WeChat consents and preferences."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, utcnow
from server.kernel.values import sql_in, sql_subset
from server.notifications.rules import (
    D_PENDING,
    DELIVERY_CHANNELS,
    DELIVERY_STATUSES,
    KINDS,
    MAX_TOKEN,
    PLATFORMS,
)


class Device(IdMixin, OrgOwnedMixin, Base):
    """A phone or tablet (FCM token) or the mini-program (WeChat) a user receives on.

    A token belongs to one user at a time: registering it again moves it to whoever did.
    """

    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint(sql_in("platform", PLATFORMS), name="platform_known"),
        UniqueConstraint("token"),
    )

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(10))
    token: Mapped[str] = mapped_column(String(MAX_TOKEN))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(IdMixin, OrgOwnedMixin, Base):
    """One message to one user: the inbox row; pushes and subscribe messages deliver it."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(sql_in("kind", KINDS), name="kind_known"),
        Index(
            "uq_notifications_user_dedupe",
            "user_id",
            "dedupe_key",
            unique=True,
            postgresql_where=text("dedupe_key IS NOT NULL"),
        ),
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index(
            "ix_notifications_user_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    urgent: Mapped[bool] = mapped_column(default=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class Delivery(IdMixin, OrgOwnedMixin, Base):
    """One notification to one device (or one subscribe message): sent once, its outcome kept."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint(sql_in("channel", DELIVERY_CHANNELS), name="channel_known"),
        CheckConstraint(sql_in("status", DELIVERY_STATUSES), name="status_known"),
        UniqueConstraint("notification_id", "channel", "device_token"),
    )

    notification_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    # The token (or openid) it went to: the device may be pruned or move on later.
    device_token: Mapped[str] = mapped_column(String(MAX_TOKEN))
    status: Mapped[str] = mapped_column(String(10), default=D_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(String(200), default="")
    provider_id: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscribeConsent(IdMixin, OrgOwnedMixin, Base):
    """One-time WeChat subscribe consents a user gave for a template: each send spends one."""

    __tablename__ = "subscribe_consents"
    __table_args__ = (
        UniqueConstraint("user_id", "template_id"),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPreference(OrgOwnedMixin, Base):
    """A user's quiet hours (local time) and the non-urgent kinds they turned off."""

    __tablename__ = "notification_preferences"
    __table_args__ = (CheckConstraint(sql_subset("muted_kinds", KINDS), name="muted_kinds_known"),)

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    quiet_start: Mapped[time | None] = mapped_column(default=None)
    quiet_end: Mapped[time | None] = mapped_column(default=None)
    muted_kinds: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
