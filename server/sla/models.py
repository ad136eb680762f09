"""SLA tables: policies per order type (and priority), the organisation's business calendar,
and one clock per order that remembers its deadlines, its pause and what was sent."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.kernel.values import sql_in
from server.orders.rules.values import PRIORITIES
from server.sla.rules import DAY_KINDS, MAX_DEADLINE_MINUTES, Level

MINUTES_RANGE = f"BETWEEN 1 AND {MAX_DEADLINE_MINUTES}"
LEVEL_RANGE = f"BETWEEN {int(Level.NONE)} AND {int(Level.ESCALATED)}"


class SlaPolicy(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """An order type's deadlines, for one priority or (priority NULL) for all of them."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("order_type_id", "priority", postgresql_nulls_not_distinct=True),
        CheckConstraint(sql_in("priority", PRIORITIES, nullable=True), name="priority_known"),
        CheckConstraint(
            f"response_minutes IS NULL OR response_minutes {MINUTES_RANGE}",
            name="response_minutes_range",
        ),
        CheckConstraint(f"resolution_minutes {MINUTES_RANGE}", name="resolution_minutes_range"),
    )

    order_type_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_types.id", ondelete="CASCADE"), index=True
    )
    priority: Mapped[str | None] = mapped_column(String(10))
    response_minutes: Mapped[int | None]
    resolution_minutes: Mapped[int]
    business_hours: Mapped[bool] = mapped_column(default=False)


class BusinessCalendar(TimestampMixin, Base):
    """The organisation's working week: ISO weekdays and one local opening window a day."""

    __tablename__ = "business_calendars"
    __table_args__ = (CheckConstraint("opens < closes", name="opens_before_closes"),)

    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    weekdays: Mapped[list[Any]] = mapped_column(JSONB)  # [1, 2, 3, 4, 5]: Monday = 1
    opens: Mapped[time]
    closes: Mapped[time]


class BusinessDay(IdMixin, OrgOwnedMixin, Base):
    """A dated exception: a holiday (法定节假日) or a make-up workday (调休上班)."""

    __tablename__ = "business_days"
    __table_args__ = (
        UniqueConstraint("org_id", "day"),
        CheckConstraint(sql_in("kind", DAY_KINDS), name="kind_known"),
    )

    day: Mapped[date]
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(50), default="")


class SlaClock(OrgOwnedMixin, Base):
    """One order's clock: its two deadlines' alert instants, its pause and what was sent.

    `orders.due_at` mirrors `resolution_due_at` (the one overdue definition reads it). The
    levels only go up, with a conditional UPDATE, so a tick run twice sends nothing twice.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        CheckConstraint(f"response_level {LEVEL_RANGE}", name="response_level_range"),
        CheckConstraint(f"resolution_level {LEVEL_RANGE}", name="resolution_level_range"),
        Index("ix_sla_clocks_resolution_remind_at", "resolution_remind_at"),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    business_hours: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime]
    paused_at: Mapped[datetime | None]
    response_remind_at: Mapped[datetime | None]
    response_due_at: Mapped[datetime | None]
    response_escalate_at: Mapped[datetime | None]
    response_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    resolution_remind_at: Mapped[datetime]
    resolution_due_at: Mapped[datetime]
    resolution_escalate_at: Mapped[datetime]
    resolution_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    # The booked visit (its start) last reminded of; a slot that moves is reminded again.
    visit_reminded_for: Mapped[datetime | None]
    # 督办: how many times the desk urged the order, and when last. The escalation (the tick's
    # timeline row and its alert) carries the count.
    urge_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_urged_at: Mapped[datetime | None]
