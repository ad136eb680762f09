"""What the workbench and the dashboard show of complaints and suggestions (plain reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.complaints.deadlines import past_due
from server.complaints.models import Complaint
from server.complaints.rules import OPEN_STATUSES


def open_count(session: Session, *, org_id: int) -> int:
    """The workbench's "complaints open" (待处理投诉建议) figure: not closed yet."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Complaint)
            .where(Complaint.org_id == org_id, Complaint.status.in_(OPEN_STATUSES))
        )
        or 0
    )


def first_open(session: Session, *, org_id: int, limit: int = 10) -> list[Complaint]:
    """The open ones nearest their deadline first, for the workbench's short list."""
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.org_id == org_id, Complaint.status.in_(OPEN_STATUSES))
            .order_by(Complaint.due_at, Complaint.id)
            .limit(limit)
        )
    )


def complaint_figures(
    session: Session,
    *,
    org_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The dashboard's figures for complaints filed in [since, until): the total, counts by
    kind, category (null: not classified yet), severity and status, how many open ones are
    past their deadline at `now`, and the average handling score (null: none rated)."""
    where = [Complaint.org_id == org_id]
    if since is not None:
        where.append(Complaint.created_at >= since)
    if until is not None:
        where.append(Complaint.created_at < until)

    def by(column: Any) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).where(*where).group_by(column))
        return {("unclassified" if key is None else str(key)): int(n) for key, n in rows}

    by_status = by(Complaint.status)
    overdue = 0
    if now is not None:
        overdue = int(
            session.scalar(
                select(func.count())
                .select_from(Complaint)
                .where(*where, Complaint.status.in_(OPEN_STATUSES), past_due(now))
            )
            or 0
        )
    average = session.scalar(select(func.avg(Complaint.rating_score)).where(*where))
    return {
        "total": sum(by_status.values()),
        "by_kind": by(Complaint.kind),
        "by_category": by(Complaint.category),
        "by_severity": by(Complaint.severity),
        "by_status": by_status,
        "overdue": overdue,
        "average_rating": None if average is None else round(float(average), 2),
    }
