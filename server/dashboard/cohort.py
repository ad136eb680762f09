"""The orders a dashboard answers for, spelled once in SQL for every statement of the area.

The cohort is the orders of the caller's organisation, in the communities the caller may see
(`visible_communities`, the one place a per-community restriction plugs in), filed in the
range (local dates), narrowed by the optional community / order type / department. Each
statement of the dashboard starts `WITH c AS (<cohort>)` and reads only what it needs.

On-hold time is the SLA's paused time (`sla.clocks.PAUSED`: on hold, awaiting payment), read
from the timeline: every entry into a paused status until the next step out of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal_column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from server.dashboard.models import ESCALATE_SQL, MARKS, PAUSE_STEPS, PAUSED_SQL
from server.dashboard.rules import SOURCE_DESK, SOURCE_STAFF, SOURCE_TENANT, Range
from server.orders.overdue import overdue_clause
from server.roles.grants import community_scope

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def _literal_sql(clause: Any) -> str:
    return str(clause.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


# The one overdue rule (`orders.overdue.overdue_clause`), on `orders` rows, at `:now`.
# (`:now` stands in for the instant: the clause is spelled once, in its home.)
OVERDUE_SQL = _literal_sql(overdue_clause(literal_column(":now")))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Scope:
    """Who asks: their organisation, and the communities they may see (None: all of them)."""

    org_id: int
    community_ids: frozenset[int] | None = None


@dataclass(frozen=True)
class Filters:
    range: Range
    community_id: int | None = None
    order_type_id: int | None = None
    department_id: int | None = None


def visible_communities(session: Session, *, org_id: int, user_id: int) -> Scope:
    """The communities a console user may see: their roles' data scope (None: all of the
    organisation's). Every dashboard statement applies it."""
    del user_id  # the scope is the request's grant (server.roles)
    return Scope(org_id=org_id, community_ids=community_scope(session))


def cohort_sql(scope: Scope, filters: Filters, *, now: datetime) -> tuple[str, dict[str, Any]]:
    """`SELECT …` of the cohort (one row per order) and its bind parameters."""
    where = ["orders.org_id = :org_id", "orders.created_at >= :start", "orders.created_at < :end"]
    params: dict[str, Any] = {
        "org_id": scope.org_id,
        "start": filters.range.start,
        "end": filters.range.end,
        "now": now,
    }
    if scope.community_ids is not None:
        where.append("orders.community_id = ANY(:scope_communities)")
        params["scope_communities"] = sorted(scope.community_ids)
    if filters.community_id is not None:
        where.append("orders.community_id = :community_id")
        params["community_id"] = filters.community_id
    if filters.order_type_id is not None:
        where.append("orders.order_type_id = :order_type_id")
        params["order_type_id"] = filters.order_type_id
    if filters.department_id is not None:
        # The department of the technician holding (or who last held) the order.
        where.append(
            "orders.assignee_id IN (SELECT s.id FROM staff s"
            " WHERE s.org_id = :org_id AND s.department_id = :department_id)"
        )
        params["department_id"] = filters.department_id
    sql = f"""
        SELECT orders.id, orders.status, orders.priority, orders.channel, orders.order_type_id,
               orders.subtype_id, orders.community_id, orders.assignee_id, orders.created_at,
               orders.accepted_at, orders.completed_at, orders.closed_at, orders.due_at,
               orders.reopen_count, orders.rating_score,
               ({OVERDUE_SQL}) AS overdue
        FROM orders
        WHERE {" AND ".join(where)}
    """
    return sql, params


# Paused seconds of each cohort order before it was taken (accepted), completed and closed.
PAUSED_CTE = f"""
    pe AS (
        SELECT e.order_id, e.to_status, e.created_at AS since,
               lead(e.created_at) OVER (PARTITION BY e.order_id ORDER BY e.created_at, e.id)
                   AS until
        FROM order_events e
        WHERE e.org_id = :org_id AND e.created_at >= :start AND {PAUSE_STEPS}
    ),
    p AS (
        SELECT pe.order_id,
               sum(greatest(0, extract(epoch FROM
                   least(coalesce(pe.until, :now), c.accepted_at) - pe.since))) AS before_taken,
               sum(greatest(0, extract(epoch FROM
                   least(coalesce(pe.until, :now), c.completed_at) - pe.since)))
                   AS before_completed,
               sum(greatest(0, extract(epoch FROM
                   least(coalesce(pe.until, :now), c.closed_at) - pe.since))) AS before_closed,
               sum(greatest(0, extract(epoch FROM
                   least(coalesce(pe.until, :now), c.completed_at)
                   - greatest(pe.since, c.accepted_at)))) AS handling
        FROM pe JOIN c ON c.id = pe.order_id
        WHERE pe.to_status IN ({PAUSED_SQL})
        GROUP BY pe.order_id
    )
"""

# Each cohort order with its durations (seconds, on-hold time taken out), source, escalation.
DERIVED_CTE = f"""
    d AS (
        SELECT c.*,
               extract(epoch FROM c.accepted_at - c.created_at) - coalesce(p.before_taken, 0)
                   AS taken_s,
               extract(epoch FROM c.completed_at - c.created_at)
                   - coalesce(p.before_completed, 0) AS completed_s,
               extract(epoch FROM c.closed_at - c.created_at) - coalesce(p.before_closed, 0)
                   AS closed_s,
               extract(epoch FROM c.completed_at - c.accepted_at) - coalesce(p.handling, 0)
                   AS handling_s,
               CASE WHEN c.channel = '{SOURCE_TENANT}' THEN '{SOURCE_TENANT}'
                    WHEN marks.desk_filed THEN '{SOURCE_DESK}'
                    ELSE '{SOURCE_STAFF}' END AS source,
               coalesce(marks.escalated, false) AS escalated
        FROM c
        LEFT JOIN p ON p.order_id = c.id
        LEFT JOIN (
            SELECT f.order_id, bool_or(f.action = {ESCALATE_SQL}) AS escalated,
                   bool_or(f.action <> {ESCALATE_SQL}) AS desk_filed
            FROM order_events f
            WHERE f.org_id = :org_id AND f.created_at >= :start AND ({MARKS})
            GROUP BY f.order_id
        ) AS marks ON marks.order_id = c.id
    )
"""


@contextmanager
def custom_plans(session: Session, *, serial: bool = False) -> Iterator[None]:
    """Plan the dashboard's statements for this range, never with a cached generic plan,
    and without JIT compilation; `serial`: without parallel workers too.

    A statement run often enough on one connection is prepared; a generic plan made for a
    week's range is ruinous for a year's. JIT compiling these statements costs about a second
    (measured by `bench.dashboard`) to save a few milliseconds. Reads of the daily rollup
    (`dashboard.rollup`) touch a few thousand rows: starting parallel workers for them cost
    more than it saved (a month's overview 32 → 20 ms on the bench). The settings are put
    back for the connection's next user (the hot paths want their generic plans).
    """
    # One round trip each way (a dashboard read is a dozen short statements).
    workers = ", set_config('max_parallel_workers_per_gather', '0', false)" if serial else ""
    session.execute(
        text(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', false),"
            f" set_config('jit', 'off', false){workers}"
        )
    )
    try:
        yield
    finally:
        reset = "; RESET max_parallel_workers_per_gather" if serial else ""
        session.execute(text(f"RESET jit; RESET plan_cache_mode{reset}"))
