"""SLA rules (时效): business-time arithmetic, pauses, and which alert a deadline is due for.

Pure Python. A `Calendar` is an organisation's working week (ISO weekdays, one opening window
a day, local time) plus dated exceptions: holidays (休) and make-up workdays (调休上班). With no
calendar (`None`) time runs on the wall clock. Instants are aware datetimes; windows are built
in the calendar's zone, so a local day's opening hours are what people there expect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import IntEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

# How the calendar treats a date: not a working day though the week says so, or the reverse.
HOLIDAY = "holiday"
WORKDAY = "workday"
DAY_KINDS = (HOLIDAY, WORKDAY)

PRIORITY_ANY = None
# A policy applies to orders of one priority, or (None) to every priority of its type.
DEFAULT_WEEKDAYS = (1, 2, 3, 4, 5)
DEFAULT_OPENS = time(9, 0)
DEFAULT_CLOSES = time(18, 0)
# The holder is reminded at this share of a deadline; level 2 follows level 1 after this
# share of the deadline's length (counted the same way: business or wall time).
REMIND_RATIO = 0.8
ESCALATE_STEP = 0.5
# Booked visits: the technician and the tenant hear this many minutes before the slot.
VISIT_REMINDER_MINUTES = 60
MAX_DEADLINE_MINUTES = 365 * 24 * 60
P = TypeVar("P")
# A calendar with working days finds one within a year; this bounds a walk on a bad one.
_MAX_DAYS = 3 * 366


class Level(IntEnum):
    """What has been sent for one deadline, in order."""

    NONE = 0
    REMINDED = 1  # the holder, at 80 %
    OVERDUE = 2  # level 1 escalation: the dispatchers
    ESCALATED = 3  # level 2 escalation: the managers (admins)


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset(DEFAULT_WEEKDAYS)  # ISO: Monday 1 … Sunday 7
    opens: time = DEFAULT_OPENS
    closes: time = DEFAULT_CLOSES
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError("opening must come before closing")
        if not self.weekdays and not self.workdays:
            raise ValueError("a calendar needs working days")

    def works_on(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day in self.workdays or day.isoweekday() in self.weekdays

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening hours as aware instants, or None on a day off."""
        if not self.works_on(day):
            return None
        return (
            datetime.combine(day, self.opens, tzinfo=self.tz),
            datetime.combine(day, self.closes, tzinfo=self.tz),
        )


def add_business(start: datetime, amount: timedelta, calendar: Calendar | None) -> datetime:
    """The earliest instant `amount` of business time after `start` (wall time without one)."""
    if amount < timedelta(0):
        raise ValueError("amount must not be negative")
    if calendar is None or amount == timedelta(0):
        return start + amount
    left = amount
    day = start.astimezone(calendar.tz).date()
    # Each working week holds at least one window; holidays only push the end further.
    daily = datetime.combine(date.min, calendar.closes) - datetime.combine(date.min, calendar.opens)
    for _ in range(_MAX_DAYS + len(calendar.holidays) + 7 * (amount // daily + 1)):
        window = calendar.window(day)
        if window is not None:
            begin, end = max(window[0], start), window[1]
            if begin < end:
                if end - begin >= left:
                    return begin + left
                left -= end - begin
        day += timedelta(days=1)
    raise ValueError("the calendar has no working time ahead")


def business_between(start: datetime, end: datetime, calendar: Calendar | None) -> timedelta:
    """Business time from `start` to `end` (zero when `end` is not later)."""
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    total = timedelta(0)
    day = start.astimezone(calendar.tz).date()
    last = end.astimezone(calendar.tz).date()
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            begin, finish = max(window[0], start), min(window[1], end)
            if begin < finish:
                total += finish - begin
        day += timedelta(days=1)
    return total


@dataclass(frozen=True)
class Milestones:
    """The instants one deadline alerts at: remind, level 1 (the deadline), level 2."""

    remind_at: datetime
    due_at: datetime
    escalate_at: datetime

    def shifted(self, paused: timedelta, calendar: Calendar | None) -> Milestones:
        """Each instant moved on by the paused business time (a clock that stopped)."""
        return Milestones(
            remind_at=add_business(self.remind_at, paused, calendar),
            due_at=add_business(self.due_at, paused, calendar),
            escalate_at=add_business(self.escalate_at, paused, calendar),
        )


def milestones(start: datetime, length: timedelta, calendar: Calendar | None) -> Milestones:
    """A deadline `length` of (business) time after `start`, with its reminder and level 2."""
    return Milestones(
        remind_at=add_business(start, length * REMIND_RATIO, calendar),
        due_at=add_business(start, length, calendar),
        escalate_at=add_business(start, length * (1 + ESCALATE_STEP), calendar),
    )


def level_due(stones: Milestones, *, now: datetime) -> Level:
    """The highest alert due at `now` (late after downtime: only the highest is sent)."""
    # Past the deadline, strictly: the same instant the orders' overdue rule turns true.
    if now > stones.escalate_at:
        return Level.ESCALATED
    if now > stones.due_at:
        return Level.OVERDUE
    if now >= stones.remind_at:
        return Level.REMINDED
    return Level.NONE


def to_send(stones: Milestones, *, sent: Level, now: datetime) -> Level | None:
    """The one alert to send now, if any: the highest due and not sent yet."""
    due = level_due(stones, now=now)
    return due if due > sent else None


def pick_policy(policies: list[tuple[str | None, P]], *, priority: str) -> P | None:
    """A type's policy for this priority: the priority's own, else the type's general one."""
    general = None
    for policy_priority, policy in policies:
        if policy_priority == priority:
            return policy
        if policy_priority is PRIORITY_ANY:
            general = policy
    return general
