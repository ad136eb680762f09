"""The other steps of an order: accept, reject, hold, resume, complete, rate, cancel, auto-close."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.booking.places import move_place, release_place
from server.charges.fees import settle_order
from server.charges.order_charges import void_materials
from server.kernel.clock import local_date
from server.kernel.errors import InvalidTransition, PaymentRequired
from server.kernel.roles import CONSOLE_ROLES
from server.orders.actors import Actor
from server.orders.lists import require_tenant_access
from server.orders.models import Order
from server.orders.moves import load_order, move, require_assignee
from server.orders.rules.states import Action, Status, next_status
from server.organisation.models import Organisation
from server.uploads.files import attachable_uploads
from server.visits import triggers as visit_triggers

DESK_ROLES = frozenset(role.value for role in CONSOLE_ROLES)


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
    settle_order(session, order=order, now=now)
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
) -> Order:
    """The tenant rates a completed order, which closes it; a low score (the organisation's
    return-visit line) asks for 回访."""
    require_tenant_access(session, actor=actor, order_id=order_id, now=now)
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    if order.status == Status.COMPLETED.value and order.payable_fen > 0:
        # Pay first, then rate: the rating closes the order (归档).
        raise PaymentRequired("请先支付尾款再评价")
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
    order.follow_up_required = visit_triggers.is_low(session, org_id=order.org_id, score=score)
    visit_triggers.order_rated(session, order=order, score=score, now=now)
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
    _free_slot(session, order)
    void_materials(
        session, org_id=order.org_id, order_id=order.id, actor_user_id=actor.user_id, now=now
    )
    settle_order(session, order=order, now=now)  # nothing owed: what was paid is due back
    return order


def _free_slot(session: Session, order: Order) -> None:
    """A cancelled order gives its booked place back (the order keeps the record of it)."""
    if order.slot_start is not None:
        release_place(
            session,
            subtype_id=order.subtype_id,
            community_id=order.community_id,
            start=order.slot_start,
        )


# Before work starts: what a tenant may still re-book (the desk may while the order is open).
TENANT_RESCHEDULABLE = frozenset(
    {Status.AWAITING_PAYMENT.value, Status.PENDING.value, Status.ASSIGNED.value}
)


def reschedule_order(
    session: Session, *, actor: Actor, order_id: int, slot_start: datetime, now: datetime
) -> Order:
    """改约: move the order's booked place to another slot, atomically (or change nothing)."""
    require_tenant_access(session, actor=actor, order_id=order_id, now=now)
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    if actor.role == "tenant" and order.status not in TENANT_RESCHEDULABLE:
        raise InvalidTransition("师傅已开始处理，如需改约请联系物业")
    next_status(Status(order.status), Action.RESCHEDULE)  # refuses a finished order first
    if order.slot_start is None:
        raise InvalidTransition("该工单没有预约时段")
    before = order.slot_start
    place = move_place(
        session,
        org_id=order.org_id,
        subtype_id=order.subtype_id,
        community_id=order.community_id,
        old_start=before,
        new_start=slot_start,
        desk=actor.role in DESK_ROLES,
        now=now,
    )
    if place.start == before:
        return order
    move(
        session,
        order=order,
        action=Action.RESCHEDULE,
        actor=actor,
        now=now,
        data={"from_slot": before.isoformat(), "to_slot": place.start.isoformat()},
    )
    order.slot_start, order.slot_end = place.start, place.end
    order.slot_date = local_date(place.start)
    return order


def expire_hold(session: Session, *, order: Order, now: datetime, reason: str) -> None:
    """Cancel a booked order left unpaid past its hold and free its place (the system acts)."""
    move(
        session,
        order=order,
        action=Action.HOLD_EXPIRED,
        actor=Actor(user_id=0, org_id=order.org_id, role=SYSTEM),
        now=now,
        reason=reason,
    )
    order.cancelled_at = now
    _free_slot(session, order)
    settle_order(session, order=order, now=now)  # nothing owed: what was paid is due back


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
        visit_triggers.order_closed(session, order=order, now=now)
    session.flush()
    return len(due)
