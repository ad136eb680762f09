"""The data dashboard's (数据看板) rules: the range, its buckets, what each figure means.

Pure Python. Every figure of the dashboard is about one cohort: the orders **filed** in the
range (local dates, Asia/Shanghai, both ends included) that match the filters, as they stand
now. So a figure's click-through is the console's order list with the same
`created_from` / `created_to` (and the figure's own filter), and nothing moves once a day has
passed except what happened to those orders since.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

# The longest range a dashboard answers for (a year, leap day included).
MAX_RANGE_DAYS = 366

# Trend buckets: one point per local day, or per ISO week (starting on Monday).
DAY, WEEK = "day", "week"
GRANULARITIES = (DAY, WEEK)

# Where an order came from (来源): the tenant's app, staff on the tenant's behalf (a
# technician), or the desk (a dispatcher or admin filing it at the counter or on the phone).
SOURCE_TENANT, SOURCE_STAFF, SOURCE_DESK = "tenant", "staff", "desk"
SOURCES = (SOURCE_TENANT, SOURCE_STAFF, SOURCE_DESK)
SOURCE_LABELS = {SOURCE_TENANT: "住户报修", SOURCE_STAFF: "员工代报", SOURCE_DESK: "前台登记"}
DESK_FILER_ROLES = ("dispatcher", "admin")

# What a table may be answered as.
FORMATS = ("json", "csv", "xlsx")

# A rating at or below this is a low score (差评) in the dashboard: the default of the
# organisation's return-visit line (`organisation.models.DEFAULT_LOW_RATING_AT_OR_BELOW`, a
# test keeps them equal), fixed here so that the daily rollup's past days stay comparable
# when an organisation moves its own line.
LOW_SCORE_AT_OR_BELOW = 2
SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Range:
    """Local dates `first` … `last` (both included) and their UTC-comparable instants."""

    first: date
    last: date
    start: datetime  # the first day's local midnight
    end: datetime  # the local midnight after the last day (excluded)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def range_error(first: date, last: date) -> tuple[str, str] | None:
    """(field, zh-CN message) when the range may not be asked for, else None."""
    if last < first:
        return "to", "结束日期不能早于开始日期"
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        return "to", f"时间范围最多 {MAX_RANGE_DAYS} 天"
    return None


def local_range(first: date, last: date, tz: tzinfo) -> Range:
    """The range's instants: local midnights, so a day is the day the desk lived."""
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    return Range(first=first, last=last, start=start, end=end)


def bucket_of(day: date, granularity: str) -> date:
    """The bucket a local date falls in: itself, or its week's Monday."""
    return day if granularity == DAY else day - timedelta(days=day.weekday())


def buckets(first: date, last: date, granularity: str) -> list[date]:
    """Every bucket of the range, in order (a week is named by its Monday)."""
    step = timedelta(days=1 if granularity == DAY else 7)
    out, current = [], bucket_of(first, granularity)
    while current <= last:
        out.append(current)
        current += step
    return out


def bucket_span(bucket: date, granularity: str, first: date, last: date) -> tuple[date, date]:
    """The local dates a bucket covers inside the range (a week may be cut at either end)."""
    end = bucket if granularity == DAY else bucket + timedelta(days=6)
    return max(bucket, first), min(end, last)


def share(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 places; None when there is nothing to divide."""
    return None if whole == 0 else round(part / whole, 4)


def mean(total: float, count: int) -> float | None:
    return None if count == 0 else round(total / count, 2)


def series_values(points: dict[date, int], all_buckets: Sequence[date]) -> list[int]:
    """One series' values over every bucket, 0 where nothing happened."""
    return [points.get(b, 0) for b in all_buckets]


# Durations (seconds, on-hold time taken out) are kept for percentiles as a log-scale
# histogram: bucket 0 holds everything under a second, bucket b ≥ 1 holds
# [GROWTH^(b-1), GROWTH^b). Counts per bucket add up across days, technicians and types, so
# the rollup's rows merge with a plain sum(); a year of durations needs under 200 buckets.
GROWTH = 1.1


def duration_bucket_sql(seconds: str) -> str:
    """SQL of the bucket of a duration expression (the one spelling; NULL stays NULL)."""
    # In double precision: ln() of a numeric (what extract(epoch …) gives) is far slower.
    value = f"({seconds})::float8"
    return f"CASE WHEN {value} < 1 THEN 0 ELSE 1 + floor(ln({value}) / ln({GROWTH}))::int END"


def duration_bucket(seconds: float) -> int:
    """The bucket of a duration (Python twin of `duration_bucket_sql`, for tests and tools)."""
    if seconds < 1:
        return 0
    return 1 + math.floor(math.log(seconds) / math.log(GROWTH))


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """The durations a bucket covers: [low, high)."""
    if bucket <= 0:
        return 0.0, 1.0
    return GROWTH ** (bucket - 1), GROWTH**bucket


def histogram_percentile(counts: Mapping[int, int], fraction: float) -> float | None:
    """Estimate `percentile_cont(fraction)` from a histogram {bucket: count}.

    As PostgreSQL's percentile_cont: the value at rank fraction × (n − 1) of the sorted
    durations, interpolated between its two neighbours. Each duration is placed evenly inside
    its bucket (the j-th of m at low + (high − low) × (j + ½) / m). The estimated value and
    the true one fall in the same bucket, so the estimate is within 10 % (GROWTH − 1) of the
    exact percentile (under a second for sub-second durations), before rounding to seconds.
    """
    ordered = sorted((b, n) for b, n in counts.items() if n > 0)
    total = sum(n for _, n in ordered)
    if total == 0:
        return None

    def value_at(rank: int) -> float:
        before = 0
        for bucket, n in ordered:
            if rank < before + n:
                low, high = bucket_bounds(bucket)
                return low + (high - low) * (rank - before + 0.5) / n
            before += n
        raise AssertionError("rank past the histogram")  # pragma: no cover

    position = fraction * (total - 1)
    below = math.floor(position)
    low_value = value_at(below)
    if position == below:
        return low_value
    return low_value + (position - below) * (value_at(below + 1) - low_value)
