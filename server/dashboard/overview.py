"""The dashboard's overview: counts, times, SLA, satisfaction and money of the cohort.

Three set-based statements over the cohort (`cohort.cohort_sql`): every count, time, SLA and
satisfaction figure in one pass (`GROUPING SETS`, one per breakdown), the cancellations with
their reasons, and the money from the orders' ledgers.

Beside the orders: the return visits (回访) made in the range and the complaints and suggestions
(投诉建议) filed in it, from their own areas' figures, for the caller's organisation (the
order filters do not narrow them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.charges.rules import L_CANCEL, L_CHARGE, L_COMPANY, L_PAYMENT, L_REFUND, L_WAIVE
from server.complaints import figures as complaint_figures
from server.dashboard.cohort import (
    DERIVED_CTE,
    PAUSED_CTE,
    Filters,
    Scope,
    cohort_sql,
    custom_plans,
)
from server.dashboard.models import COUNTS, TIME_SUMS, TIMES
from server.dashboard.rollup import CANCEL_ACTIONS, CANCEL_ACTIONS_SQL, overdue_sql, sources
from server.dashboard.rules import (
    LOW_SCORE_AT_OR_BELOW,
    SCORES,
    SOURCE_LABELS,
    SOURCES,
    histogram_percentile,
    mean,
    share,
)
from server.orders.rules.states import LABELS, Action, Status
from server.orders.rules.values import PRIORITIES, STATUSES
from server.visits import figures as visit_figures

# What the overview answers, in order.
SECTIONS = (
    "counts",
    "breakdowns",
    "cancellations",
    "times",
    "sla",
    "satisfaction",
    "money",
    "return_visits",
    "complaints",
)

PRIORITY_LABELS = {"normal": "普通", "urgent": "紧急"}
CANCEL_LABELS = {
    Action.CANCEL_BY_TENANT.value: "住户取消",
    Action.CANCEL_BY_DESK.value: "前台取消",
    Action.HOLD_EXPIRED.value: "超时未支付",
}
MAX_REASONS = 20

DIMS = (
    "status",
    "order_type_id",
    "subtype_id",
    "source",
    "community_id",
    "priority",
    "assignee_id",
    "rating_score",
)
SETS: dict[str, tuple[str, ...]] = {
    "all": (),
    "status": ("status",),
    "type": ("order_type_id",),
    "subtype": ("order_type_id", "subtype_id"),
    "source": ("source",),
    "community": ("community_id",),
    "priority": ("priority",),
    "technician": ("assignee_id",),
    "score": ("rating_score",),
}


def _mask(dims: tuple[str, ...]) -> int:
    """PostgreSQL's GROUPING(...) of a row of this set: a 1 bit for each dimension left out."""
    return sum(1 << (len(DIMS) - 1 - i) for i, d in enumerate(DIMS) if d not in dims)


_SET_OF_MASK = {_mask(dims): name for name, dims in SETS.items()}
_TIMES = TIMES

_FIGURES = f"""
    SELECT GROUPING({", ".join(DIMS)}) AS grouping_mask, {", ".join(DIMS)},
           count(*) AS filed,
           count(*) FILTER (WHERE completed_at IS NOT NULL) AS completed,
           count(*) FILTER (WHERE status = '{Status.CLOSED.value}') AS closed,
           count(*) FILTER (WHERE status = '{Status.CANCELLED.value}') AS cancelled,
           count(*) FILTER (WHERE reopen_count > 0) AS reopened,
           coalesce(sum(reopen_count), 0) AS reopens,
           count(*) FILTER (WHERE overdue) AS overdue_now,
           count(*) FILTER (WHERE completed_at <= due_at) AS in_time,
           count(*) FILTER (WHERE escalated) AS escalated,
           count(rating_score) AS rated,
           coalesce(sum(rating_score), 0) AS rating_sum,
           count(*) FILTER (WHERE rating_score <= {LOW_SCORE_AT_OR_BELOW}) AS low_scores
    FROM d
    GROUP BY GROUPING SETS ({", ".join("(" + ", ".join(dims) + ")" for dims in SETS.values())})
"""

# The times, for the sets that show them (all, per type, per technician): ordered-set
# aggregates sort their group's rows, so they are kept off the other breakdowns.
TIME_SETS: dict[str, tuple[str, ...]] = {
    "all": (),
    "type": ("order_type_id",),
    "technician": ("assignee_id",),
}
_TIME_DIMS = ("order_type_id", "assignee_id")
_TIMES_SQL = f"""
    SELECT GROUPING({", ".join(_TIME_DIMS)}) AS grouping_mask, {", ".join(_TIME_DIMS)},
           {
    ", ".join(
        f"count({t}_s) AS {t}_n, coalesce(sum({t}_s), 0) AS {t}_sum, "
        f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {t}_s) AS {t}_p"
        for t in _TIMES
    )
}
    FROM d
    WHERE completed_at IS NOT NULL OR accepted_at IS NOT NULL
    GROUP BY GROUPING SETS ({", ".join("(" + ", ".join(d) + ")" for d in TIME_SETS.values())})
"""
_TIME_SET_OF_MASK = {
    sum(1 << (len(_TIME_DIMS) - 1 - i) for i, d in enumerate(_TIME_DIMS) if d not in dims): name
    for name, dims in TIME_SETS.items()
}

_CANCELLATIONS = f"""
    SELECT e.action, e.reason, count(*) AS n
    FROM c JOIN order_events e ON e.order_id = c.id
    WHERE c.status = '{Status.CANCELLED.value}'
      AND e.action IN ({CANCEL_ACTIONS_SQL})
    GROUP BY e.action, e.reason
"""

# The ledger of each cohort order (signed: + what the tenant owes, − what settles it).
_MONEY = """
    , l AS (
        SELECT l.order_id, l.kind, l.channel, l.amount_fen
        FROM ledger_entries l
        WHERE l.org_id = :org_id AND l.created_at >= :start AND l.order_id IN (SELECT id FROM c)
    ),
    per_order AS (SELECT order_id, sum(amount_fen) AS balance FROM l GROUP BY order_id)
    SELECT kind, channel, sum(amount_fen) AS fen, NULL::bigint AS outstanding
    FROM l GROUP BY kind, channel
    UNION ALL
    SELECT NULL, NULL, NULL, coalesce(sum(greatest(balance, 0)), 0) FROM per_order
"""


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def _times(row: Any | None) -> dict[str, Any]:
    out = {}
    for t in _TIMES:
        n = 0 if row is None else int(getattr(row, f"{t}_n"))
        p = (None if row is None else getattr(row, f"{t}_p")) or [None, None]
        out[t] = {
            "count": n,
            "p50_seconds": _seconds(p[0]),
            "p90_seconds": _seconds(p[1]),
            "mean_seconds": _seconds(mean(float(getattr(row, f"{t}_sum", 0)), n)),
        }
    return out


def _counts(row: Any) -> dict[str, Any]:
    return {
        "filed": int(row.filed),
        "completed": int(row.completed),
        "closed": int(row.closed),
        "cancelled": int(row.cancelled),
        "reopened": int(row.reopened),
        "reopens": int(row.reopens),
        "overdue_now": int(row.overdue_now),
    }


def _satisfaction(row: Any) -> dict[str, Any]:
    rated = int(row.rated)
    return {
        "rated": rated,
        "average": mean(float(row.rating_sum), rated),
        "low_scores": int(row.low_scores),
        "low_share": share(int(row.low_scores), rated),
    }


# The names of the rows' types, subtypes, communities and technicians, in one round trip.
_NAME_SOURCES = (
    (
        "order_type_id",
        "SELECT id, name FROM order_types WHERE org_id = :org_id AND id = ANY(:ids_0)",
    ),
    (
        "subtype_id",
        "SELECT id, name FROM order_subtypes WHERE org_id = :org_id AND id = ANY(:ids_1)",
    ),
    (
        "community_id",
        "SELECT id, name FROM communities WHERE org_id = :org_id AND id = ANY(:ids_2)",
    ),
    (
        "assignee_id",
        "SELECT s.id, u.name FROM staff s JOIN users u ON u.id = s.user_id"
        " WHERE s.org_id = :org_id AND s.id = ANY(:ids_3)",
    ),
)


def _all_names(session: Session, org_id: int, rows: list[Any]) -> list[dict[int, str]]:
    params: dict[str, Any] = {"org_id": org_id}
    for i, (dim, _) in enumerate(_NAME_SOURCES):
        params[f"ids_{i}"] = sorted({int(v) for r in rows if (v := getattr(r, dim)) is not None})
    sql = " UNION ALL ".join(
        f"SELECT {i} AS source, x.id, x.name FROM ({select}) AS x"
        for i, (_, select) in enumerate(_NAME_SOURCES)
    )
    names: list[dict[int, str]] = [{} for _ in _NAME_SOURCES]
    for source, id_, name in session.execute(text(sql), params):
        names[int(source)][int(id_)] = str(name)
    return names


def base_filter(filters: Filters) -> dict[str, Any]:
    """The console order list's query for the whole cohort (a figure adds its own key)."""
    out: dict[str, Any] = {
        "created_from": filters.range.first.isoformat(),
        "created_to": filters.range.last.isoformat(),
    }
    if filters.community_id is not None:
        out["community_id"] = filters.community_id
    if filters.order_type_id is not None:
        out["order_type_id"] = filters.order_type_id
    return out


@dataclass
class Figures:
    """The cohort's figures before they are shaped: the rows of each breakdown set (`SETS`),
    the times of each time set (`TIME_SETS`, by type / technician id), the cancel steps
    (action, reason, n) and the ledger sums (kind, channel, fen) with the outstanding total."""

    by_set: dict[str, list[Any]]
    timed: dict[str, dict[Any, Any]]
    cancellations: list[Any]
    ledger: list[Any]
    outstanding: int


def overview(session: Session, *, scope: Scope, filters: Filters, now: datetime) -> dict[str, Any]:
    """Every overview figure of the cohort, shaped for the console's tiles and charts.

    From the daily rollup (`dashboard.rollup`, today and unbuilt days live); a department
    filter (the technicians' department now, a narrower cohort) is answered fully live.
    """
    with custom_plans(session, serial=filters.department_id is None):
        if filters.department_id is not None:
            figures = live_figures(session, scope=scope, filters=filters, now=now)
        else:
            figures = rollup_figures(session, scope=scope, filters=filters, now=now)
        answer = _shape(session, scope=scope, filters=filters, figures=figures)
    since, until = filters.range.start, filters.range.end
    answer["return_visits"] = visit_figures.visit_figures(
        session, org_id=scope.org_id, since=since, until=until
    )
    answer["complaints"] = complaint_figures.complaint_figures(
        session, org_id=scope.org_id, since=since, until=until, now=now
    )
    return answer


def live_overview(
    session: Session, *, scope: Scope, filters: Filters, now: datetime
) -> dict[str, Any]:
    """The order figures of `overview` computed from the orders alone (no rollup), with
    exact percentiles: the department filter's answer, and the rollup's reference."""
    with custom_plans(session):
        figures = live_figures(session, scope=scope, filters=filters, now=now)
        return _shape(session, scope=scope, filters=filters, figures=figures)


def live_figures(session: Session, *, scope: Scope, filters: Filters, now: datetime) -> Figures:
    cohort, params = cohort_sql(scope, filters, now=now)
    # One statement: the cohort and its durations are worked out once, then both aggregations
    # read them (as JSON rows, their shapes differ).
    derived = DERIVED_CTE.replace("d AS (", "d AS MATERIALIZED (", 1)
    sql = (
        f"WITH c AS MATERIALIZED ({cohort}), {PAUSED_CTE}, {derived}"
        f" SELECT 1 AS part, to_jsonb(x)::text AS figures FROM ({_FIGURES}) AS x"
        f" UNION ALL SELECT 2, to_jsonb(y)::text FROM ({_TIMES_SQL}) AS y"
    )
    by_set: dict[str, list[Any]] = {name: [] for name in SETS}
    timed: dict[str, dict[Any, Any]] = {name: {} for name in TIME_SETS}
    for part, figures in session.execute(text(sql), params):
        row = SimpleNamespace(**json.loads(figures))
        if part == 1:
            by_set[_SET_OF_MASK[int(row.grouping_mask)]].append(row)
        else:
            name = _TIME_SET_OF_MASK[int(row.grouping_mask)]
            timed[name][row.order_type_id if name == "type" else row.assignee_id] = row
    cancellations = session.execute(text(f"WITH c AS ({cohort}) {_CANCELLATIONS}"), params).all()
    ledger, outstanding = [], 0
    for r in session.execute(text(f"WITH c AS ({cohort}) {_MONEY}"), params):
        if r.kind is None:
            outstanding = int(r.outstanding or 0)
        else:
            ledger.append(r)
    return Figures(by_set, timed, list(cancellations), ledger, outstanding)


# The parts of a statement come back as JSON text, decoded here: psycopg's jsonb loader took
# ≈ 10 ms more for a month's hundred rows (measured on `bench.dashboard`'s database).

# Reading the rollup: the day rows summed per breakdown (by key alone, by order type and key,
# by community: one pass over all rows, two over the few whole-group rows), the durations'
# histograms per bucket (GROUPING of order type, technician: 1 = by type, 2 = by technician;
# all types summed here), the cancel steps, the ledger, and overdue now (live).
_BY_KEY, _BY_TYPE_KEY, _BY_COMMUNITY = 3, 1, 6
_HIST_TYPE, _HIST_TECHNICIAN = 1, 2
_MEASURES = (*COUNTS, *TIME_SUMS)
_KIND_DIM = {
    "status": "status",
    "source": "source",
    "priority": "priority",
    "score": "rating_score",
    "technician": "assignee_id",
}
_INT_DIMS = {"rating_score", "assignee_id", "subtype_id"}


def rollup_figures(session: Session, *, scope: Scope, filters: Filters, now: datetime) -> Figures:
    src = sources(session, scope=scope, filters=filters, now=now)
    params = dict(src.params)
    sums = ", ".join(f"sum({m}) AS {m}" for m in _MEASURES)
    hist = ", ".join(f"sum({t}) AS {t}" for t in TIMES)
    # A histogram as one row of arrays (bucket, count per time): decoding hundreds of small
    # JSON rows cost more than the statement.
    hist_arrays = ", ".join(f"array_agg({t}) AS {t}" for t in TIMES)
    overdue_now = overdue_sql(scope, filters, params, per_day=False)
    days = src.of("dashboard_days")
    sql = f"""
        {src.head}
        SELECT 1 AS part, to_jsonb(x)::text AS figures FROM (
            SELECT kind, key, NULL::bigint AS order_type_id, NULL::bigint AS community_id,
                   {_BY_KEY} AS g, {sums}
            FROM {days} AS u GROUP BY kind, key
            UNION ALL
            SELECT kind, key, order_type_id, NULL, {_BY_TYPE_KEY}, {sums}
            FROM {days} AS u WHERE kind IN ('base', 'subtype') GROUP BY kind, order_type_id, key
            UNION ALL
            SELECT kind, '', NULL, community_id, {_BY_COMMUNITY}, {sums}
            FROM {days} AS u WHERE kind = 'base' GROUP BY kind, community_id
        ) AS x
        UNION ALL SELECT 2, to_jsonb(y)::text FROM (
            SELECT g, order_type_id, assignee_id, array_agg(bucket) AS bucket, {hist_arrays}
            FROM (
                SELECT order_type_id, assignee_id, bucket,
                       GROUPING(order_type_id, assignee_id) AS g, {hist}
                FROM {src.of("dashboard_time_days")} AS u
                GROUP BY GROUPING SETS ((order_type_id, bucket), (assignee_id, bucket))
            ) AS h
            GROUP BY g, order_type_id, assignee_id
        ) AS y
        UNION ALL SELECT 3, to_jsonb(z)::text FROM (
            SELECT action, reason, sum(n) AS n FROM {src.of("dashboard_cancel_days")} AS u
            GROUP BY action, reason
        ) AS z
        UNION ALL SELECT 4, to_jsonb(w)::text FROM (
            SELECT kind, channel, sum(fen) AS fen FROM {src.of("dashboard_money_days")} AS u
            WHERE book = 'ledger' GROUP BY kind, channel
        ) AS w
        UNION ALL SELECT 5, to_jsonb(v)::text FROM ({overdue_now}) AS v
    """
    by_set: dict[str, list[Any]] = {name: [] for name in SETS}
    histograms: dict[str, dict[Any, dict[str, dict[int, int]]]] = {n: {} for n in TIME_SETS}
    cancellations: list[Any] = []
    ledger: list[Any] = []
    overdue = 0
    for part, figures in session.execute(text(sql), params):
        row = json.loads(figures)
        if part == 1:
            _add_set_row(by_set, row)
        elif part == 2:
            by_type = int(row["g"]) == _HIST_TYPE
            name, key = (
                ("type", row["order_type_id"]) if by_type else ("technician", row["assignee_id"])
            )
            counts = histograms[name].setdefault(key, {t: {} for t in TIMES})
            whole = histograms["all"].setdefault(None, {t: {} for t in TIMES})
            for t in TIMES:
                for bucket, n in zip(row["bucket"], row[t], strict=True):
                    if n:
                        counts[t][bucket] = int(n)
                        if by_type:  # every duration has one type: the types add up to all
                            whole[t][bucket] = whole[t].get(bucket, 0) + int(n)
        elif part == 3:
            cancellations.append(SimpleNamespace(**row))
        elif part == 4:
            ledger.append(SimpleNamespace(**row))
        else:
            overdue = int(row["overdue_now"])
    if not by_set["all"]:  # nothing filed: the whole group still answers, with zeros
        by_set["all"].append(_set_row({m: 0 for m in _MEASURES}))
    total = by_set["all"][0]
    total.overdue_now = overdue
    cancellations.sort(key=lambda r: (-int(r.n), r.action, r.reason))
    timed: dict[str, dict[Any, Any]] = {
        "all": {None: _timed(total, histograms["all"].get(None))},
        "type": {
            r.order_type_id: _timed(r, histograms["type"].get(r.order_type_id))
            for r in by_set["type"]
        },
        "technician": {
            r.assignee_id: _timed(r, histograms["technician"].get(r.assignee_id))
            for r in by_set["technician"]
        },
    }
    return Figures(by_set, timed, cancellations, ledger, int(total.outstanding_fen))


def _set_row(measures: dict[str, Any], **dims: Any) -> SimpleNamespace:
    return SimpleNamespace(**{**{d: None for d in DIMS}, **measures, "overdue_now": 0, **dims})


def _add_set_row(by_set: dict[str, list[Any]], row: dict[str, Any]) -> None:
    """File one summed rollup row under its breakdown set, with its dimension named."""
    kind, g, key = row["kind"], int(row["g"]), row["key"]
    measures = {m: row[m] for m in _MEASURES}
    if kind == "base" and g == _BY_KEY:
        by_set["all"].append(_set_row(measures))
    elif kind == "base" and g == _BY_TYPE_KEY:
        by_set["type"].append(_set_row(measures, order_type_id=row["order_type_id"]))
    elif kind == "base" and g == _BY_COMMUNITY:
        by_set["community"].append(_set_row(measures, community_id=row["community_id"]))
    elif kind == "subtype" and g == _BY_TYPE_KEY:
        by_set["subtype"].append(
            _set_row(measures, order_type_id=row["order_type_id"], subtype_id=int(key))
        )
    elif kind in _KIND_DIM and g == _BY_KEY:
        dim = _KIND_DIM[kind]
        by_set[kind].append(_set_row(measures, **{dim: int(key) if dim in _INT_DIMS else key}))


def _timed(row: Any, counts: dict[str, dict[int, int]] | None) -> SimpleNamespace:
    """A time set's figures: exact counts and sums, percentiles from the histogram."""
    out: dict[str, Any] = {}
    for t in TIMES:
        hist = (counts or {}).get(t, {})
        out[f"{t}_n"] = getattr(row, f"{t}_n")
        out[f"{t}_sum"] = getattr(row, f"{t}_sum")
        out[f"{t}_p"] = [histogram_percentile(hist, 0.5), histogram_percentile(hist, 0.9)]
    return SimpleNamespace(**out)


def _shape(session: Session, *, scope: Scope, filters: Filters, figures: Figures) -> dict[str, Any]:
    by_set, timed = figures.by_set, figures.timed
    rows = [r for set_rows in by_set.values() for r in set_rows]
    total = by_set["all"][0]
    base = base_filter(filters)

    type_names, subtype_names, community_names, tech_names = _all_names(session, scope.org_id, rows)

    def item(key: Any, label: str, row: Any, **figure_filter: Any) -> dict[str, Any]:
        return {
            "key": None if key is None else str(key),
            "label": label,
            "count": int(row.filed),
            "filter": {**base, **figure_filter},
        }

    statuses = {r.status: r for r in by_set["status"]}
    by_status = [
        item(s, LABELS[Status(s)], statuses[s], status=[s]) for s in STATUSES if s in statuses
    ]
    by_type = [
        item(r.order_type_id, type_names.get(r.order_type_id, ""), r, order_type_id=r.order_type_id)
        for r in sorted(by_set["type"], key=lambda r: -int(r.filed))
    ]
    by_subtype = [
        {
            **item(r.subtype_id, subtype_names.get(r.subtype_id, ""), r, subtype_id=r.subtype_id),
            "parent_key": str(r.order_type_id),
        }
        for r in sorted(by_set["subtype"], key=lambda r: -int(r.filed))
    ]
    sources = {r.source: r for r in by_set["source"]}
    by_source = [item(s, SOURCE_LABELS[s], sources[s]) for s in SOURCES if s in sources]
    by_community = [
        item(
            r.community_id, community_names.get(r.community_id, ""), r, community_id=r.community_id
        )
        for r in sorted(by_set["community"], key=lambda r: -int(r.filed))
    ]
    priorities = {r.priority: r for r in by_set["priority"]}
    by_priority = [
        item(p, PRIORITY_LABELS.get(p, p), priorities[p], priority=p)
        for p in PRIORITIES
        if p in priorities
    ]

    def times_row(
        key: Any, label: str, row: Any, timed_row: Any, **figure_filter: Any
    ) -> dict[str, Any]:
        return {**item(key, label, row, **figure_filter), **_times(timed_row)}

    def sat_row(key: Any, label: str, row: Any, **figure_filter: Any) -> dict[str, Any]:
        return {**item(key, label, row, **figure_filter), **_satisfaction(row)}

    technicians = [r for r in by_set["technician"] if r.assignee_id is not None]
    counts = _counts(total)
    completed = counts["completed"]
    scores = {r.rating_score: int(r.filed) for r in by_set["score"] if r.rating_score is not None}
    return {
        "range": {
            "from": filters.range.first.isoformat(),
            "to": filters.range.last.isoformat(),
            "days": filters.range.days,
        },
        "filter": base,
        "counts": counts,
        "breakdowns": {
            "by_status": by_status,
            "by_type": by_type,
            "by_subtype": by_subtype,
            "by_source": by_source,
            "by_community": by_community,
            "by_priority": by_priority,
        },
        "cancellations": _cancellations(figures.cancellations),
        "times": {
            **_times(timed["all"].get(None)),
            "by_type": [
                times_row(
                    r.order_type_id,
                    type_names.get(r.order_type_id, ""),
                    r,
                    timed["type"].get(r.order_type_id),
                    order_type_id=r.order_type_id,
                )
                for r in by_set["type"]
            ],
            "by_technician": [
                times_row(
                    r.assignee_id,
                    tech_names.get(r.assignee_id, ""),
                    r,
                    timed["technician"].get(r.assignee_id),
                    assignee_id=r.assignee_id,
                )
                for r in technicians
            ],
        },
        "sla": {
            "completed": completed,
            "completed_in_time": int(total.in_time),
            "in_time_share": share(int(total.in_time), completed),
            "overdue_now": int(total.overdue_now),
            "escalated": int(total.escalated),
            "overdue_filter": {**base, "overdue": True},
        },
        "satisfaction": {
            **_satisfaction(total),
            "distribution": [{"score": s, "count": scores.get(s, 0)} for s in SCORES],
            "low_filter": {**base, "follow_up": True},
            "by_type": [
                sat_row(
                    r.order_type_id,
                    type_names.get(r.order_type_id, ""),
                    r,
                    order_type_id=r.order_type_id,
                )
                for r in by_set["type"]
                if int(r.rated)
            ],
            "by_technician": [
                sat_row(
                    r.assignee_id, tech_names.get(r.assignee_id, ""), r, assignee_id=r.assignee_id
                )
                for r in technicians
                if int(r.rated)
            ],
            "by_community": [
                sat_row(
                    r.community_id,
                    community_names.get(r.community_id, ""),
                    r,
                    community_id=r.community_id,
                )
                for r in by_set["community"]
                if int(r.rated)
            ],
        },
        "money": _money(figures.ledger, figures.outstanding),
    }


def _cancellations(rows: list[Any]) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: (-int(r.n), r.action, r.reason))
    by_action: dict[str, int] = {}
    for r in rows:
        by_action[r.action] = by_action.get(r.action, 0) + int(r.n)
    return {
        "total": sum(by_action.values()),
        "by_who": [
            {"key": a.value, "label": CANCEL_LABELS[a.value], "count": by_action[a.value]}
            for a in CANCEL_ACTIONS
            if a.value in by_action
        ],
        "reasons": [
            {"who": r.action, "reason": r.reason, "count": int(r.n)} for r in rows[:MAX_REASONS]
        ],
    }


def _money(rows: list[Any], outstanding: int) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    channels: dict[str, dict[str, int]] = {}
    for r in rows:
        fen = int(r.fen)
        kinds[r.kind] = kinds.get(r.kind, 0) + fen
        if r.kind in (L_PAYMENT, L_REFUND):
            by = channels.setdefault(r.channel or "", {"paid_fen": 0, "refunded_fen": 0})
            by["paid_fen" if r.kind == L_PAYMENT else "refunded_fen"] += abs(fen)
    return {
        "charged_fen": kinds.get(L_CHARGE, 0),
        "waived_fen": -kinds.get(L_WAIVE, 0),
        "company_cost_fen": -kinds.get(L_COMPANY, 0),
        "cancelled_fen": -kinds.get(L_CANCEL, 0),
        "paid_fen": -kinds.get(L_PAYMENT, 0),
        "refunded_fen": kinds.get(L_REFUND, 0),
        "outstanding_fen": outstanding,
        "by_channel": [{"channel": ch, **figures} for ch, figures in sorted(channels.items())],
    }
