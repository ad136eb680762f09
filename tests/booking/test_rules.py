"""The slot grid in pure Python: windows, lead time, horizon, exceptions, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from server.booking import rules
from server.kernel.clock import LOCAL_TZ

SETTINGS = rules.Settings(
    slot_minutes=60,
    windows=(rules.Window(9 * 60, 12 * 60), rules.Window(13 * 60 + 30, 15 * 60 + 30)),
    weekdays=(1, 2, 3, 4, 5),
    quota=5,
    desk_reserve=2,
    days_ahead=7,
    lead_minutes=30,
)
MONDAY = date(2026, 11, 30)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


def test_the_grid_is_the_windows_cut_into_slots_in_local_time():
    slots = rules.slot_grid(SETTINGS, day=MONDAY, tz=LOCAL_TZ, now=at(MONDAY, 7))
    starts = [s.start.strftime("%H:%M") for s in slots]
    assert starts == ["09:00", "10:00", "11:00", "13:30", "14:30"]
    assert slots[0].start.utcoffset().total_seconds() == 8 * 3600
    assert slots[0].start_utc == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert all(s.reason is None and s.quota == 5 and s.capacity == 7 for s in slots)


def test_past_too_soon_and_too_far_slots_are_closed_with_a_reason():
    slots = rules.slot_grid(SETTINGS, day=MONDAY, tz=LOCAL_TZ, now=at(MONDAY, 10, 40))
    reasons = {s.start.strftime("%H:%M"): s.reason for s in slots}
    assert reasons == {
        "09:00": rules.PAST,
        "10:00": rules.PAST,
        "11:00": rules.TOO_SOON,  # closes 30 minutes before it starts
        "13:30": None,
        "14:30": None,
    }
    far = rules.slot_grid(SETTINGS, day=date(2026, 12, 8), tz=LOCAL_TZ, now=at(MONDAY, 8))
    assert {s.reason for s in far} == {rules.TOO_FAR}


def reason_of(slot_start: datetime, *, now: datetime, lead_minutes: int) -> str | None:
    settings = rules.Settings(
        slot_minutes=60, windows=(rules.Window(9 * 60, 12 * 60),), lead_minutes=lead_minutes
    )
    slots = rules.slot_grid(settings, day=slot_start.date(), tz=LOCAL_TZ, now=now)
    slot = rules.find_slot(slots, slot_start)
    assert slot is not None
    return slot.reason


SECOND = timedelta(seconds=1)


def test_a_slot_starting_exactly_at_now_plus_the_lead_time_is_too_soon():
    """A slot closes at `start - lead`, that instant included (`start - lead <= now`).

    Slots start on the grid, so the slot stays put and `now` moves: the 11:00 slot starts one
    second after, exactly at, and one second before now + 30 minutes.
    """
    start = at(MONDAY, 11)
    lead = timedelta(minutes=30)
    assert reason_of(start, now=start - lead - SECOND, lead_minutes=30) is None
    assert reason_of(start, now=start - lead, lead_minutes=30) == rules.TOO_SOON
    assert reason_of(start, now=start - lead + SECOND, lead_minutes=30) == rules.TOO_SOON


def test_a_slot_starting_exactly_now_is_past():
    start = at(MONDAY, 11)
    assert reason_of(start, now=start - SECOND, lead_minutes=0) is None
    assert reason_of(start, now=start, lead_minutes=0) == rules.PAST
    assert reason_of(start, now=start, lead_minutes=30) == rules.PAST
    assert reason_of(start, now=start + SECOND, lead_minutes=30) == rules.PAST


def test_weekdays_exceptions_and_community_quota():
    saturday = date(2026, 12, 5)
    assert rules.slot_grid(SETTINGS, day=saturday, tz=LOCAL_TZ, now=at(MONDAY, 8)) == []
    closed = rules.slot_grid(
        SETTINGS, day=MONDAY, tz=LOCAL_TZ, now=at(MONDAY, 7), rules=rules.DateRules(closed=True)
    )
    assert {s.reason for s in closed} == {rules.CLOSED}
    special = rules.slot_grid(
        SETTINGS,
        day=MONDAY,
        tz=LOCAL_TZ,
        now=at(MONDAY, 7),
        rules=rules.DateRules(
            community_quota=3,
            slot_quotas={time(10, 0): 1},
            closed_slots=frozenset({time(11, 0)}),
        ),
    )
    by_start = {s.start.strftime("%H:%M"): s for s in special}
    assert by_start["09:00"].quota == 3 and by_start["09:00"].capacity == 5
    assert by_start["10:00"].quota == 1
    assert by_start["11:00"].reason == rules.CLOSED
    dated = rules.slot_grid(
        SETTINGS,
        day=MONDAY,
        tz=LOCAL_TZ,
        now=at(MONDAY, 7),
        rules=rules.DateRules(community_quota=3, date_quota=9),
    )
    assert {s.quota for s in dated} == {9}


def test_desk_reaches_into_the_reserve_tenants_do_not():
    slot = rules.slot_grid(SETTINGS, day=MONDAY, tz=LOCAL_TZ, now=at(MONDAY, 7))[0]
    assert rules.limit_for(slot, desk=False) == 5
    assert rules.limit_for(slot, desk=True) == 7


def test_off_grid_start_is_not_found():
    slots = rules.slot_grid(SETTINGS, day=MONDAY, tz=LOCAL_TZ, now=at(MONDAY, 7))
    assert rules.find_slot(slots, at(MONDAY, 9)) is slots[0]
    assert rules.find_slot(slots, datetime(2026, 11, 30, 1, 0, tzinfo=UTC)) is slots[0]
    assert rules.find_slot(slots, at(MONDAY, 9, 30)) is None


def test_window_problems():
    w = rules.Window
    assert rules.window_problems([w(540, 720), w(810, 1080)], 30) == []
    assert rules.window_problems([w(540, 720), w(700, 800)], 20) == ["时间段不能重叠"]
    assert rules.window_problems([w(540, 700)], 60) == ["时间段长度须为时段长度（60 分钟）的整数倍"]
    assert rules.window_problems([w(720, 540)], 60) == ["时间段的结束须晚于开始，且在当天之内"]
    assert rules.window_problems([], 60) == ["至少需要一个时间段"]
    assert rules.window_problems([w(1380, 1440)], 60) == []  # up to 24:00


def test_parse_hhmm():
    assert rules.parse_hhmm("09:30") == 570
    assert rules.parse_hhmm("24:00") == 1440
    assert rules.parse_hhmm("24:01") is None
    assert rules.parse_hhmm("9:30") is None
    assert rules.parse_hhmm("ab:cd") is None
