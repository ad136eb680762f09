"""The booking hold: a booked order charged on order keeps its place while awaiting payment,
for the subtype's hold (default 15 minutes) — longer while a payment the tenant opened is
still payable; left unpaid past it, the order is cancelled with a
reason on its timeline and the place is freed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.booking.models import BookingSettings
from server.booking.rules import Settings
from server.orders.models import Order
from server.orders.steps import expire_hold
from server.payments.paying import being_paid

EXPIRED_REASON = "超时未支付，预约已自动取消，时段已释放"
AWAITING_PAYMENT = "awaiting_payment"


def expire_unpaid_holds(session: Session, *, now: datetime, batch: int = 200) -> int:
    """Cancel one batch of booked orders unpaid past their hold; returns how many.

    Rows are taken with SKIP LOCKED: a payment (or a tenant cancelling) holding the order's
    lock wins cleanly, and two cron runs never fight over a row. Running it twice does nothing
    more: a cancelled order is no longer awaiting payment.
    """
    hold = func.coalesce(BookingSettings.hold_minutes, Settings().hold_minutes)
    due = session.scalars(
        select(Order)
        .outerjoin(BookingSettings, BookingSettings.subtype_id == Order.subtype_id)
        .where(
            Order.status == AWAITING_PAYMENT,
            Order.slot_start.is_not(None),
            Order.created_at < now - hold * timedelta(minutes=1),
            # A tenant in the middle of paying keeps the place until that payment expires.
            ~being_paid(Order.id, now=now),
        )
        .order_by(Order.created_at, Order.id)
        .limit(batch)
        .with_for_update(of=Order, skip_locked=True)
    ).all()
    for order in due:
        expire_hold(session, order=order, now=now, reason=EXPIRED_REASON)
    session.flush()
    return len(due)
