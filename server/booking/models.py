"""Booking tables: a subtype's slot settings, its per-community quotas, its date exceptions,
and the per-slot counters that enforce the quota in the database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.booking.rules import (
    DAYS_AHEAD_MAX,
    HOLD_MINUTES_MAX,
    HOLD_MINUTES_MIN,
    LEAD_MINUTES_MAX,
    QUOTA_MAX,
    SLOT_MINUTES_MAX,
    SLOT_MINUTES_MIN,
)
from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin


class BookingSettings(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """The slot grid of one subtype. Whether booking is on stays on the subtype
    (`OrderSubtype.booking_enabled`): one switch, one place."""

    __tablename__ = "booking_settings"
    __table_args__ = (
        CheckConstraint(
            f"slot_minutes BETWEEN {SLOT_MINUTES_MIN} AND {SLOT_MINUTES_MAX}",
            name="slot_minutes_range",
        ),
        CheckConstraint(f"quota BETWEEN 0 AND {QUOTA_MAX}", name="quota_range"),
        CheckConstraint(f"desk_reserve BETWEEN 0 AND {QUOTA_MAX}", name="desk_reserve_range"),
        CheckConstraint(f"days_ahead BETWEEN 0 AND {DAYS_AHEAD_MAX}", name="days_ahead_range"),
        CheckConstraint(f"lead_minutes BETWEEN 0 AND {LEAD_MINUTES_MAX}", name="lead_range"),
        CheckConstraint(
            f"hold_minutes BETWEEN {HOLD_MINUTES_MIN} AND {HOLD_MINUTES_MAX}", name="hold_range"
        ),
    )

    subtype_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_subtypes.id", ondelete="CASCADE"), unique=True
    )
    slot_minutes: Mapped[int]
    # [["09:00", "12:00"], ["13:30", "18:00"]]: local wall-clock windows.
    windows: Mapped[list[Any]] = mapped_column(JSONB)
    # ISO weekdays, Monday = 1.
    weekdays: Mapped[list[Any]] = mapped_column(JSONB)
    quota: Mapped[int]
    desk_reserve: Mapped[int] = mapped_column(default=0)
    days_ahead: Mapped[int]
    lead_minutes: Mapped[int]
    hold_minutes: Mapped[int] = mapped_column(default=15)


class BookingCommunityQuota(Base):
    """A community's own quota per slot (each project has its own team)."""

    __tablename__ = "booking_community_quotas"
    __table_args__ = (CheckConstraint(f"quota BETWEEN 0 AND {QUOTA_MAX}", name="quota_range"),)

    subtype_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_subtypes.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    quota: Mapped[int]


class BookingException(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """One date (or one slot of it) closed, or with another quota."""

    __tablename__ = "booking_exceptions"
    __table_args__ = (
        CheckConstraint("closed OR quota IS NOT NULL", name="closes_or_sets_quota"),
        CheckConstraint(f"quota IS NULL OR quota BETWEEN 0 AND {QUOTA_MAX}", name="quota_range"),
        CheckConstraint(
            "slot_minute IS NULL OR slot_minute BETWEEN 0 AND 1439", name="slot_minute_range"
        ),
        # One exception per date and slot (NULL: the whole date).
        Index(
            "uq_booking_exceptions_subtype_day_slot",
            "subtype_id",
            "day",
            text("coalesce(slot_minute, -1)"),
            unique=True,
        ),
    )

    subtype_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_subtypes.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date]
    # Local start of the slot in minutes of the day; NULL for the whole date.
    slot_minute: Mapped[int | None]
    closed: Mapped[bool] = mapped_column(default=False)
    quota: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(200), default="")


class SlotCounter(Base):
    """Places taken in one slot of one subtype in one community.

    Created on first use; taken with a conditional UPDATE (`used < limit`), and the CHECK is the
    last line of defence should any code path forget the condition.
    """

    __tablename__ = "slot_counters"
    __table_args__ = (
        CheckConstraint("used >= 0 AND used <= capacity", name="used_within_capacity"),
    )

    subtype_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_subtypes.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    slot_start: Mapped[datetime] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    capacity: Mapped[int]
    used: Mapped[int] = mapped_column(default=0)
