"""Moving orders through the state machine, one recorded step at a time.

Each use case loads the order in the caller's organisation, checks who may act, looks the
move up in `domain.order_states`, and records a timeline event. Moves that hand an order to a
technician go through `capacity.reserve_capacity` first, then claim the order with a
conditional UPDATE, so races end with one winner and nobody over their cap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from server.domain.eligibility import is_eligible
from server.domain.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    OrderTaken,
    ReopenWindowPassed,
    ValidationFailed,
)
from server.domain.order_states import HELD, Action, Status, next_status, sources
from server.models.catalog import OrderType
from server.models.order import Order, OrderEvent
from server.models.organisation import Organisation
from server.services.actors import Actor
from server.services.capacity import Technician, reserve_capacity
from server.services.uploads import attachable_uploads


def record_event(
    session: Session,
    *,
    order: Order,
    action: Action,
    from_status: str | None,
    actor: Actor,
    now: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Append one step to the order's timeline."""
    append_event(
        session,
        org_id=order.org_id,
        order_id=order.id,
        action=action,
        from_status=from_status,
        to_status=order.status,
        actor=actor,
        now=now,
        reason=reason,
        data=data,
    )


_INSERT_EVENT = insert(OrderEvent)


def append_event(
    session: Session,
    *,
    org_id: int,
    order_id: int,
    action: Action,
    from_status: str | None,
    to_status: str | None,
    actor: Actor,
    now: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Insert a timeline row (a plain INSERT: nothing reads it back in the same request)."""
    session.execute(
        _INSERT_EVENT,
        {
            "org_id": org_id,
            "order_id": order_id,
            "action": action.value,
            "from_status": from_status,
            "to_status": to_status,
            "actor_user_id": actor.user_id if actor.role != "system" else None,
            "actor_role": actor.role,
            "reason": reason,
            "data": data or {},
            "created_at": now,
        },
    )


def load_order(session: Session, *, org_id: int, order_id: int, lock: bool = False) -> Order:
    """The order with this id in the organisation, read afresh, optionally locked."""
    stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update(of=Order.__table__)
    order = session.scalar(stmt)
    if order is None or order.org_id != org_id:
        raise NotFound("工单不存在")
    return order


def technician_may_take(session: Session, *, tech: Technician, order: Order) -> bool:
    """Whether the order's type is bound to this technician's department and post."""
    order_type = session.get(OrderType, order.order_type_id)
    assert order_type is not None
    return is_eligible(
        type_department_id=order_type.department_id,
        type_post_id=order_type.post_id,
        staff_department_id=tech.department_id,
        staff_post_id=tech.post_id,
    )


def eligible_type_clause(tech: Technician) -> Any:
    """SQL form of domain.eligibility for this technician, on `orders.order_type_id`."""
    return exists().where(
        OrderType.id == Order.order_type_id,
        or_(OrderType.department_id.is_(None), OrderType.department_id == tech.department_id),
        or_(OrderType.post_id.is_(None), OrderType.post_id == tech.post_id),
    )


# The grab claim, built once: still pending, of a type bound to the technician, in the org.
_GRAB_CLAIM = (
    update(Order)
    .where(
        Order.id == bindparam("claim_order_id"),
        Order.org_id == bindparam("claim_org_id"),
        Order.status == Status.PENDING.value,
        exists().where(
            OrderType.id == Order.order_type_id,
            or_(
                OrderType.department_id.is_(None),
                OrderType.department_id == bindparam("tech_department_id", type_=BigInteger),
            ),
            or_(
                OrderType.post_id.is_(None),
                OrderType.post_id == bindparam("tech_post_id", type_=BigInteger),
            ),
        ),
    )
    .values(
        status=next_status(Status.PENDING, Action.GRAB).value,
        assignee_id=bindparam("new_assignee_id"),
        assigned_at=bindparam("at"),
        accepted_at=bindparam("at"),
        updated_at=bindparam("at"),
    )
    .returning(Order.id)
)


def _claim(
    session: Session,
    *,
    order: Order,
    action: Action,
    staff_id: int,
    now: datetime,
    extra_where: Any = None,
) -> str:
    """Conditionally move the order to `staff_id`; return the status it was in.

    The WHERE re-checks the status under the row lock, so of two racing claims only the first
    to commit matches; the other sees zero rows.
    """
    target = next_status(Status(order.status), action)
    allowed = [s.value for s in sources(action)]
    values: dict[str, Any] = {
        "status": target.value,
        "assignee_id": staff_id,
        "assigned_at": now,
        "updated_at": now,
    }
    if target is Status.IN_PROGRESS:
        values["accepted_at"] = now
    stmt = (
        update(Order)
        .where(Order.id == order.id, Order.status.in_(allowed))
        .values(**values)
        .returning(Order.status)
    )
    if extra_where is not None:
        stmt = stmt.where(extra_where)
    before = order.status
    claimed = session.execute(stmt).first()
    if claimed is None:
        # Lost a race: someone else's claim committed first.
        session.refresh(order)
        if order.status in {s.value for s in HELD}:
            raise OrderTaken()
        raise InvalidTransition()
    session.refresh(order)
    return before


def grab_order(session: Session, *, actor: Actor, order_id: int, now: datetime) -> int:
    """A technician takes a pending order from the pool (抢单); returns the order id.

    The hot path of the product: a handful of statements, no ORM loading. The technician's
    lock and count come first (capacity), then one conditional UPDATE both checks that the
    order is still pending and of a type bound to them, and claims it.
    """
    assert actor.staff_id is not None
    tech = reserve_capacity(session, org_id=actor.org_id, staff_id=actor.staff_id, field="staff_id")
    claimed = session.execute(
        _GRAB_CLAIM,
        {
            "claim_order_id": order_id,
            "claim_org_id": actor.org_id,
            "tech_department_id": tech.department_id,
            "tech_post_id": tech.post_id,
            "new_assignee_id": tech.staff_id,
            "at": now,
        },
    ).first()
    if claimed is None:
        _explain_failed_grab(session, tech=tech, org_id=actor.org_id, order_id=order_id)
    append_event(
        session,
        org_id=actor.org_id,
        order_id=order_id,
        action=Action.GRAB,
        from_status=Status.PENDING.value,
        to_status=Status.IN_PROGRESS.value,
        actor=actor,
        now=now,
        data={"assignee_id": tech.staff_id},
    )
    return order_id


def _explain_failed_grab(session: Session, *, tech: Technician, org_id: int, order_id: int) -> None:
    """Turn a grab that matched no row into the right answer (only on the failure path)."""
    row = session.execute(
        select(Order.status, eligible_type_clause(tech)).where(
            Order.id == order_id, Order.org_id == org_id
        )
    ).first()
    if row is None:
        raise NotFound("工单不存在")
    status, eligible = row
    if not eligible:
        raise Forbidden("该工单类型不在您的接单范围内")
    if status in {s.value for s in HELD} or status in {Status.COMPLETED.value, Status.CLOSED.value}:
        raise OrderTaken()
    raise InvalidTransition()


def assign_order(
    session: Session, *, actor: Actor, order_id: int, staff_id: int, now: datetime
) -> Order:
    """The desk assigns (派单) a pending order, or re-assigns one nobody accepted yet."""
    tech = reserve_capacity(session, org_id=actor.org_id, staff_id=staff_id, field="staff_id")
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    if order.assignee_id == tech.staff_id and order.status == Status.ASSIGNED.value:
        raise Conflict("工单已指派给该师傅")
    if not technician_may_take(session, tech=tech, order=order):
        raise ValidationFailed.field("staff_id", "该师傅不负责此类工单")
    next_status(Status(order.status), Action.ASSIGN)
    previous = order.assignee_id
    before = _claim(session, order=order, action=Action.ASSIGN, staff_id=tech.staff_id, now=now)
    order.accepted_at = None
    record_event(
        session,
        order=order,
        action=Action.ASSIGN,
        from_status=before,
        actor=actor,
        now=now,
        data={"assignee_id": tech.staff_id, "previous_assignee_id": previous},
    )
    return order


def transfer_order(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    staff_id: int,
    reason: str,
    now: datetime,
) -> Order:
    """The holding technician hands the order to another eligible technician (转单)."""
    if staff_id == actor.staff_id:
        raise ValidationFailed.field("staff_id", "不能转给自己")
    tech = reserve_capacity(session, org_id=actor.org_id, staff_id=staff_id, field="staff_id")
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    _require_assignee(order, actor)
    if not technician_may_take(session, tech=tech, order=order):
        raise ValidationFailed.field("staff_id", "该师傅不负责此类工单")
    next_status(Status(order.status), Action.TRANSFER)
    before = _claim(
        session,
        order=order,
        action=Action.TRANSFER,
        staff_id=tech.staff_id,
        now=now,
        extra_where=Order.assignee_id == actor.staff_id,
    )
    order.accepted_at = None
    record_event(
        session,
        order=order,
        action=Action.TRANSFER,
        from_status=before,
        actor=actor,
        now=now,
        reason=reason,
        data={"assignee_id": tech.staff_id, "previous_assignee_id": actor.staff_id},
    )
    return order


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
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    _move(
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


def reopen_order(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    reason: str,
    now: datetime,
    to_same_technician: bool = False,
) -> Order:
    """Reopen (重新打开) a completed or closed order within the organisation's window."""
    organisation = session.get(Organisation, actor.org_id)
    assert organisation is not None
    order = load_order(session, org_id=actor.org_id, order_id=order_id)
    action = Action.REOPEN_TO_ASSIGNEE if to_same_technician else Action.REOPEN
    next_status(Status(order.status), action)
    if order.completed_at is None or now > order.completed_at + timedelta(
        days=organisation.reopen_window_days
    ):
        raise ReopenWindowPassed(f"办结超过 {organisation.reopen_window_days} 天的工单不能重新打开")
    previous = order.assignee_id
    if to_same_technician:
        if previous is None:
            raise ValidationFailed.field("to_same_technician", "该工单没有原处理师傅")
        # The technician gets the order again: the cap applies as for any hand-out.
        reserve_capacity(
            session, org_id=actor.org_id, staff_id=previous, field="to_same_technician"
        )
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    _move(
        session,
        order=order,
        action=action,
        actor=actor,
        now=now,
        reason=reason,
        data={"reopen_count": order.reopen_count + 1, "previous_assignee_id": previous},
    )
    if not to_same_technician:
        order.assignee_id = None
    order.assigned_at = now if to_same_technician else None
    order.accepted_at = order.completed_at = order.closed_at = order.rated_at = None
    order.rating_score, order.rating_comment, order.follow_up_required = None, "", False
    order.reopen_count += 1
    session.flush()
    session.expire(order, ["assignee"])
    return order


def cancel_order(
    session: Session, *, actor: Actor, order_id: int, reason: str, now: datetime
) -> Order:
    """Withdraw an order: the tenant before work starts, the desk any time before completion."""
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    action = Action.CANCEL_BY_TENANT if actor.role == "tenant" else Action.CANCEL_BY_DESK
    _move(
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


def _move(
    session: Session,
    *,
    order: Order,
    action: Action,
    actor: Actor,
    now: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> str:
    """Apply `action` as the state machine says and record it; returns the status it left."""
    before = order.status
    order.status = next_status(Status(before), action).value
    order.updated_at = now
    record_event(
        session,
        order=order,
        action=action,
        from_status=before,
        actor=actor,
        now=now,
        reason=reason,
        data=data,
    )
    return before


def _require_assignee(order: Order, actor: Actor) -> None:
    # Someone else's order is as good as invisible to a technician: 404, as on reads.
    if order.assignee_id is None or order.assignee_id != actor.staff_id:
        raise NotFound("工单不存在或不在您名下")


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
    _require_assignee(order, actor)
    _move(session, order=order, action=action, actor=actor, now=now, reason=reason, data=data)
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
        _move(
            session,
            order=order,
            action=Action.AUTO_CLOSE,
            actor=Actor(user_id=0, org_id=order.org_id, role=SYSTEM),
            now=now,
        )
        order.closed_at = now
    session.flush()
    return len(due)
