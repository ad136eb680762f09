"""One order with its timeline, conversation and photos."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.charges.models import OrderCharge, OrderFee
from server.db.pipeline import read_together
from server.db.session import core
from server.kernel.personal_data import mask_phone
from server.orders.models import Order, OrderEvent, OrderMessage
from server.payments.models import Payment, Refund
from server.uploads.models import Upload


@dataclass
class OrderDetail:
    """An order with its history, conversation and photos; reads through to the order.

    The children are rows (read by column name, as the ORM objects were), not ORM objects:
    nothing here is changed, and loading objects cost more than the statements.
    """

    order: Order
    timeline: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    images: Sequence[Any]
    completion_images: Sequence[Any]
    charges: Sequence[Any]
    fee: Any | None
    payments: Sequence[Any]
    refunds: Sequence[Any]
    # False: the caller is a technician who does not hold the order (see `reveals_contact`).
    contact_revealed: bool = True

    @property
    def shown_contact_phone(self) -> str | None:
        phone = self.order.contact_phone
        return phone if self.contact_revealed else mask_phone(phone)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.order, name)


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


_ORDER: Any = bindparam("order_id")
_EVENTS, _MESSAGES, _UPLOADS = _table(OrderEvent), _table(OrderMessage), _table(Upload)
_CHARGES, _FEES = _table(OrderCharge), _table(OrderFee)
_PAYMENTS, _REFUNDS = _table(Payment), _table(Refund)

# Built once; each reads one kind of child of one order, in time order.
_TIMELINE = (
    select(_EVENTS, User.id.label("actor_found"), User.name.label("actor_user_name"))
    .outerjoin(User, User.id == _EVENTS.c.actor_user_id)
    .where(_EVENTS.c.order_id == _ORDER)
    .order_by(_EVENTS.c.created_at, _EVENTS.c.id)
)
_CONVERSATION = (
    select(_MESSAGES)
    .where(_MESSAGES.c.order_id == _ORDER)
    .order_by(_MESSAGES.c.created_at, _MESSAGES.c.id)
)
_PHOTOS = select(_UPLOADS).where(_UPLOADS.c.order_id == _ORDER).order_by(_UPLOADS.c.created_at)
_MESSAGE_PHOTOS = (
    select(_UPLOADS)
    .where(_UPLOADS.c.message_id.in_(bindparam("message_ids", expanding=True)))
    .order_by(_UPLOADS.c.created_at)
)
_CHARGE_LINES = (
    select(_CHARGES)
    .where(_CHARGES.c.order_id == _ORDER)
    .order_by(_CHARGES.c.created_at, _CHARGES.c.id)
)
_FEE = select(_FEES).where(_FEES.c.order_id == _ORDER)
# Payments still being made are shown too: the app follows them to paid or closed.
_PAYMENT_ROWS = select(_PAYMENTS).where(_PAYMENTS.c.order_id == _ORDER).order_by(_PAYMENTS.c.id)
_REFUND_ROWS = select(_REFUNDS).where(_REFUNDS.c.order_id == _ORDER).order_by(_REFUNDS.c.id)


def reveals_contact(order: Order, *, staff_id: int | None, desk: bool) -> bool:
    """Whether a staff caller sees the contact's phone whole in an answer about one order.

    The desk does, and the technician who holds the order (it is theirs to call); any other
    technician (one browsing the pool, one it was transferred away from) sees it masked.
    Lists mask it for everyone. The tenant's own answers always show it.
    """
    return desk or (staff_id is not None and order.assignee_id == staff_id)


def order_detail(session: Session, *, order: Order, contact_revealed: bool = True) -> OrderDetail:
    """The order with its timeline, conversation and photos, in time order.

    Its seven lists are read in one round trip (`db.pipeline`), after a flush: a change made
    in this request is shown.
    """
    by_order = {"order_id": order.id}
    events, messages, uploads, charges, fees, payments, refunds = read_together(
        session,
        [
            (_TIMELINE, by_order),
            (_CONVERSATION, by_order),
            (_PHOTOS, by_order),
            (_CHARGE_LINES, by_order),
            (_FEE, by_order),
            (_PAYMENT_ROWS, by_order),
            (_REFUND_ROWS, by_order),
        ],
    )
    message_images: dict[int, list[Any]] = {}
    if messages:
        ids = {"message_ids": [m.id for m in messages]}
        for upload in core(session).execute(_MESSAGE_PHOTOS, ids):
            message_images.setdefault(upload.message_id, []).append(upload)
    return OrderDetail(
        order=order,
        timeline=[
            # An event whose actor is no user (the system, a job) is the system's.
            {"event": e, "actor_name": e.actor_user_name if e.actor_found is not None else "系统"}
            for e in events
        ],
        messages=[{"message": m, "images": message_images.get(m.id, [])} for m in messages],
        images=[u for u in uploads if u.purpose == "report"],
        completion_images=[u for u in uploads if u.purpose == "completion"],
        charges=charges,
        fee=fees[0] if fees else None,
        payments=payments,
        refunds=refunds,
        contact_revealed=contact_revealed,
    )
