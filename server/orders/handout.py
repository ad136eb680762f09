"""Handing an order to a technician: grab (抢单), assign (派单), transfer (转单), reopen.

Every hand-out goes through `capacity.reserve_capacity` first (lock the technician, count
what they hold), then claims the order with a conditional UPDATE, so races end with one
winner and nobody over their cap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, select, update
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.catalog.models import OrderType
from server.db.session import core
from server.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    OrderTaken,
    ReopenWindowPassed,
    ValidationFailed,
)
from server.kernel.permissions import Permission
from server.orders.actors import Actor
from server.orders.capacity import Technician, reserve_capacity
from server.orders.eligibility import order_eligible, type_reaches
from server.orders.lists import require_tenant_access
from server.orders.models import Order
from server.orders.moves import append_event, load_order, move, record_event, require_assignee
from server.orders.rules.states import HELD_VALUES, Action, Status, next_status, sources
from server.organisation.models import Organisation
from server.roles.grants import require
from server.visits import triggers as visit_triggers

# Accepted and being worked on: only an explicit take-back (改派) moves these.
UNDER_WAY_VALUES = frozenset({Status.IN_PROGRESS.value, Status.ON_HOLD.value})


def technician_may_take(session: Session, *, tech: Technician, order: Order) -> bool:
    """Whether the order's type is bound to this technician's department and post."""
    order_type = session.get(OrderType, order.order_type_id)
    assert order_type is not None
    return type_reaches(order_type, department_id=tech.department_id, post_id=tech.post_id)


def eligible_type_clause(tech: Technician) -> Any:
    """SQL form of `rules.eligibility` for this technician, on `orders.order_type_id`."""
    return order_eligible(tech.department_id, tech.post_id)


# The grab claim, built once: still pending, of a type bound to the technician, in the org.
_GRAB_CLAIM = (
    update(Order)
    .where(
        Order.id == bindparam("claim_order_id"),
        Order.org_id == bindparam("claim_org_id"),
        Order.status == Status.PENDING.value,
        order_eligible(
            bindparam("tech_department_id", type_=BigInteger),
            bindparam("tech_post_id", type_=BigInteger),
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
        if order.status in HELD_VALUES:
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
    tech = reserve_capacity(session, org_id=actor.org_id, staff_id=actor.staff_id, field=None)
    claimed = (
        core(session)
        .execute(
            _GRAB_CLAIM,
            {
                "claim_order_id": order_id,
                "claim_org_id": actor.org_id,
                "tech_department_id": tech.department_id,
                "tech_post_id": tech.post_id,
                "new_assignee_id": tech.staff_id,
                "at": now,
            },
        )
        .first()
    )
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
        select(Order.status, eligible_type_clause(tech).label("eligible")).where(
            Order.id == order_id, Order.org_id == org_id
        )
    ).first()
    if row is None:
        raise NotFound("工单不存在")
    status = row.status
    if not row.eligible:
        raise Forbidden("该工单类型不在您的接单范围内")
    if status in HELD_VALUES or status in {Status.COMPLETED.value, Status.CLOSED.value}:
        raise OrderTaken()
    raise InvalidTransition()


def assign_order(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    staff_id: int,
    now: datetime,
    take_back: bool = False,
) -> Order:
    """The desk assigns (派单) a pending order, or re-assigns (改派) one somebody holds.

    Taking a job back from its technician is the desk's answer to a technician who left, fell
    ill or stalls; the new technician must accept it again. It must be asked for (`take_back`):
    a plain assign that loses the race to a grab answers order_taken instead of silently taking
    the job from the technician who just grabbed it.
    """
    require(session, Permission.DISPATCH_ACT)
    tech = reserve_capacity(session, org_id=actor.org_id, staff_id=staff_id, field="staff_id")
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    if order.status in UNDER_WAY_VALUES and not take_back:
        raise OrderTaken()
    if order.assignee_id == tech.staff_id and order.status in HELD_VALUES:
        raise Conflict("工单已在该师傅手上")
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
    audit_log.record(
        session,
        org_id=actor.org_id,
        at=now,
        kind="order_assigned",
        summary=f"工单 {order.number} "
        + (
            f"改派给员工 #{tech.staff_id}（原员工 #{previous}）"
            if previous
            else f"派给员工 #{tech.staff_id}"
        ),
        actor_user_id=actor.user_id,
        target_type="order",
        target_id=order.id,
        data={
            "assignee_id": tech.staff_id,
            "previous_assignee_id": previous,
            "take_back": take_back,
        },
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
    require_assignee(order, actor)
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
    audit_log.record(
        session,
        org_id=actor.org_id,
        at=now,
        kind="order_transferred",
        summary=(
            f"工单 {order.number} 由员工 #{actor.staff_id} 转给员工 #{tech.staff_id}，"
            f"原因：{reason}"
        ),
        actor_user_id=actor.user_id,
        target_type="order",
        target_id=order.id,
        data={
            "assignee_id": tech.staff_id,
            "previous_assignee_id": actor.staff_id,
            "reason": reason,
        },
    )
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
    require_tenant_access(session, actor=actor, order_id=order_id, now=now)
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
    move(
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
    visit_triggers.order_reopened(session, order=order, now=now)
    session.expire(order, ["assignee"])
    return order
