"""The dashboard's pure rules: the range, its buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from server.dashboard.rules import (
    DAY,
    WEEK,
    bucket_bounds,
    bucket_span,
    buckets,
    duration_bucket,
    duration_bucket_sql,
    histogram_percentile,
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


def _percentile_cont(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont, spelled out: the value at rank fraction × (n − 1)."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = int(position)
    if below + 1 == len(ordered):
        return ordered[below]
    return ordered[below] + (position - below) * (ordered[below + 1] - ordered[below])


def test_histogram_percentiles_are_within_ten_percent():
    import random

    rng = random.Random(7)
    for size in (1, 2, 3, 10, 101, 2000):
        for spread in (0.5, 90.0, 3600.0, 86_400.0 * 30):
            values = [rng.uniform(0, spread) * rng.choice((1, 1, 3)) for _ in range(size)]
            counts: dict[int, int] = {}
            for v in values:
                counts[duration_bucket(v)] = counts.get(duration_bucket(v), 0) + 1
            for fraction in (0.5, 0.9):
                exact = _percentile_cont(values, fraction)
                estimate = histogram_percentile(counts, fraction)
                assert estimate is not None
                assert abs(estimate - exact) <= 0.1 * exact + 1, (size, spread, fraction)
    assert histogram_percentile({}, 0.5) is None


def test_a_bucket_holds_what_its_bounds_say():
    for seconds in (0, 0.5, 1, 1.05, 1.1, 59, 60, 3600, 86_400, 31_622_400):
        low, high = bucket_bounds(duration_bucket(seconds))
        assert low <= max(seconds, 0) < high or (seconds < 1 and high == 1.0)


def test_sql_and_python_buckets_agree(db_session):
    from sqlalchemy import text

    values = [0, 0.2, 1, 1.5, 7, 59.9, 60, 1800, 2700, 3600, 14_400, 86_400, 9_999_999]
    for v in values:
        in_sql = db_session.scalar(text(f"SELECT {duration_bucket_sql(':v')}"), {"v": v})
        assert in_sql == duration_bucket(v), v


def test_the_dashboards_low_score_is_the_default_return_visit_line():
    from server.dashboard.rules import LOW_SCORE_AT_OR_BELOW
    from server.organisation.models import DEFAULT_LOW_RATING_AT_OR_BELOW

    assert LOW_SCORE_AT_OR_BELOW == DEFAULT_LOW_RATING_AT_OR_BELOW
