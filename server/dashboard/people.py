"""The dashboard per technician and per department.

Per technician: of the cohort orders they hold (or last held): completed, average handling
time (accepted → completed, on-hold time taken out), reopen rate (reopened among those
completed at least once), average rating; the revenue of the charge lines they added to
cohort orders (labour / materials / service items, fen); and what they hold now against
their grab cap (all their orders, not only the cohort's). A department sums its technicians
(by their department now); technicians of no department are summed under `key` null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.dashboard.cohort import (
    DERIVED_CTE,
    PAUSED_CTE,
    Filters,
    Scope,
    cohort_sql,
    custom_plans,
)
from server.dashboard.overview import base_filter
from server.dashboard.rollup import sources
from server.dashboard.rules import mean, share
from server.kernel.values import CHARGE_KINDS, CHARGE_LABOR, CHARGE_MATERIAL, CHARGE_SERVICE
from server.orders.capacity import cap_column, held_column
from server.organisation.models import Organisation
from server.staff.models import Department, Staff
from server.staff.technicians import active_technician

_PER_TECHNICIAN = """
    SELECT assignee_id,
           count(*) AS orders,
           count(*) FILTER (WHERE completed_at IS NOT NULL) AS completed,
           count(*) FILTER (WHERE completed_at IS NOT NULL OR reopen_count > 0) AS finished,
           count(*) FILTER (WHERE reopen_count > 0) AS reopened,
           count(handling_s) AS handling_n, coalesce(sum(handling_s), 0) AS handling_sum,
           count(rating_score) AS rated, coalesce(sum(rating_score), 0) AS rating_sum
    FROM d
    WHERE assignee_id IS NOT NULL
    GROUP BY assignee_id
"""

_REVENUE = """
    SELECT oc.staff_id, oc.kind, sum(oc.amount_fen) AS fen
    FROM order_charges oc JOIN c ON c.id = oc.order_id
    WHERE oc.org_id = :org_id AND oc.created_at >= :start
    GROUP BY oc.staff_id, oc.kind
"""

_REVENUE_KEYS = {
    CHARGE_LABOR: "labor_fen",
    CHARGE_MATERIAL: "material_fen",
    CHARGE_SERVICE: "service_fen",
}
_SUMMED = (
    "orders",
    "completed",
    "finished",
    "reopened",
    "handling_n",
    "handling_sum",
    "rated",
    "rating_sum",
    "held",
    "cap",
    *_REVENUE_KEYS.values(),
)


def _figures(raw: dict[str, Any]) -> dict[str, Any]:
    revenue = sum(int(raw[k]) for k in _REVENUE_KEYS.values())
    return {
        "orders": int(raw["orders"]),
        "completed": int(raw["completed"]),
        "held_now": int(raw["held"]),
        "cap": int(raw["cap"]),
        "mean_handling_seconds": _round(mean(float(raw["handling_sum"]), int(raw["handling_n"]))),
        "reopened": int(raw["reopened"]),
        "reopen_rate": share(int(raw["reopened"]), int(raw["finished"])),
        "rated": int(raw["rated"]),
        "average_rating": mean(float(raw["rating_sum"]), int(raw["rated"])),
        **{k: int(raw[k]) for k in _REVENUE_KEYS.values()},
        "revenue_fen": revenue,
    }


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


def _raw_rows(
    session: Session, *, scope: Scope, filters: Filters, now: datetime
) -> list[dict[str, Any]]:
    with custom_plans(session, serial=filters.department_id is None):
        if filters.department_id is not None:
            per, revenue = _live(session, scope=scope, filters=filters, now=now)
        else:
            per, revenue = _rolled(session, scope=scope, filters=filters, now=now)
    organisation = session.get(Organisation, scope.org_id)
    default_cap = organisation.default_grab_cap if organisation is not None else 0
    known = sorted({*per, *revenue})
    staff_rows = session.execute(
        select(
            Staff.id,
            User.name,
            Staff.department_id,
            held_column().label("held"),
            cap_column(organisation_default=default_cap).label("cap"),
        )
        .join(User, User.id == Staff.user_id)
        .where(Staff.org_id == scope.org_id, or_(active_technician(), Staff.id.in_(known)))
        .order_by(Staff.id)
    ).all()
    department_names: dict[int | None, str] = {
        d_id: name
        for d_id, name in session.execute(
            select(Department.id, Department.name).where(Department.org_id == scope.org_id)
        ).all()
    }
    rows = []
    for s in staff_rows:
        if filters.department_id is not None and s.department_id != filters.department_id:
            continue
        agg = per.get(s.id)
        raw: dict[str, Any] = {k: 0 for k in _SUMMED}
        if agg is not None:
            raw.update({k: getattr(agg, k) for k in _SUMMED if hasattr(agg, k)})
        raw.update(revenue.get(s.id, {}))
        raw.update(held=s.held, cap=s.cap)
        rows.append(
            {
                "id": s.id,
                "name": s.name,
                "department_id": s.department_id,
                "department_name": department_names.get(s.department_id, ""),
                "raw": raw,
            }
        )
    return rows


def _live(
    session: Session, *, scope: Scope, filters: Filters, now: datetime
) -> tuple[dict[int, Any], dict[int, dict[str, int]]]:
    """Per technician figures and revenue from the orders alone (the department filter)."""
    cohort, params = cohort_sql(scope, filters, now=now)
    head = f"WITH c AS MATERIALIZED ({cohort}), {PAUSED_CTE}, {DERIVED_CTE}"
    per = {r.assignee_id: r for r in session.execute(text(head + _PER_TECHNICIAN), params)}
    revenue: dict[int, dict[str, int]] = {}
    for r in session.execute(text(f"WITH c AS ({cohort}) {_REVENUE}"), params):
        if r.kind in CHARGE_KINDS:
            revenue.setdefault(r.staff_id, {})[_REVENUE_KEYS[r.kind]] = int(r.fen)
    return per, revenue


# From the rollup: the 'technician' set's day rows, and the charge lines by staff and kind.
_ROLLED = """
    SELECT 1 AS part, key::bigint AS staff_id, NULL AS kind,
           sum(filed) AS orders, sum(completed) AS completed, sum(finished) AS finished,
           sum(reopened) AS reopened, sum(handling_n) AS handling_n,
           sum(handling_sum) AS handling_sum, sum(rated) AS rated,
           sum(rating_sum) AS rating_sum, NULL AS fen
    FROM {days} AS u
    WHERE kind = 'technician'
    GROUP BY key
    UNION ALL
    SELECT 2, staff_id, kind, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, sum(fen)
    FROM {money} AS u
    WHERE book = 'charge'
    GROUP BY staff_id, kind
"""


def _rolled(
    session: Session, *, scope: Scope, filters: Filters, now: datetime
) -> tuple[dict[int, Any], dict[int, dict[str, int]]]:
    src = sources(session, scope=scope, filters=filters, now=now)
    sql = src.head + _ROLLED.format(
        days=src.of("dashboard_days"), money=src.of("dashboard_money_days")
    )
    per: dict[int, Any] = {}
    revenue: dict[int, dict[str, int]] = {}
    for r in session.execute(text(sql), src.params):
        if r.part == 1:
            per[int(r.staff_id)] = r
        elif r.kind in CHARGE_KINDS:
            revenue.setdefault(r.staff_id, {})[_REVENUE_KEYS[r.kind]] = int(r.fen)
    return per, revenue


def technicians(
    session: Session, *, scope: Scope, filters: Filters, now: datetime
) -> list[dict[str, Any]]:
    """One row per technician (active ones, and anyone holding or charging cohort orders)."""
    base = base_filter(filters)
    return [
        {
            "key": str(r["id"]),
            "label": r["name"],
            "department_key": None if r["department_id"] is None else str(r["department_id"]),
            "department_label": r["department_name"] or "",
            **_figures(r["raw"]),
            "filter": {**base, "assignee_id": r["id"]},
        }
        for r in _raw_rows(session, scope=scope, filters=filters, now=now)
    ]


def departments(
    session: Session, *, scope: Scope, filters: Filters, now: datetime
) -> list[dict[str, Any]]:
    """One row per department with technicians: their figures summed."""
    sums: dict[int | None, dict[str, Any]] = {}
    for r in _raw_rows(session, scope=scope, filters=filters, now=now):
        group = sums.setdefault(
            r["department_id"],
            {
                "label": r["department_name"] or "未分配部门",
                "technicians": 0,
                **{k: 0 for k in _SUMMED},
            },
        )
        group["technicians"] += 1
        for k in _SUMMED:
            group[k] += int(r["raw"][k])
    return [
        {
            "key": None if dept is None else str(dept),
            "label": group["label"],
            "technicians": group["technicians"],
            **_figures(group),
            "filter": base_filter(filters),
        }
        for dept, group in sorted(sums.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]
