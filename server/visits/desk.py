"""The desk's return visits (回访): the list, one visit, and recording the call once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db.pagination import Page, paginate
from server.db.scoping import get_owned
from server.kernel.errors import InvalidTransition, ValidationFailed
from server.orders.actors import Actor
from server.orders.handout import reopen_order
from server.orders.moves import Action, load_order, move
from server.visits.models import ReturnVisit
from server.visits.rules import DONE, DUE, REASON_LABELS, check_outcome

NOT_FOUND = "回访任务不存在"
# The timeline's reason column holds 500 characters.
TIMELINE_NOTES = 500
# Statuses the state machine allows a `return_visit` step from (it keeps the status).


def list_visits(
    session: Session,
    *,
    org_id: int,
    status: str | None,
    order_id: int | None = None,
    page: int,
    page_size: int,
) -> Page[ReturnVisit]:
    """Visits of the organisation: due ones oldest first (a queue), done ones newest first."""
    stmt = select(ReturnVisit).where(ReturnVisit.org_id == org_id)
    if status is not None:
        stmt = stmt.where(ReturnVisit.status == status)
    if order_id is not None:
        stmt = stmt.where(ReturnVisit.order_id == order_id)
    if status == DUE:
        stmt = stmt.order_by(ReturnVisit.created_at, ReturnVisit.id)
    else:
        stmt = stmt.order_by(ReturnVisit.created_at.desc(), ReturnVisit.id.desc())
    return paginate(session, stmt, page=page, page_size=page_size)


def get_visit(session: Session, *, org_id: int, visit_id: int) -> ReturnVisit:
    """One visit of the organisation (404 otherwise)."""
    return get_owned(session, ReturnVisit, visit_id, org_id=org_id, message=NOT_FOUND)


def record_outcome(
    session: Session,
    *,
    actor: Actor,
    visit_id: int,
    reached: bool,
    satisfied: bool | None,
    notes: str,
    reopen: bool,
    now: datetime,
) -> ReturnVisit:
    """Record the call once: a conditional UPDATE on the due visit, so of two desk users
    closing it at once one outcome is kept and the other is told (409 invalid_transition).

    Not satisfied may reopen the order, through the orders' own reopen (window, caps, state
    machine); if that is refused, nothing is recorded.
    """
    errors = check_outcome(reached=reached, satisfied=satisfied, reopen=reopen)
    if errors:
        raise ValidationFailed(errors={field: [message] for field, message in errors.items()})
    visit = get_visit(session, org_id=actor.org_id, visit_id=visit_id)
    done = session.execute(
        update(ReturnVisit)
        .where(
            ReturnVisit.id == visit.id,
            ReturnVisit.org_id == actor.org_id,
            ReturnVisit.status == DUE,
        )
        .values(
            status=DONE,
            reached=reached,
            satisfied=satisfied,
            notes=notes,
            reopened=reopen,
            visited_by_user_id=actor.user_id,
            visited_at=now,
        )
        .returning(ReturnVisit.id)
        .execution_options(synchronize_session=False)
    ).first()
    if done is None:
        raise InvalidTransition("该回访已记录结果")
    _on_timeline(
        session,
        actor=actor,
        visit=visit,
        now=now,
        data=_timeline_data(visit, reached, satisfied, reopen),
    )
    if reopen:
        reopen_order(
            session,
            actor=actor,
            order_id=visit.order_id,
            reason=f"回访不满意：{notes}"[:TIMELINE_NOTES] if notes else "回访不满意",
            now=now,
        )
    session.refresh(visit)
    return visit


def _timeline_data(
    visit: ReturnVisit, reached: bool, satisfied: bool | None, reopen: bool
) -> dict[str, Any]:
    return {
        "visit_id": visit.id,
        "visit_reason": visit.reason,
        "reached": reached,
        "satisfied": satisfied,
        "reopen": reopen,
    }


def _on_timeline(
    session: Session, *, actor: Actor, visit: ReturnVisit, now: datetime, data: dict[str, Any]
) -> None:
    """The call on the order's timeline (`return_visit`, the status stays as it is)."""
    order = load_order(session, org_id=actor.org_id, order_id=visit.order_id, lock=True)
    reason = (visit.notes or REASON_LABELS[visit.reason])[:TIMELINE_NOTES]
    move(
        session,
        order=order,
        action=Action.RETURN_VISIT,
        actor=actor,
        now=now,
        reason=reason,
        data=data,
    )
