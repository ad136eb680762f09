"""The slots of one subtype on one local date, for one community: the grid, the exceptions and
the counters read together. Listing (greyed slots with a reason) and the check a booking runs
before it takes a place both start here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.booking import rules
from server.booking.models import (
    BookingCommunityQuota,
    BookingException,
    BookingSettings,
    SlotCounter,
)
from server.catalog.models import OrderSubtype
from server.db.scoping import get_owned, reference_owned
from server.directory.models import Community, Room
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import NotFound, SlotUnavailable, ValidationFailed

# How far from today a listing may look (the grid itself stops at the subtype's horizon).
LISTING_RANGE_DAYS = 366


@dataclass(frozen=True)
class SlotView:
    start: datetime
    end: datetime
    capacity: int
    used: int
    remaining: int
    available: bool
    reason: str | None


def settings_of(session: Session, *, subtype_id: int) -> rules.Settings:
    """The subtype's grid, or the defaults while the console has set none."""
    row = session.scalar(select(BookingSettings).where(BookingSettings.subtype_id == subtype_id))
    return rules.Settings() if row is None else to_rules(row)


def to_rules(row: BookingSettings) -> rules.Settings:
    windows = []
    for start, end in row.windows:
        begin, finish = rules.parse_hhmm(start), rules.parse_hhmm(end)
        assert begin is not None and finish is not None  # validated when saved
        windows.append(rules.Window(begin, finish))
    return rules.Settings(
        slot_minutes=row.slot_minutes,
        windows=tuple(windows),
        weekdays=tuple(sorted({int(d) for d in row.weekdays})),
        quota=row.quota,
        desk_reserve=row.desk_reserve,
        days_ahead=row.days_ahead,
        lead_minutes=row.lead_minutes,
        hold_minutes=row.hold_minutes,
    )


def date_rules(
    session: Session, *, subtype_id: int, community_id: int, day: date
) -> rules.DateRules:
    """What the exceptions of `day` and the community's own quota change on the grid."""
    community_quota = session.scalar(
        select(BookingCommunityQuota.quota).where(
            BookingCommunityQuota.subtype_id == subtype_id,
            BookingCommunityQuota.community_id == community_id,
        )
    )
    closed, date_quota = False, None
    slot_quotas: dict[time, int] = {}
    closed_slots: set[time] = set()
    for exception in session.scalars(
        select(BookingException).where(
            BookingException.subtype_id == subtype_id, BookingException.day == day
        )
    ):
        if exception.slot_minute is None:
            closed = closed or exception.closed
            date_quota = exception.quota if exception.quota is not None else date_quota
            continue
        at = time(exception.slot_minute // 60, exception.slot_minute % 60)
        if exception.closed:
            closed_slots.add(at)
        elif exception.quota is not None:
            slot_quotas[at] = exception.quota
    return rules.DateRules(
        closed=closed,
        date_quota=date_quota,
        community_quota=community_quota,
        slot_quotas=slot_quotas,
        closed_slots=frozenset(closed_slots),
    )


def day_grid(
    session: Session, *, subtype_id: int, community_id: int, day: date, now: datetime
) -> list[rules.Slot]:
    """The slots of `day` as the settings and exceptions make them (counters not read)."""
    return rules.slot_grid(
        settings_of(session, subtype_id=subtype_id),
        day=day,
        tz=LOCAL_TZ,
        now=now,
        rules=date_rules(session, subtype_id=subtype_id, community_id=community_id, day=day),
    )


_USED = select(SlotCounter.slot_start, SlotCounter.used).where(
    SlotCounter.subtype_id == bindparam("subtype_id"),
    SlotCounter.community_id == bindparam("community_id"),
    SlotCounter.slot_start >= bindparam("from_"),
    SlotCounter.slot_start < bindparam("to"),
)


def used_by_slot(
    session: Session, *, subtype_id: int, community_id: int, day: date
) -> dict[datetime, int]:
    """Places taken per slot start (UTC) on a local date."""
    midnight = datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ)
    rows = session.execute(
        _USED,
        {
            "subtype_id": subtype_id,
            "community_id": community_id,
            "from_": midnight,
            "to": midnight + timedelta(days=1),
        },
    )
    return {start: used for start, used in rows}


def views(grid: list[rules.Slot], used: dict[datetime, int], *, desk: bool) -> list[SlotView]:
    out = []
    for slot in grid:
        limit = rules.limit_for(slot, desk=desk)
        taken = used.get(slot.start_utc, 0)
        remaining = max(0, limit - taken)
        reason = slot.reason or (rules.FULL if remaining == 0 else None)
        out.append(SlotView(slot.start, slot.end, limit, taken, remaining, reason is None, reason))
    return out


def bookable_subtype(session: Session, *, org_id: int, subtype_id: int) -> OrderSubtype:
    subtype = get_owned(session, OrderSubtype, subtype_id, org_id=org_id, message="报修类型不存在")
    if not subtype.is_active:
        raise NotFound("报修类型不存在或已停用")
    return subtype


def community_for(session: Session, *, org_id: int, room_id: int | None) -> int:
    """The community whose places count: the room's, or the organisation's only one."""
    if room_id is not None:
        room = reference_owned(
            session, Room, room_id, org_id=org_id, field="room_id", message="房间不存在"
        )
        return room.community_id
    ids = session.scalars(select(Community.id).where(Community.org_id == org_id).limit(2)).all()
    if len(ids) != 1:
        raise ValidationFailed.field("room_id", "请选择房间（各小区分别计算预约名额）")
    return ids[0]


def check_listing_date(day: date, *, today: date) -> None:
    if abs((day - today).days) > LISTING_RANGE_DAYS:
        raise ValidationFailed.field("date", "日期超出可查询范围（前后一年内）")


def list_slots(
    session: Session,
    *,
    org_id: int,
    subtype_id: int,
    day: date,
    room_id: int | None,
    desk: bool,
    now: datetime,
) -> list[SlotView]:
    """A date's slots with what is left; past, too-soon, closed and full ones greyed out."""
    check_listing_date(day, today=now.astimezone(LOCAL_TZ).date())
    subtype = bookable_subtype(session, org_id=org_id, subtype_id=subtype_id)
    community_id = community_for(session, org_id=org_id, room_id=room_id)
    if not subtype.booking_enabled:
        return []
    grid = day_grid(session, subtype_id=subtype.id, community_id=community_id, day=day, now=now)
    used = used_by_slot(session, subtype_id=subtype.id, community_id=community_id, day=day)
    return views(grid, used, desk=desk)


def open_slot(
    session: Session, *, subtype_id: int, community_id: int, start: datetime, now: datetime
) -> rules.Slot:
    """The grid's slot starting at `start` if it may be booked now; SlotUnavailable if not."""
    if start.tzinfo is None:
        raise ValidationFailed.field(
            "slot_start", "时段开始时间须带时区，如 2026-12-01T09:00:00+08:00"
        )
    day = start.astimezone(LOCAL_TZ).date()
    if abs((day - now.astimezone(LOCAL_TZ).date()).days) > LISTING_RANGE_DAYS:
        raise SlotUnavailable()
    grid = day_grid(session, subtype_id=subtype_id, community_id=community_id, day=day, now=now)
    slot = rules.find_slot(grid, start)
    if slot is None:
        raise SlotUnavailable("所选时间不是该项目的预约时段，请重新选择")
    if slot.reason is not None:
        raise SlotUnavailable(REASON_MESSAGES.get(slot.reason))
    return slot


REASON_MESSAGES = {
    rules.PAST: "该时段已过，请重新选择",
    rules.TOO_SOON: "该时段即将开始，已停止预约",
    rules.TOO_FAR: "该日期尚未开放预约",
    rules.CLOSED: "该时段暂停预约",
}
