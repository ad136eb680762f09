"""The dashboard's pure rules: the range, its buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from server.dashboard.rules import (
    DAY,
    WEEK,
    bucket_span,
    buckets,
    local_range,
    range_error,
    share,
)

BJ = ZoneInfo("Asia/Shanghai")


def test_the_range_is_local_midnight_to_local_midnight():
    r = local_range(date(2026, 11, 1), date(2026, 11, 30), BJ)
    assert r.start.astimezone(UTC) == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert r.end.astimezone(UTC) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert r.days == 30


def test_range_errors():
    assert range_error(date(2026, 1, 2), date(2026, 1, 1)) == ("to", "结束日期不能早于开始日期")
    assert range_error(date(2025, 1, 1), date(2025, 12, 31)) is None
    assert range_error(date(2024, 1, 1), date(2024, 12, 31)) is None  # 366 days, leap year
    assert range_error(date(2025, 1, 1), date(2026, 1, 1)) is None  # 366 days
    assert range_error(date(2025, 1, 1), date(2026, 1, 2)) == ("to", "时间范围最多 366 天")


def test_buckets_by_day_and_by_week():
    assert buckets(date(2026, 11, 29), date(2026, 12, 1), DAY) == [
        date(2026, 11, 29),
        date(2026, 11, 30),
        date(2026, 12, 1),
    ]
    # 2026-11-01 is a Sunday: its week is named by Monday 10-26, and cut to the range.
    weeks = buckets(date(2026, 11, 1), date(2026, 11, 10), WEEK)
    assert weeks == [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9)]
    first, last = date(2026, 11, 1), date(2026, 11, 10)
    assert bucket_span(weeks[0], WEEK, first, last) == (first, first)
    assert bucket_span(weeks[2], WEEK, first, last) == (date(2026, 11, 9), last)


def test_share_of_nothing_is_none():
    assert share(1, 3) == 0.3333
    assert share(0, 0) is None
