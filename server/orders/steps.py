"""The other steps of an order: accept, reject, hold, resume, complete, rate, cancel, auto-close."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.orders.actors import Actor
from server.orders.lists import require_tenant_access
from server.orders.models import Order
from server.orders.moves import load_order, move, require_assignee
from server.orders.rules.states import Action, Status
from server.organisation.models import Organisation
from server.uploads.files import attachable_uploads


def accept_order(session: Session, *, actor: Actor, order_id: int, now: datetime) -> Order:
    """The assigned technician takes the job on (跟进)."""
    order = _step_as_assignee(
        session, actor=actor, order_id=order_id, action=Action.ACCEPT, now=now
    )
    order.accepted_at = now
    return order


def reject_order(
    session: Session, *, actor: Actor, order_id: int, reason: str, now: datetime
) -> Order:
    """The assigned technician declines; the order goes back to the pool."""
    order = _step_as_assignee(
        session,
        actor=actor,
        order_id=order_id,
        action=Action.REJECT,
        now=now,
        reason=reason,
        release=True,
    )
    return order


def hold_order(
    session: Session, *, actor: Actor, order_id: int, reason: str, now: datetime
) -> Order:
    """Pause the job, waiting for parts or access (待备件); the technician still holds it."""
    return _step_as_assignee(
        session, actor=actor, order_id=order_id, action=Action.HOLD, now=now, reason=reason
    )


def resume_order(session: Session, *, actor: Actor, order_id: int, now: datetime) -> Order:
    """Carry on with a job that was on hold."""
    return _step_as_assignee(session, actor=actor, order_id=order_id, action=Action.RESUME, now=now)


def complete_order(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    result: str,
    image_ids: list[str],
    now: datetime,
) -> Order:
    """Close the job (办结) with what was done and photos of it."""
    images = attachable_uploads(
        session, org_id=actor.org_id, user_id=actor.user_id, upload_ids=image_ids
    )
    order = _step_as_assignee(
        session,
        actor=actor,
        order_id=order_id,
        action=Action.COMPLETE,
        now=now,
        data={"image_count": len(images)} if images else None,
    )
    order.result = result
    order.completed_at = now
    for upload in images:
        upload.order_id, upload.purpose = order.id, "completion"
    return order


def rate_order(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    score: int,
    comment: str,
    now: datetime,
    follow_up_at_or_below: int = 2,
) -> Order:
    """The tenant rates a completed order, which closes it; a low score asks for 回访."""
    require_tenant_access(session, actor=actor, order_id=order_id, now=now)
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    move(
        session,
        order=order,
        action=Action.RATE,
        actor=actor,
        now=now,
        reason=comment,
        data={"score": score},
    )
    order.rating_score, order.rating_comment, order.rated_at = score, comment, now
    order.closed_at = now
    order.follow_up_required = score <= follow_up_at_or_below
    return order


def cancel_order(
    session: Session, *, actor: Actor, order_id: int, reason: str, now: datetime
) -> Order:
    """Withdraw an order: the tenant before work starts, the desk any time before completion."""
    require_tenant_access(session, actor=actor, order_id=order_id, now=now)
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    action = Action.CANCEL_BY_TENANT if actor.role == "tenant" else Action.CANCEL_BY_DESK
    move(
        session,
        order=order,
        action=action,
        actor=actor,
        now=now,
        reason=reason,
        data={"assignee_id": order.assignee_id},
    )
    order.cancelled_at = now
    return order


def _step_as_assignee(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    action: Action,
    now: datetime,
    reason: str = "",
    release: bool = False,
    data: dict[str, Any] | None = None,
) -> Order:
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    require_assignee(order, actor)
    move(session, order=order, action=action, actor=actor, now=now, reason=reason, data=data)
    if release:
        order.assignee_id = None
        order.assigned_at = order.accepted_at = None
        session.flush()
        session.expire(order, ["assignee"])
    return order


SYSTEM = "system"


def auto_close_completed(session: Session, *, now: datetime, batch: int = 500) -> int:
    """Close orders left unrated past their organisation's window (the rating window).

    Rows are taken with SKIP LOCKED so that a tenant rating the same order at that moment
    wins cleanly and two cron runs never fight over a row.
    """
    due = session.scalars(
        select(Order)
        .join(Organisation, Organisation.id == Order.org_id)
        .where(
            Order.status == Status.COMPLETED.value,
            Order.completed_at < now - Organisation.reopen_window_days * timedelta(days=1),
        )
        .order_by(Order.completed_at)
        .limit(batch)
        .with_for_update(of=Order, skip_locked=True)
    ).all()
    for order in due:
        move(
            session,
            order=order,
            action=Action.AUTO_CLOSE,
            actor=Actor(user_id=0, org_id=order.org_id, role=SYSTEM),
            now=now,
        )
        order.closed_at = now
    session.flush()
    return len(due)
