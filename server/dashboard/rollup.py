"""The dashboard's daily rollup: the cohort's figures per local filing day, kept by a job.

One SQL builder (`rollup_ctes` + the four `SELECTS`) turns the orders of one organisation
filed in [start, end) into rollup rows (`dashboard.models`: per day, community and order type,
the counts by breakdown, the durations' histograms, the cancellations, the money). The
periodic job (`refresh`, every minute) writes them for the days whose orders changed since
its previous run; a dashboard read (`Sources`) sums the rows of the days built and, through
the same builder inline (`WITH live AS …`), the days not built yet: today always, and every
day on a fresh database or before the job's first run. So a missed run makes the dashboard
slower, never wrong; a day's figures lag its orders' changes by at most about a minute.

Overdue now moves with the clock, not with writes: it is never rolled up (`overdue_sql`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.dashboard.cohort import DERIVED_CTE, OVERDUE_SQL, PAUSED_CTE, Filters, Scope
from server.dashboard.models import (
    COUNTS,
    DASHBOARD_CANCEL_DAYS,
    DASHBOARD_DAYS,
    DASHBOARD_MONEY_DAYS,
    DASHBOARD_TIME_DAYS,
    MARKS,
    MEASURES,
    TIME_SUMS,
    TIMES,
)
from server.dashboard.rules import LOW_SCORE_AT_OR_BELOW, duration_bucket_sql
from server.kernel.clock import LOCAL_TZ
from server.orders.rules.states import Action, Status

TZ = LOCAL_TZ.key
DAY_SQL = f"(orders.created_at AT TIME ZONE '{TZ}')::date"

# The steps that cancel an order (who cancelled it: the tenant, the desk, the unpaid hold).
CANCEL_ACTIONS = (Action.CANCEL_BY_TENANT, Action.CANCEL_BY_DESK, Action.HOLD_EXPIRED)
CANCEL_ACTIONS_SQL = ", ".join(f"'{a.value}'" for a in CANCEL_ACTIONS)

# Writes commit some time after their `created_at` / `updated_at` instant: each run looks
# back this far before the previous run's start, so a slow transaction is not missed.
SAFETY_MARGIN = timedelta(minutes=10)


def cohort(
    *,
    start: datetime,
    end: datetime,
    days: Sequence[date] | None = None,
    scope: Scope | None = None,
    filters: Filters | None = None,
) -> tuple[str, dict[str, Any]]:
    """`SELECT …` of the orders filed in [start, end) (and on `days`, if given), one row each,
    with their local filing day. The organisation is the `:org_id` parameter."""
    where = ["orders.org_id = :org_id", "orders.created_at >= :start", "orders.created_at < :end"]
    params: dict[str, Any] = {"start": start, "end": end}
    if days is not None:
        where.append(f"{DAY_SQL} = ANY(:days)")
        params["days"] = list(days)
    where.extend(_filter_where("orders.", scope, filters, params))
    sql = f"""
        SELECT orders.id, orders.status, orders.priority, orders.channel, orders.order_type_id,
               orders.subtype_id, orders.community_id, orders.assignee_id, orders.created_at,
               orders.accepted_at, orders.completed_at, orders.closed_at, orders.due_at,
               orders.reopen_count, orders.rating_score, {DAY_SQL} AS day
        FROM orders
        WHERE {" AND ".join(where)}
    """
    return sql, params


def _filter_where(
    prefix: str, scope: Scope | None, filters: Filters | None, params: dict[str, Any]
) -> list[str]:
    """The community / order type narrowing (the rollup is keyed by both)."""
    where = []
    if scope is not None and scope.community_ids is not None:
        where.append(f"{prefix}community_id = ANY(:scope_communities)")
        params["scope_communities"] = sorted(scope.community_ids)
    if filters is not None and filters.community_id is not None:
        where.append(f"{prefix}community_id = :community_id")
        params["community_id"] = filters.community_id
    if filters is not None and filters.order_type_id is not None:
        where.append(f"{prefix}order_type_id = :order_type_id")
        params["order_type_id"] = filters.order_type_id
    return where


def rollup_ctes(cohort_sql: str) -> str:
    """The CTEs every rollup SELECT reads: the cohort `c`, its durations and marks `d`
    (`cohort.DERIVED_CTE`, the live statements' own), and its ledger rows `lg`."""
    derived = DERIVED_CTE.replace("d AS (", "d AS MATERIALIZED (", 1)
    return f"""
        c AS MATERIALIZED ({cohort_sql}), {PAUSED_CTE}, {derived},
        lg AS MATERIALIZED (
            SELECT c.day, c.community_id, c.order_type_id, l.order_id, l.kind, l.channel,
                   l.amount_fen
            FROM ledger_entries l JOIN c ON c.id = l.order_id
            WHERE l.org_id = :org_id AND l.created_at >= :start
        ),
        bal AS (SELECT order_id, sum(amount_fen) AS balance FROM lg GROUP BY order_id)
    """


_KEYS = "CAST(:org_id AS bigint) AS org_id, d.day, 'day' AS span, d.community_id, d.order_type_id"
# The durations count for the orders taken or completed (as the live times statement).
_TIMED = "(d.completed_at IS NOT NULL OR d.accepted_at IS NOT NULL)"

_COUNT_SQL = {
    "filed": "count(*)",
    "completed": "count(*) FILTER (WHERE d.completed_at IS NOT NULL)",
    "closed": f"count(*) FILTER (WHERE d.status = '{Status.CLOSED.value}')",
    "cancelled": f"count(*) FILTER (WHERE d.status = '{Status.CANCELLED.value}')",
    "reopened": "count(*) FILTER (WHERE d.reopen_count > 0)",
    "reopens": "coalesce(sum(d.reopen_count), 0)",
    "in_time": "count(*) FILTER (WHERE d.completed_at <= d.due_at)",
    "escalated": "count(*) FILTER (WHERE d.escalated)",
    "rated": "count(d.rating_score)",
    "rating_sum": "coalesce(sum(d.rating_score), 0)",
    "low_scores": f"count(*) FILTER (WHERE d.rating_score <= {LOW_SCORE_AT_OR_BELOW})",
    "finished": "count(*) FILTER (WHERE d.completed_at IS NOT NULL OR d.reopen_count > 0)",
    # Each order's balance owed (charged less settled), counted once: on the 'base' row.
    "outstanding_fen": (
        "coalesce(sum(greatest(bal.balance, 0)) FILTER (WHERE k.kind = 'base'), 0)"
    ),
    **{f"{t}_n": f"count(d.{t}_s) FILTER (WHERE {_TIMED})" for t in TIMES},
}
assert set(_COUNT_SQL) == set(COUNTS)

# The sets of the overview's breakdowns; `key` as text ('' for the whole group).
SET_KEYS = {
    "base": "''",
    "status": "d.status",
    "subtype": "d.subtype_id::text",
    "source": "d.source",
    "priority": "d.priority",
    "score": "d.rating_score::text",
    "technician": "d.assignee_id::text",
}

DAYS_SELECT = f"""
    SELECT {_KEYS}, k.kind, k.key,
           {", ".join(_COUNT_SQL[name] for name in COUNTS)},
           {", ".join(f"coalesce(sum(d.{t}_s::float8) FILTER (WHERE {_TIMED}), 0)" for t in TIMES)}
    FROM d LEFT JOIN bal ON bal.order_id = d.id
    CROSS JOIN LATERAL (VALUES {", ".join(f"('{k}', {v})" for k, v in SET_KEYS.items())})
        AS k(kind, key)
    WHERE k.key IS NOT NULL
    GROUP BY d.day, d.community_id, d.order_type_id, k.kind, k.key
"""

TIMES_SELECT = f"""
    SELECT {_KEYS}, d.assignee_id, {duration_bucket_sql("v.s")} AS bucket,
           {", ".join(f"count(*) FILTER (WHERE v.measure = '{t}')" for t in TIMES)}
    FROM d CROSS JOIN LATERAL (VALUES {", ".join(f"('{t}', d.{t}_s::float8)" for t in TIMES)})
        AS v(measure, s)
    WHERE v.s IS NOT NULL AND {_TIMED}
    GROUP BY d.day, d.community_id, d.order_type_id, d.assignee_id, 7
"""

CANCELS_SELECT = f"""
    SELECT {_KEYS.replace("d.", "c.")}, e.action, e.reason, count(*)
    FROM c JOIN order_events e ON e.order_id = c.id
    WHERE c.status = '{Status.CANCELLED.value}' AND e.action IN ({CANCEL_ACTIONS_SQL})
    GROUP BY c.day, c.community_id, c.order_type_id, e.action, e.reason
"""

MONEY_SELECT = f"""
    SELECT {_KEYS.replace("d.", "lg.")}, 'ledger', lg.kind, coalesce(lg.channel, ''),
           NULL::bigint, sum(lg.amount_fen)
    FROM lg
    GROUP BY lg.day, lg.community_id, lg.order_type_id, lg.kind, coalesce(lg.channel, '')
    UNION ALL
    SELECT {_KEYS.replace("d.", "c.")}, 'charge', oc.kind, '', oc.staff_id, sum(oc.amount_fen)
    FROM order_charges oc JOIN c ON c.id = oc.order_id
    WHERE oc.org_id = :org_id AND oc.created_at >= :start
    GROUP BY c.day, c.community_id, c.order_type_id, oc.kind, oc.staff_id
"""

# Each rollup table and the SELECT that makes its rows (in the table's column order).
SELECTS = {
    DASHBOARD_DAYS.name: DAYS_SELECT,
    DASHBOARD_TIME_DAYS.name: TIMES_SELECT,
    DASHBOARD_CANCEL_DAYS.name: CANCELS_SELECT,
    DASHBOARD_MONEY_DAYS.name: MONEY_SELECT,
}
TABLES = {
    t.name: t
    for t in (DASHBOARD_DAYS, DASHBOARD_TIME_DAYS, DASHBOARD_CANCEL_DAYS, DASHBOARD_MONEY_DAYS)
}
assert len(TIME_SUMS) == len(TIMES)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def next_week(week: date) -> date:
    return week + timedelta(days=7)


# The spans summed from day rows: their first day, and the first day of the next one.
SPANS: dict[str, tuple[Callable[[date], date], Callable[[date], date]]] = {
    "week": (week_of, next_week),
    "month": (month_of, next_month),
}


def pieces(first: date, end: date) -> list[tuple[str, date, date]]:
    """The days [first, end) as rollup spans: the whole months inside, then the whole ISO
    weeks inside what is left at either end, then single days; each (span, from, to)."""
    out: list[tuple[str, date, date]] = []
    months_first = first if first.day == 1 else next_month(first)
    months_end = month_of(end)
    edges = [(first, end)]
    if months_first < months_end:
        out.append(("month", months_first, months_end))
        edges = [(first, months_first), (months_end, end)]
    for a, b in edges:
        weeks_first = a + timedelta(days=(7 - a.weekday()) % 7)
        weeks_end = week_of(b)
        if weeks_first < weeks_end:
            out.append(("week", weeks_first, weeks_end))
            out.extend(("day", x, y) for x, y in ((a, weeks_first), (weeks_end, b)) if x < y)
        elif a < b:
            out.append(("day", a, b))
    return out


# --- the job -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshReport:
    org_id: int
    days: int  # days rebuilt
    rows: int  # rollup rows written
    full: bool  # the organisation's first build


def organisations(session: Session) -> list[int]:
    return list(session.scalars(text("SELECT id FROM organisations ORDER BY id")))


def refresh(session: Session, *, org_id: int, now: datetime) -> RefreshReport | None:
    """Bring one organisation's rollup up to date; None if another run is at it.

    The first run builds every day before today; later runs rebuild the days of the orders
    changed (an order row, a desk filing or escalation mark, a ledger entry, a charge line)
    since the previous run's start less `SAFETY_MARGIN`, and add the days passed since. All
    in the caller's transaction (DELETE then INSERT … SELECT), under a transaction-level
    advisory lock, so two runs at once never both write (the second skips).
    """
    locked = session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended('dashboard_rollup', :org_id))"),
        {"org_id": org_id},
    )
    if not locked:
        return None
    today = now.astimezone(LOCAL_TZ).date()
    state = session.execute(
        text(
            "SELECT built_until, run_started_at FROM dashboard_rollup_state WHERE org_id = :org_id"
        ),
        {"org_id": org_id},
    ).first()
    params: dict[str, Any] = {"org_id": org_id}
    if state is None:
        first = session.scalar(
            text("SELECT min(created_at) FROM orders WHERE org_id = :org_id"), params
        )
        days: list[date] | None = None
        start = first
        full = True
    else:
        built_until: date = state.built_until
        dirty = set(
            _dirty_days(
                session,
                org_id=org_id,
                before=local_midnight(built_until),
                since=state.run_started_at - SAFETY_MARGIN,
            )
        )
        current = built_until
        while current < today:  # days passed since the last run (usually none, or yesterday)
            dirty.add(current)
            current += timedelta(days=1)
        days = sorted(dirty)
        start = local_midnight(days[0]) if days else None
        full = False
    rows, built = 0, 0
    if start is not None and start < local_midnight(today):
        end = local_midnight(today) if days is None else local_midnight(days[-1] + timedelta(1))
        rows = _rebuild(session, org_id=org_id, start=start, end=end, days=days, now=now)
        first_day = start.astimezone(LOCAL_TZ).date()
        built = len(days) if days is not None else (today - first_day).days
        # The whole weeks and months touched and now over: their rows are summed again.
        for span, (start_of, next_of) in SPANS.items():
            starts = {start_of(d) for d in days} if days is not None else set()
            if days is None:
                current = start_of(first_day)
                while next_of(current) <= today:
                    starts.add(current)
                    current = next_of(current)
            rows += _sum_span(
                session,
                org_id=org_id,
                span=span,
                starts=sorted(s for s in starts if next_of(s) <= today),
            )
    session.execute(
        text(
            "INSERT INTO dashboard_rollup_state (org_id, built_until, run_started_at)"
            " VALUES (:org_id, :today, :now) ON CONFLICT (org_id) DO UPDATE"
            " SET built_until = greatest(dashboard_rollup_state.built_until, :today),"
            " run_started_at = :now"
        ),
        {"org_id": org_id, "today": today, "now": now},
    )
    return RefreshReport(org_id=org_id, days=built, rows=rows, full=full)


def _dirty_days(session: Session, *, org_id: int, before: datetime, since: datetime) -> list[date]:
    """The filing days (before `before`) of the orders written to since `since`."""
    sql = f"""
        SELECT DISTINCT {DAY_SQL} AS day
        FROM orders
        WHERE orders.org_id = :org_id AND orders.created_at < :before AND orders.id IN (
            SELECT id FROM orders WHERE org_id = :org_id AND updated_at >= :since
            UNION SELECT order_id FROM order_events
                WHERE org_id = :org_id AND created_at >= :since AND ({MARKS})
            UNION SELECT order_id FROM ledger_entries
                WHERE org_id = :org_id AND created_at >= :since
            UNION SELECT order_id FROM order_charges
                WHERE org_id = :org_id AND created_at >= :since
        )
    """
    rows = session.execute(text(sql), {"org_id": org_id, "before": before, "since": since})
    return [r.day for r in rows]


def _rebuild(
    session: Session,
    *,
    org_id: int,
    start: datetime,
    end: datetime,
    days: Sequence[date] | None,
    now: datetime,
) -> int:
    """Replace the rollup rows of the orders filed in [start, end) (on `days`, if given)."""
    cohort_sql, params = cohort(start=start, end=end, days=days)
    params.update(org_id=org_id, now=now)
    first = start.astimezone(LOCAL_TZ).date()
    last = (end - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date()
    for table in TABLES:
        where = "day = ANY(:days)" if days is not None else "day >= :first AND day <= :last"
        session.execute(
            text(f"DELETE FROM {table} WHERE org_id = :org_id AND span = 'day' AND {where}"),
            {"org_id": org_id, "days": list(days or ()), "first": first, "last": last},
        )
    inserts = ", ".join(
        f"i_{table} AS (INSERT INTO {table} ({', '.join(c.name for c in TABLES[table].columns)})"
        f" {select} RETURNING 1)"
        for table, select in SELECTS.items()
    )
    counts = " + ".join(f"(SELECT count(*) FROM i_{table})" for table in TABLES)
    sql = f"WITH {rollup_ctes(cohort_sql)}, {inserts} SELECT {counts}"
    return int(session.scalar(text(sql), params) or 0)


def _sum_span(session: Session, *, org_id: int, span: str, starts: Sequence[date]) -> int:
    """Replace the rows of the weeks or months starting on `starts` (each over) by the sums
    of their day rows."""
    if not starts:
        return 0
    next_of = SPANS[span][1]
    params = {
        "org_id": org_id,
        "span": span,
        "starts": list(starts),
        "first": starts[0],
        "end": next_of(starts[-1]),
    }
    rows = 0
    for name, table in TABLES.items():
        measures = MEASURES[name]
        keys = [c.name for c in table.columns if c.name not in (*measures, "org_id", "day", "span")]
        session.execute(
            text(
                f"DELETE FROM {name} WHERE org_id = :org_id AND span = :span AND day = ANY(:starts)"
            ),
            params,
        )
        result = session.execute(
            text(
                f"INSERT INTO {name} (org_id, day, span, {', '.join(keys)}, {', '.join(measures)})"
                f" SELECT org_id, date_trunc('{span}', day)::date, :span, {', '.join(keys)},"
                f" {', '.join(f'sum({m})' for m in measures)}"
                f" FROM {name}"
                " WHERE org_id = :org_id AND span = 'day' AND day >= :first AND day < :end"
                f"   AND date_trunc('{span}', day)::date = ANY(:starts)"
                f" GROUP BY org_id, 2, {', '.join(keys)}"
            ),
            params,
        )
        rows += int(getattr(result, "rowcount", 0) or 0)
    return rows


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """Where a read finds each rollup table's rows for a range: the built days' rows
    (`rolled`: first and last day) and the rest computed live (`live`: [start, end))."""

    head: str  # "WITH …" of the live CTEs, or ""
    params: dict[str, Any]
    rolled: tuple[date, date] | None
    live: bool
    where: tuple[str, ...]  # the rollup rows' community / order type narrowing
    pieces: tuple[tuple[str, date, date], ...]  # the built days as spans (`pieces`)

    def of(self, table: str, *, by_day: bool = False) -> str:
        """A subquery of `table`'s rows for the range (built and live alike); `by_day`: day
        rows only (a per-day series), else whole months and weeks by their rows."""
        parts = []
        if self.rolled is not None:
            if by_day:
                span = "span = 'day' AND day >= :rolled_first AND day <= :rolled_last"
            else:  # a range of the (org, span, day) index for each piece
                span = " OR ".join(
                    f"(span = :span_{i} AND day >= :from_{i} AND day < :to_{i})"
                    for i in range(len(self.pieces))
                )
            where = ["org_id = :org_id", f"({span})"]
            where.extend(self.where)
            parts.append(f"SELECT * FROM {table} WHERE {' AND '.join(where)}")
        if self.live:
            parts.append(f"SELECT * FROM live_{table}")
        return "(" + " UNION ALL ".join(parts) + ")"


def sources(session: Session, *, scope: Scope, filters: Filters, now: datetime) -> Sources:
    """Split the range at the organisation's `built_until`: before it from the rollup, from
    it on (today at least) live through the builder."""
    built_until = session.scalar(
        text("SELECT built_until FROM dashboard_rollup_state WHERE org_id = :org_id"),
        {"org_id": scope.org_id},
    )
    r = filters.range
    params: dict[str, Any] = {"org_id": scope.org_id, "now": now}
    rolled = None
    if built_until is not None and built_until > r.first:
        rolled = (r.first, min(r.last, built_until - timedelta(days=1)))
        params.update(rolled_first=rolled[0], rolled_last=rolled[1])
    spans = tuple(pieces(rolled[0], rolled[1] + timedelta(days=1))) if rolled else ()
    for i, (span, since, until) in enumerate(spans):
        params.update({f"span_{i}": span, f"from_{i}": since, f"to_{i}": until})
    where = tuple(_filter_where("", scope, filters, params))
    head = ""
    live_start = r.start if rolled is None else local_midnight(rolled[1] + timedelta(days=1))
    live = live_start < r.end
    if live:
        cohort_sql, cohort_params = cohort(
            start=live_start, end=r.end, scope=scope, filters=filters
        )
        params.update(cohort_params)
        lives = ", ".join(
            f"live_{table} ({', '.join(c.name for c in TABLES[table].columns)}) AS ({select})"
            for table, select in SELECTS.items()
        )
        head = f"WITH {rollup_ctes(cohort_sql)}, {lives}"
    return Sources(head=head, params=params, rolled=rolled, live=live, where=where, pieces=spans)


def overdue_sql(scope: Scope, filters: Filters, params: dict[str, Any], *, per_day: bool) -> str:
    """The cohort's orders overdue now (`orders.overdue`): always live (per filing day, or
    in all), from the open orders' index. Adds its parameters to `params`.

    Per day as one index-only count per local day: grouping the open orders by their local
    date instead converts every row's instant (≈ 5 times slower over a year).
    """
    params.update(
        range_start=filters.range.start,
        range_end=filters.range.end,
        range_first=filters.range.first,
        range_last=filters.range.last,
    )
    start, end = ":range_start", ":range_end"
    if per_day:
        start = f"(g.day::timestamp AT TIME ZONE '{TZ}')"
        end = f"((g.day + 1)::timestamp AT TIME ZONE '{TZ}')"
    where = [
        "orders.org_id = :org_id",
        f"orders.created_at >= {start}",
        f"orders.created_at < {end}",
        f"({OVERDUE_SQL})",
    ]
    where.extend(_filter_where("orders.", scope, filters, params))
    count = f"SELECT count(*) FROM orders WHERE {' AND '.join(where)}"
    if not per_day:
        return f"{count.replace('count(*)', 'count(*) AS overdue_now', 1)}"
    return (
        f"SELECT g.day, ({count}) AS overdue_now"
        " FROM (SELECT generate_series(CAST(:range_first AS date), CAST(:range_last AS date),"
        " interval '1 day')::date AS day) AS g"
    )
