"""The booking hold: a booked order charged on order keeps its place while awaiting payment,
for the subtype's hold (default 15 minutes) — longer while a payment the tenant opened is
still payable; left unpaid past it, the order is cancelled with a reason on its timeline and
the place is freed. An unpaid order without a booking is withdrawn after a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from server.booking.models import BookingSettings
from server.booking.rules import Settings
from server.orders.models import Order
from server.orders.steps import expire_hold
from server.payments.paying import being_paid

EXPIRED_REASON = "超时未支付，预约已自动取消，时段已释放"
# An unpaid order without a booking holds nothing, but it should not wait for ever in the
# tenant's to-do list: it is withdrawn after a day.
UNPAID_ORDER_HOURS = 24
UNPAID_REASON = f"超过 {UNPAID_ORDER_HOURS} 小时未支付，工单已自动取消"
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
            or_(
                and_(
                    Order.slot_start.is_not(None),
                    Order.created_at < now - hold * timedelta(minutes=1),
                ),
                and_(
                    Order.slot_start.is_(None),
                    Order.created_at < now - timedelta(hours=UNPAID_ORDER_HOURS),
                ),
            ),
            # A tenant in the middle of paying keeps the place until that payment expires.
            ~being_paid(Order.id, now=now),
        )
        .order_by(Order.created_at, Order.id)
        .limit(batch)
        .with_for_update(of=Order, skip_locked=True)
    ).all()
    for order in due:
        reason = EXPIRED_REASON if order.slot_start is not None else UNPAID_REASON
        expire_hold(session, order=order, now=now, reason=reason)
    session.flush()
    return len(due)
