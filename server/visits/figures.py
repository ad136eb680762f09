"""What the workbench and the dashboard show of return visits (plain reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.visits.models import ReturnVisit
from server.visits.rules import DONE, DUE, satisfaction_percent


def due_count(session: Session, *, org_id: int) -> int:
    """The workbench's "return visits due" (待回访) figure."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ReturnVisit)
            .where(ReturnVisit.org_id == org_id, ReturnVisit.status == DUE)
        )
        or 0
    )


def due_orders(*, org_id: int) -> Select[Any]:
    """The ids of orders with a return visit due: the workbench's 待回访 queue reads its orders
    through it (the partial unique index on due visits serves it)."""
    return select(ReturnVisit.order_id).where(
        ReturnVisit.org_id == org_id, ReturnVisit.status == DUE
    )


def first_due(session: Session, *, org_id: int, limit: int = 10) -> list[ReturnVisit]:
    """The oldest due visits, for the workbench's short list (each with its order)."""
    return list(
        session.scalars(
            select(ReturnVisit)
            .where(ReturnVisit.org_id == org_id, ReturnVisit.status == DUE)
            .order_by(ReturnVisit.created_at, ReturnVisit.id)
            .limit(limit)
        )
    )


def visit_figures(
    session: Session, *, org_id: int, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """The dashboard's figures: visits done in [since, until) (by when they were made), how
    many reached the tenant, how many satisfied, satisfaction after visit (% of reached), by
    reason; and how many are due now."""
    done = select(
        func.count().label("done"),
        func.count().filter(ReturnVisit.reached.is_(True)).label("reached"),
        func.count().filter(ReturnVisit.satisfied.is_(True)).label("satisfied"),
        func.count().filter(ReturnVisit.reopened.is_(True)).label("reopened"),
    ).where(ReturnVisit.org_id == org_id, ReturnVisit.status == DONE)
    if since is not None:
        done = done.where(ReturnVisit.visited_at >= since)
    if until is not None:
        done = done.where(ReturnVisit.visited_at < until)
    row = session.execute(done).one()
    by_reason = {
        reason: int(n)
        for reason, n in session.execute(
            done.with_only_columns(ReturnVisit.reason, func.count()).group_by(ReturnVisit.reason)
        )
    }
    return {
        "done": int(row.done),
        "reached": int(row.reached),
        "satisfied": int(row.satisfied),
        "reopened": int(row.reopened),
        "satisfaction_percent": satisfaction_percent(
            satisfied=int(row.satisfied), reached=int(row.reached)
        ),
        "done_by_reason": by_reason,
        "due": due_count(session, org_id=org_id),
    }
