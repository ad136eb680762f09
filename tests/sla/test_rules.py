"""Business-time arithmetic, pauses and alert levels: the pure SLA rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.kernel.clock import LOCAL_TZ
from server.sla.rules import (
    Calendar,
    Level,
    add_business,
    business_between,
    level_due,
    milestones,
    pick_policy,
    to_send,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
WEEK = Calendar(tz=LOCAL_TZ)  # Mon–Fri 09:00–18:00 Beijing time
# 2026-12-04 is a Friday.
FRI = date(2026, 12, 4)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ)


def test_within_a_day_and_over_the_weekend():
    assert add_business(at(FRI, 10), 3 * H, WEEK) == at(FRI, 13)
    # Two hours left on Friday, the rest on Monday.
    assert add_business(at(FRI, 16), 3 * H, WEEK) == at(FRI + timedelta(days=3), 10)
    # Filed at night: the clock starts at opening.
    assert add_business(at(FRI, 22), H, WEEK) == at(FRI + timedelta(days=3), 10)
    assert add_business(at(FRI, 7), H, WEEK) == at(FRI, 10)
    # Ending exactly at closing is the closing instant, not the next opening.
    assert add_business(at(FRI, 9), 9 * H, WEEK) == at(FRI, 18)


def test_holidays_and_make_up_workdays():
    monday = FRI + timedelta(days=3)
    saturday = FRI + timedelta(days=1)
    off = Calendar(tz=LOCAL_TZ, holidays=frozenset({monday}))
    assert add_business(at(FRI, 17), 2 * H, off) == at(monday + timedelta(days=1), 10)
    swapped = Calendar(tz=LOCAL_TZ, workdays=frozenset({saturday}))
    assert add_business(at(FRI, 17), 2 * H, swapped) == at(saturday, 10)
    # A date that is both is a holiday (the holiday wins).
    both = Calendar(tz=LOCAL_TZ, holidays=frozenset({saturday}), workdays=frozenset({saturday}))
    assert add_business(at(FRI, 17), 2 * H, both) == at(monday, 10)


def test_business_between_counts_only_open_hours():
    monday = FRI + timedelta(days=3)
    assert business_between(at(FRI, 16), at(monday, 10), WEEK) == 3 * H
    assert business_between(at(FRI, 19), at(monday, 8), WEEK) == timedelta(0)
    assert business_between(at(monday, 10), at(FRI, 10), WEEK) == timedelta(0)


def test_wall_clock_without_a_calendar():
    start = datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert add_business(start, 30 * H, None) == start + 30 * H
    assert business_between(start, start + 5 * M, None) == 5 * M


def test_a_calendar_must_work_sometime():
    with pytest.raises(ValueError):
        Calendar(tz=LOCAL_TZ, weekdays=frozenset())
    with pytest.raises(ValueError):
        Calendar(tz=LOCAL_TZ, opens=time(18), closes=time(9))


def test_milestones_remind_at_80_percent_and_level_2_at_150():
    stones = milestones(at(FRI, 16), 10 * H, WEEK)
    monday, tuesday = FRI + timedelta(days=3), FRI + timedelta(days=4)
    assert stones.remind_at == at(monday, 15)
    assert stones.due_at == at(monday, 17)
    assert stones.escalate_at == at(tuesday, 13)
    assert level_due(stones, now=at(monday, 14, 59)) is Level.NONE
    assert level_due(stones, now=at(monday, 15)) is Level.REMINDED
    assert level_due(stones, now=at(monday, 17)) is Level.REMINDED  # at, not yet past
    assert level_due(stones, now=at(monday, 17, 1)) is Level.OVERDUE
    assert level_due(stones, now=at(tuesday, 13, 1)) is Level.ESCALATED


def test_to_send_only_the_highest_level_not_sent_yet():
    stones = milestones(at(FRI, 16), 10 * H, WEEK)
    late = at(FRI + timedelta(days=10), 12)
    assert to_send(stones, sent=Level.NONE, now=late) is Level.ESCALATED
    assert to_send(stones, sent=Level.ESCALATED, now=late) is None
    assert to_send(stones, sent=Level.REMINDED, now=at(FRI, 16)) is None


def test_a_pause_moves_the_deadline_by_the_paused_business_time():
    stones = milestones(at(FRI, 16), 10 * H, WEEK)
    monday, tuesday = FRI + timedelta(days=3), FRI + timedelta(days=4)
    paused = business_between(at(monday, 10), at(tuesday, 10), WEEK)
    assert paused == 9 * H
    assert stones.shifted(paused, WEEK).due_at == at(tuesday, 17)
    # A pause over a weekend costs nothing.
    assert business_between(at(FRI, 18), at(monday, 9), WEEK) == timedelta(0)


def test_pick_policy_prefers_the_priority_s_own():
    policies = [(None, "general"), ("urgent", "urgent one")]
    assert pick_policy(policies, priority="urgent") == "urgent one"
    assert pick_policy(policies, priority="normal") == "general"
    assert pick_policy([("urgent", "u")], priority="normal") is None


calendars = st.builds(
    lambda days, opens, length, holidays, workdays: Calendar(
        tz=LOCAL_TZ,
        weekdays=frozenset(days),
        opens=time(opens),
        closes=time(min(opens + length, 23), 59 if opens + length > 23 else 0),
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
    ),
    st.sets(st.integers(1, 7), min_size=1),
    st.integers(0, 20),
    st.integers(1, 12),
    st.sets(st.dates(date(2026, 11, 1), date(2027, 3, 1)), max_size=10),
    st.sets(st.dates(date(2026, 11, 1), date(2027, 3, 1)), max_size=5),
)
instants = st.datetimes(
    min_value=datetime(2026, 11, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC)
)
amounts = st.integers(0, 60 * 24 * 20).map(lambda m: m * M)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, amounts)
def test_adding_then_measuring_gives_back_the_amount(calendar, start, amount):
    end = add_business(start, amount, calendar)
    assert end >= start
    assert business_between(start, end, calendar) == amount


@settings(max_examples=200, deadline=None)
@given(calendars, instants, amounts, amounts)
def test_adding_is_additive(calendar, start, first, second):
    once = add_business(start, first + second, calendar)
    assert once == add_business(add_business(start, first, calendar), second, calendar) or (
        # Ending exactly at a closing instant and at the next opening are the same business time.
        business_between(start, once, calendar) == first + second
    )


@settings(max_examples=200, deadline=None)
@given(calendars, instants, amounts)
def test_a_positive_amount_ends_inside_open_hours(calendar, start, amount):
    if amount == timedelta(0):
        return
    end = add_business(start, amount, calendar)
    window = calendar.window(end.astimezone(LOCAL_TZ).date())
    assert window is not None and window[0] < end <= window[1]


@settings(max_examples=100, deadline=None)
@given(calendars, instants, instants, instants)
def test_between_is_monotone_and_splits(calendar, a, b, c):
    a, b, c = sorted((a, b, c))
    assert business_between(a, c, calendar) == business_between(a, b, calendar) + business_between(
        b, c, calendar
    )
    assert business_between(a, b, calendar) <= business_between(a, c, calendar)
