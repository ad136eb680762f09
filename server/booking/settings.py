"""The console's booking settings of a subtype: the grid, the community quotas, the exceptions.

Whether booking is on is the subtype's own switch (`OrderSubtype.booking_enabled`); this module
writes it too, so the console sets everything in one place while one column stays the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.booking import rules
from server.booking.models import BookingCommunityQuota, BookingException, BookingSettings
from server.booking.slots import LISTING_RANGE_DAYS, settings_of
from server.catalog.models import OrderSubtype
from server.db.scoping import get_owned, reference_owned
from server.directory.models import Community
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import Conflict, ValidationFailed
from server.orders.models import Order
from server.orders.moves import Status


@dataclass(frozen=True)
class CommunityQuota:
    community_id: int
    quota: int


@dataclass(frozen=True)
class SettingsView:
    subtype_id: int
    enabled: bool
    customised: bool
    settings: rules.Settings
    community_quotas: list[CommunityQuota] = field(default_factory=list)


@dataclass(frozen=True)
class NewSettings:
    enabled: bool
    slot_minutes: int
    windows: Sequence[tuple[str, str]]
    weekdays: Sequence[int]
    quota: int
    desk_reserve: int
    days_ahead: int
    lead_minutes: int
    hold_minutes: int
    community_quotas: Sequence[CommunityQuota] = ()


def _subtype(session: Session, *, org_id: int, subtype_id: int, lock: bool = False) -> OrderSubtype:
    # Saves lock the subtype row: two consoles saving at once queue instead of colliding on
    # the quota and exception keys.
    return get_owned(
        session,
        OrderSubtype,
        subtype_id,
        org_id=org_id,
        message="报修子类不存在",
        for_update=lock,
    )


def booking_settings(session: Session, *, org_id: int, subtype_id: int) -> SettingsView:
    """A subtype's booking settings (the defaults while none were saved)."""
    subtype = _subtype(session, org_id=org_id, subtype_id=subtype_id)
    row = session.scalar(select(BookingSettings).where(BookingSettings.subtype_id == subtype.id))
    quotas = session.scalars(
        select(BookingCommunityQuota)
        .where(BookingCommunityQuota.subtype_id == subtype.id)
        .order_by(BookingCommunityQuota.community_id)
    )
    return SettingsView(
        subtype_id=subtype.id,
        enabled=subtype.booking_enabled,
        customised=row is not None,
        settings=settings_of(session, subtype_id=subtype.id),
        community_quotas=[CommunityQuota(q.community_id, q.quota) for q in quotas],
    )


def _windows(new: NewSettings) -> list[rules.Window]:
    windows = []
    for start, end in new.windows:
        begin, finish = rules.parse_hhmm(start), rules.parse_hhmm(end)
        if begin is None or finish is None or begin == rules.DAY_MINUTES:
            raise ValidationFailed.field("windows", "时间格式应为 HH:MM，如 09:00")
        windows.append(rules.Window(begin, finish))
    problems = rules.window_problems(windows, new.slot_minutes)
    if problems:
        raise ValidationFailed(errors={"windows": problems})
    return windows


def save_booking_settings(
    session: Session, *, org_id: int, subtype_id: int, new: NewSettings, now: datetime
) -> SettingsView:
    """Replace a subtype's booking settings and community quotas; switch booking on or off."""
    subtype = _subtype(session, org_id=org_id, subtype_id=subtype_id, lock=True)
    windows = _windows(new)
    seen: set[int] = set()
    for quota in new.community_quotas:
        reference_owned(
            session,
            Community,
            quota.community_id,
            org_id=org_id,
            field="community_quotas",
            message="小区不存在",
        )
        if quota.community_id in seen:
            raise ValidationFailed.field("community_quotas", "同一小区只能设置一次")
        seen.add(quota.community_id)
    grid = rules.Settings(
        slot_minutes=new.slot_minutes, windows=tuple(windows), weekdays=tuple(set(new.weekdays))
    )
    stranded = _stranded_bookings(session, subtype_id=subtype.id, grid=grid, now=now)
    if stranded:
        first = stranded[0].astimezone(LOCAL_TZ)
        raise Conflict(
            f"仍有 {len(stranded)} 个未来的预约不在新的时段上（最早 {first:%m月%d日 %H:%M}），"
            "请先改约或取消这些预约，再修改时段设置"
        )
    values = {
        "slot_minutes": new.slot_minutes,
        "windows": [[rules.format_hhmm(w.start), rules.format_hhmm(w.end)] for w in windows],
        "weekdays": sorted(set(new.weekdays)),
        "quota": new.quota,
        "desk_reserve": new.desk_reserve,
        "days_ahead": new.days_ahead,
        "lead_minutes": new.lead_minutes,
        "hold_minutes": new.hold_minutes,
        "updated_at": now,
    }
    session.execute(
        insert(BookingSettings)
        .values(org_id=org_id, subtype_id=subtype.id, created_at=now, **values)
        .on_conflict_do_update(index_elements=["subtype_id"], set_=values)
    )
    session.execute(
        delete(BookingCommunityQuota).where(BookingCommunityQuota.subtype_id == subtype.id)
    )
    for quota in new.community_quotas:
        session.add(
            BookingCommunityQuota(
                subtype_id=subtype.id,
                community_id=quota.community_id,
                org_id=org_id,
                quota=quota.quota,
            )
        )
    subtype.booking_enabled = new.enabled
    subtype.updated_at = now
    session.flush()
    return booking_settings(session, org_id=org_id, subtype_id=subtype.id)


# A booking still to come holds its place in these statuses (finished ones no longer matter).
_FINISHED = (Status.COMPLETED.value, Status.CLOSED.value, Status.CANCELLED.value)


def _stranded_bookings(
    session: Session, *, subtype_id: int, grid: rules.Settings, now: datetime
) -> list[datetime]:
    """Starts of open bookings still to come that the new grid would no longer have.

    Their counters would stop limiting the new slots over the same hours (overbooking) and
    the orders would drop out of the console's day view, so such a change is refused.
    """
    rows = session.execute(
        select(Order.slot_start, Order.slot_end).where(
            Order.subtype_id == subtype_id,
            Order.slot_start > now,
            Order.status.not_in(_FINISHED),
        )
    ).all()
    return sorted(
        start
        for start, end in rows
        if start is not None
        and end is not None
        and not rules.fits_grid(grid, start=start, end=end, tz=LOCAL_TZ)
    )


@dataclass(frozen=True)
class NewException:
    day: date
    slot_minute: int | None
    closed: bool
    quota: int | None
    note: str = ""


def list_exceptions(
    session: Session, *, org_id: int, subtype_id: int, since: date
) -> list[BookingException]:
    """The subtype's exceptions from `since` on, by date."""
    subtype = _subtype(session, org_id=org_id, subtype_id=subtype_id)
    return list(
        session.scalars(
            select(BookingException)
            .where(BookingException.subtype_id == subtype.id, BookingException.day >= since)
            .order_by(BookingException.day, BookingException.slot_minute.nulls_first())
        )
    )


def save_exception(
    session: Session, *, org_id: int, subtype_id: int, new: NewException, now: datetime
) -> BookingException:
    """Close a date (or one slot of it), or change its quota; replaces the same date's rule."""
    subtype = _subtype(session, org_id=org_id, subtype_id=subtype_id, lock=True)
    today = now.astimezone(LOCAL_TZ).date()
    if not today - timedelta(days=1) <= new.day <= today + timedelta(days=LISTING_RANGE_DAYS):
        raise ValidationFailed.field("date", "日期须在今天起一年之内")
    if not new.closed and new.quota is None:
        raise ValidationFailed.field("quota", "请关闭该日期（closed）或设置名额（quota）")
    existing = session.scalar(
        select(BookingException).where(
            BookingException.subtype_id == subtype.id,
            BookingException.day == new.day,
            BookingException.slot_minute.is_(None)
            if new.slot_minute is None
            else BookingException.slot_minute == new.slot_minute,
        )
    )
    row = existing or BookingException(
        org_id=org_id, subtype_id=subtype.id, day=new.day, slot_minute=new.slot_minute
    )
    row.closed, row.quota, row.note = new.closed, None if new.closed else new.quota, new.note
    row.updated_at = now
    if existing is None:
        session.add(row)
    session.flush()
    return row


def delete_exception(session: Session, *, org_id: int, exception_id: int) -> None:
    """Remove one exception: the date goes back to the usual grid."""
    row = get_owned(session, BookingException, exception_id, org_id=org_id, message="例外不存在")
    session.delete(row)
    session.flush()
