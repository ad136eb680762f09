"""The slot grid, in pure Python: which slots a local date has, and which may still be booked.

A subtype with booking on offers, on its weekdays, fixed-length slots inside its daily windows
(local time). Each slot takes at most its quota per community; the desk may also use a reserve
that tenants never see. A slot closes `lead_minutes` before it starts; dates further out than
`days_ahead` cannot be booked yet. Exceptions close a whole date or change one date's (or one
slot's) quota.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

# Limits the console validates against (and the database CHECKs repeat).
SLOT_MINUTES_MIN, SLOT_MINUTES_MAX = 10, 720
QUOTA_MAX = 1000
DAYS_AHEAD_MAX = 90
LEAD_MINUTES_MAX = 7 * 24 * 60
HOLD_MINUTES_MIN, HOLD_MINUTES_MAX = 1, 24 * 60
WINDOWS_MAX = 6
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)  # ISO: Monday is 1

# Why a slot cannot be picked (the `reason` of an unavailable slot).
PAST = "past"
TOO_SOON = "too_soon"
TOO_FAR = "too_far"
CLOSED = "closed"
FULL = "full"
REASONS = (PAST, TOO_SOON, TOO_FAR, CLOSED, FULL)


@dataclass(frozen=True)
class Window:
    """A daily window in minutes of the local day: [start, end), end may be 1440 (24:00)."""

    start: int
    end: int


@dataclass(frozen=True)
class Settings:
    """One subtype's booking grid. The defaults apply while the console has not set one."""

    slot_minutes: int = 60
    windows: tuple[Window, ...] = (
        Window(9 * 60, 12 * 60),
        Window(13 * 60 + 30, 17 * 60 + 30),
    )
    weekdays: tuple[int, ...] = WEEKDAYS
    quota: int = 3
    desk_reserve: int = 0
    days_ahead: int = 14
    lead_minutes: int = 60
    hold_minutes: int = 15


@dataclass(frozen=True)
class DateRules:
    """What the exceptions and the community say about one date."""

    closed: bool = False
    date_quota: int | None = None
    community_quota: int | None = None
    # Local start time of a slot → its quota on that date.
    slot_quotas: Mapping[time, int] = field(default_factory=dict)
    # Local start time of a slot → closed on that date.
    closed_slots: frozenset[time] = frozenset()


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, local
    end: datetime
    quota: int  # what tenants may book
    capacity: int  # the hard limit: the quota plus the desk's reserve
    reason: str | None  # None: open for booking (unless full)

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)


DAY_MINUTES = 24 * 60


def parse_hhmm(text: str) -> int | None:
    """'09:00' → 540 minutes; '24:00' (the end of the day) → 1440; anything else None."""
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        return None
    hour, minute = int(parts[0]), int(parts[1])
    if (hour, minute) == (24, 0):
        return DAY_MINUTES
    if hour > 23 or minute > 59:
        return None
    return hour * 60 + minute


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def window_problems(windows: Sequence[Window], slot_minutes: int) -> list[str]:
    """Why these daily windows cannot make a slot grid (zh-CN), or nothing."""
    if not windows:
        return ["至少需要一个时间段"]
    if len(windows) > WINDOWS_MAX:
        return [f"最多 {WINDOWS_MAX} 个时间段"]
    problems: set[str] = set()
    spans = sorted((w.start, w.end) for w in windows)
    for start, end in spans:
        if not 0 <= start < end <= DAY_MINUTES:
            problems.add("时间段的结束须晚于开始，且在当天之内")
        elif (end - start) % slot_minutes:
            problems.add(f"时间段长度须为时段长度（{slot_minutes} 分钟）的整数倍")
    for (_, end), (start, _) in pairwise(spans):
        if start < end:
            problems.add("时间段不能重叠")
    return sorted(problems)


def _slot_starts(settings: Settings) -> list[int]:
    starts: list[int] = []
    for window in sorted(settings.windows, key=lambda w: w.start):
        starts.extend(
            range(window.start, window.end - settings.slot_minutes + 1, settings.slot_minutes)
        )
    return starts


def slot_grid(
    settings: Settings,
    *,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    rules: DateRules = DateRules(),
) -> list[Slot]:
    """Every slot of `day` (local) with its quota and, when it may not be picked, why."""
    today = now.astimezone(tz).date()
    if day.isoweekday() not in settings.weekdays:
        return []
    quota = settings.quota
    if rules.community_quota is not None:
        quota = rules.community_quota
    if rules.date_quota is not None:
        quota = rules.date_quota
    midnight = datetime.combine(day, time(0, 0), tzinfo=tz)
    slots = []
    for offset in _slot_starts(settings):
        # Built from local wall-clock minutes, then normalised (no DST in Asia/Shanghai).
        start = (midnight + timedelta(minutes=offset)).astimezone(tz)
        end = start + timedelta(minutes=settings.slot_minutes)
        local_start = start.time().replace(tzinfo=None)
        slot_quota = rules.slot_quotas.get(local_start, quota)
        reason: str | None = None
        if start <= now:
            reason = PAST
        elif start - timedelta(minutes=settings.lead_minutes) <= now:
            reason = TOO_SOON
        elif (day - today).days > settings.days_ahead:
            reason = TOO_FAR
        elif rules.closed or local_start in rules.closed_slots:
            reason = CLOSED
        capacity = slot_quota + settings.desk_reserve
        slots.append(Slot(start, end, slot_quota, capacity, reason))
    return slots


def fits_grid(settings: Settings, *, start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    """Whether a booked [start, end) is still exactly one slot of the grid these settings make.

    A booking the grid no longer has (another weekday, window or slot length) would vanish from
    the console's day view, and its counter would no longer limit the slot now covering it.
    """
    local = start.astimezone(tz)
    if local.isoweekday() not in settings.weekdays:
        return False
    if (local.second, local.microsecond) != (0, 0):
        return False
    if end - start != timedelta(minutes=settings.slot_minutes):
        return False
    return local.hour * 60 + local.minute in _slot_starts(settings)


def find_slot(slots: Sequence[Slot], start: datetime) -> Slot | None:
    """The slot of the grid that starts at `start` (any offset), or None when off-grid."""
    for slot in slots:
        if slot.start == start:
            return slot
    return None


def limit_for(slot: Slot, *, desk: bool) -> int:
    """How far the counter may go for this booker: tenants stop at the quota."""
    return slot.capacity if desk else slot.quota
