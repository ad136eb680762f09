"""The dashboard's trends: the cohort's counts per local day or ISO week, ready for a chart.

A point counts the orders filed in that bucket (and, of them, how many are completed, closed,
cancelled, reopened, overdue now); its `filter` opens the console's order list of that bucket.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.dashboard.cohort import Filters, Scope, cohort_sql, custom_plans
from server.dashboard.overview import base_filter
from server.dashboard.rollup import overdue_sql, sources
from server.dashboard.rules import (
    DAY,
    LOW_SCORE_AT_OR_BELOW,
    bucket_of,
    bucket_span,
    buckets,
    series_values,
)
from server.kernel.clock import LOCAL_TZ
from server.orders.rules.states import Status

SERIES: tuple[tuple[str, str, str], ...] = (
    ("filed", "报修", "true"),
    ("completed", "完工", "completed_at IS NOT NULL"),
    ("closed", "归档", f"status = '{Status.CLOSED.value}'"),
    ("cancelled", "取消", f"status = '{Status.CANCELLED.value}'"),
    ("reopened", "重开", "reopen_count > 0"),
    ("overdue_now", "当前超时", "overdue"),
    ("low_scores", "差评", f"rating_score <= {LOW_SCORE_AT_OR_BELOW}"),
)

_TRENDS = f"""
    SELECT date_trunc(:unit, created_at AT TIME ZONE '{LOCAL_TZ.key}')::date AS bucket,
           {", ".join(f"count(*) FILTER (WHERE {where}) AS {key}" for key, _, where in SERIES)}
    FROM c
    GROUP BY 1
"""


# From the rollup: the day rows of the whole groups ('base'), summed per day; overdue now
# per filing day, live (it moves with the clock).
_ROLLED = [key for key, _, _ in SERIES if key != "overdue_now"]


def trends(
    session: Session, *, scope: Scope, filters: Filters, granularity: str, now: datetime
) -> dict[str, Any]:
    """The series per bucket: from the daily rollup (`dashboard.rollup`, today and unbuilt
    days live), or fully live under a department filter."""
    with custom_plans(session, serial=filters.department_id is None):
        if filters.department_id is not None:
            per_day = live_days(session, scope=scope, filters=filters, now=now)
        else:
            per_day = _rollup_days(session, scope=scope, filters=filters, now=now)
    first, last = filters.range.first, filters.range.last
    all_buckets = buckets(first, last, granularity)
    points: dict[str, dict[date, int]] = {key: {} for key, _, _ in SERIES}
    for day, figures in per_day.items():
        b = bucket_of(day, granularity)
        for key, _, _ in SERIES:
            points[key][b] = points[key].get(b, 0) + figures.get(key, 0)
    base = base_filter(filters)
    filters_out = []
    for b in all_buckets:
        start, end = bucket_span(b, granularity, first, last)
        filters_out.append(
            {**base, "created_from": start.isoformat(), "created_to": end.isoformat()}
        )
    return {
        "granularity": granularity,
        "dates": [b.isoformat() for b in all_buckets],
        "series": [
            {"key": key, "name": name, "values": series_values(points[key], all_buckets)}
            for key, name, _ in SERIES
        ],
        "filters": filters_out,
    }


def live_days(
    session: Session, *, scope: Scope, filters: Filters, now: datetime
) -> dict[date, dict[str, int]]:
    """Each series per local filing day, from the orders alone."""
    cohort, params = cohort_sql(scope, filters, now=now)
    rows = session.execute(text(f"WITH c AS ({cohort}) {_TRENDS}"), {**params, "unit": DAY})
    return {row.bucket: {key: int(getattr(row, key)) for key, _, _ in SERIES} for row in rows}


def _rollup_days(
    session: Session, *, scope: Scope, filters: Filters, now: datetime
) -> dict[date, dict[str, int]]:
    src = sources(session, scope=scope, filters=filters, now=now)
    params = dict(src.params)
    overdue = overdue_sql(scope, filters, params, per_day=True)
    # One statement: the rolled-up series per day, and overdue now per day (live).
    sql = f"""
        {src.head}
        SELECT day, {", ".join(f"sum({k})::bigint AS {k}" for k in _ROLLED)},
               NULL::bigint AS overdue_now
        FROM {src.of("dashboard_days", by_day=True)} AS u
        WHERE kind = 'base'
        GROUP BY day
        UNION ALL
        SELECT day, {", ".join("NULL" for _ in _ROLLED)}, overdue_now FROM ({overdue}) AS o
    """
    per_day: dict[date, dict[str, int]] = {}
    for row in session.execute(text(sql), params):
        figures = per_day.setdefault(row.day, {})
        if row.overdue_now is None:
            figures.update({k: int(getattr(row, k)) for k in _ROLLED})
        else:
            figures["overdue_now"] = int(row.overdue_now)
    return per_day
