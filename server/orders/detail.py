"""One order with its timeline, conversation and photos."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.charges.fees import fee_of
from server.charges.models import OrderCharge, OrderFee
from server.charges.order_charges import charges_of
from server.orders.models import Order, OrderEvent, OrderMessage
from server.payments.models import Payment, Refund
from server.uploads.models import Upload


@dataclass
class OrderDetail:
    """An order with its history, conversation and photos; reads through to the order."""

    order: Order
    timeline: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    images: list[Upload]
    completion_images: list[Upload]
    charges: list[OrderCharge]
    fee: OrderFee | None
    payments: list[Payment]
    refunds: list[Refund]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.order, name)


def order_detail(session: Session, *, order: Order) -> OrderDetail:
    """The order with its timeline, conversation and photos, in time order."""
    # Each event with its actor's name, in one statement (users joined, not looked up after).
    events = session.execute(
        select(OrderEvent, User.id, User.name)
        .outerjoin(User, User.id == OrderEvent.actor_user_id)
        .where(OrderEvent.order_id == order.id)
        .order_by(OrderEvent.created_at, OrderEvent.id)
    ).all()
    messages = list(
        session.scalars(
            select(OrderMessage)
            .where(OrderMessage.order_id == order.id)
            .order_by(OrderMessage.created_at, OrderMessage.id)
        )
    )
    uploads = list(
        session.scalars(
            select(Upload).where(Upload.order_id == order.id).order_by(Upload.created_at)
        )
    )
    message_images: dict[int, list[Upload]] = {}
    if messages:
        for upload in session.scalars(
            select(Upload)
            .where(Upload.message_id.in_([m.id for m in messages]))
            .order_by(Upload.created_at)
        ):
            assert upload.message_id is not None
            message_images.setdefault(upload.message_id, []).append(upload)
    return OrderDetail(
        order=order,
        timeline=[
            {"event": e, "actor_name": name if actor_id is not None else "系统"}
            for e, actor_id, name in events
        ],
        messages=[{"message": m, "images": message_images.get(m.id, [])} for m in messages],
        images=[u for u in uploads if u.purpose == "report"],
        completion_images=[u for u in uploads if u.purpose == "completion"],
        charges=charges_of(session, order_id=order.id),
        fee=fee_of(session, order_id=order.id),
        # Payments still being made are shown too: the app follows them to paid or closed.
        payments=list(
            session.scalars(
                select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
            )
        ),
        refunds=list(
            session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
        ),
    )
