"""One helper applies a state-machine move and records it on the order's timeline.

Every step of every use case goes through `move` (or, for the hand-outs that claim with a
conditional UPDATE, `record_event`), so the timeline is complete by construction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from server.db.scoping import get_owned
from server.db.session import core, record_domain_event
from server.kernel.errors import (
    InvalidTransition,
    NotFound,
)
from server.orders.actors import Actor
from server.orders.models import Order, OrderEvent
from server.orders.rules.states import HELD, LABELS, next_status

# Re-exported: the moves other areas make are named here (the rules stay private).
from server.orders.rules.states import Action as Action
from server.orders.rules.states import Status as Status
from server.sla import clocks as sla_clocks


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
    """Append one step to the order's timeline (and keep its SLA clock in step)."""
    if from_status != order.status:
        sla_clocks.on_event(session, order=order, before=from_status, now=now)
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


_INSERT_EVENT = insert(cast(Table, OrderEvent.__table__))


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
    core(session).execute(
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
    # Listeners (notifications) act on it before the commit, in the same transaction.
    record_domain_event(
        session,
        "order_event",
        org_id=org_id,
        order_id=order_id,
        action=action.value,
        from_status=from_status,
        actor_user_id=actor.user_id,
        actor_role=actor.role,
        reason=reason,
        data=dict(data or {}),
        now=now,
    )


def load_order(session: Session, *, org_id: int, order_id: int, lock: bool = False) -> Order:
    """The order with this id in the organisation, read afresh, optionally locked."""
    return get_owned(
        session,
        Order,
        order_id,
        org_id=org_id,
        message="工单不存在",
        for_update=lock,
        populate_existing=True,
    )


def move(
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


def require_assignee(order: Order, actor: Actor) -> None:
    # Someone else's order is as good as invisible to a technician: 404, as on reads.
    if order.assignee_id is None or order.assignee_id != actor.staff_id:
        raise NotFound("工单不存在或不在您名下")


def load_held_order(session: Session, *, actor: Actor, order_id: int) -> Order:
    """The order the acting technician holds, locked, before completion (else 404 / 409)."""
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    require_assignee(order, actor)
    status = Status(order.status)
    if status not in HELD:
        raise InvalidTransition(f"工单当前状态（{LABELS[status]}）不能修改费用")
    return order
