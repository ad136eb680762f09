"""Asking for a notification: inbox rows now, delivery (push, subscribe message) after commit.

`notify` is called inside the transaction of the change that causes it: the inbox rows and
the outbox job commit with that change, or not at all (a rolled-back grab notifies no one).
One outbox job carries every recipient of one event, so a fan-out to a thousand technicians
is one delivery that batches its pushes, not a thousand jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.catalog.models import OrderSubtype, OrderType
from server.db.session import core
from server.directory.models import Room
from server.jobs import DELIVER_NOTIFICATIONS
from server.kernel.roles import Role
from server.notifications.models import Notification
from server.notifications.rules import TEMPLATES, render
from server.orders.eligibility import eligible_types
from server.orders.models import Order
from server.outbox.outbox import enqueue_on_commit
from server.staff.models import Staff
from server.staff.technicians import active_technician, active_with_role


@dataclass(frozen=True)
class OrderFacts:
    """What notifications of an order need, read in one statement as the commit will leave it."""

    id: int
    org_id: int
    order_type_id: int
    status: str
    reporter_user_id: int
    assignee_id: int | None
    assignee_name: str | None
    payable_fen: int
    number: str
    type: str
    room: str

    def fields(self) -> dict[str, str]:
        """What every order notification says: its number, type and room."""
        return {"number": self.number, "type": self.type, "room": self.room}


# Hot-path statements are built once (one runs in every grab's commit); values are parameters.
_ORDER_FACTS = (
    select(
        Order.id,
        Order.org_id,
        Order.order_type_id,
        Order.status,
        Order.reporter_user_id,
        Order.assignee_id,
        User.name,
        Order.payable_fen,
        Order.number,
        OrderSubtype.name,
        Room.code,
    )
    .join(OrderSubtype, OrderSubtype.id == Order.subtype_id)
    .join(Room, Room.id == Order.room_id)
    .outerjoin(Staff, Staff.id == Order.assignee_id)
    .outerjoin(User, User.id == Staff.user_id)
    .where(Order.id == bindparam("order_id"))
)
# One row per recipient, sent as one multi-row INSERT by the driver (insertmanyvalues).
_INSERT_NOTIFICATIONS = (
    insert(cast(Table, Notification.__table__))
    .on_conflict_do_nothing(
        index_elements=["user_id", "dedupe_key"],
        index_where=Notification.dedupe_key.isnot(None),
    )
    .returning(Notification.__table__.c.id)
)


def order_facts(session: Session, order_id: int) -> OrderFacts | None:
    row = core(session).execute(_ORDER_FACTS, {"order_id": order_id}).first()
    return OrderFacts(*row) if row is not None else None


def notify(
    session: Session,
    *,
    org_id: int,
    kind: str,
    user_ids: Iterable[int],
    now: datetime,
    order_id: int | None = None,
    data: Mapping[str, Any] | None = None,
    dedupe_key: str | None = None,
    order: OrderFacts | None = None,
) -> int:
    """Write `kind` to each user's inbox and have it delivered after this transaction commits.

    `data` fills the template (the order's number, type and room are added: pass `order` when
    it is at hand, else it is read); a `dedupe_key`
    makes a second call with the same key a no-op per user (timers that run twice). Returns
    how many inbox rows were written.
    """
    template = TEMPLATES[kind]
    fields: dict[str, Any] = {}
    if order is None and order_id is not None:
        order = order_facts(session, order_id)
    if order is not None:
        fields.update(order.fields())
    fields.update(data or {})
    title, body = render(kind, fields)
    payload = {k: str(v)[:100] for k, v in fields.items() if v is not None}
    recipients = sorted({u for u in user_ids if u})
    if not recipients:
        return 0
    # One statement for every recipient: a pool fan-out to a thousand technicians is one insert.
    rows = [
        {
            "org_id": org_id,
            "user_id": user_id,
            "kind": kind,
            "title": title,
            "body": body,
            "order_id": order_id,
            "data": payload,
            "urgent": template.urgent,
            "dedupe_key": dedupe_key,
            "created_at": now,
        }
        for user_id in recipients
    ]
    written = [int(i) for i in core(session).scalars(_INSERT_NOTIFICATIONS, rows)]
    if written:
        enqueue_on_commit(session, DELIVER_NOTIFICATIONS, org_id=org_id, notification_ids=written)
    return len(written)


# --- who receives what ------------------------------------------------------------------------


def staff_user(session: Session, staff_id: int | None) -> list[int]:
    if staff_id is None:
        return []
    user_id = session.scalar(select(Staff.user_id).where(Staff.id == staff_id))
    return [int(user_id)] if user_id else []


def desk_users(session: Session, *, org_id: int, role: Role = Role.DISPATCHER) -> list[int]:
    """The organisation's active dispatchers (or admins: the managers escalations go to)."""
    return [
        int(u)
        for u in session.scalars(
            select(User.id).where(User.org_id == org_id, active_with_role(role))
        )
    ]


def eligible_technicians(session: Session, *, order: OrderFacts) -> list[int]:
    """Users of every active, on-duty technician the order's type reaches (its pool)."""
    reaches = exists().where(
        OrderType.id == order.order_type_id,
        eligible_types(Staff.department_id, Staff.post_id),
    )
    return [
        int(u)
        for u in session.scalars(
            select(Staff.user_id)
            .join(User, User.id == Staff.user_id)
            .where(
                and_(
                    Staff.org_id == order.org_id,
                    Staff.on_duty.is_(True),
                    active_technician(),
                    reaches,
                )
            )
        )
    ]
