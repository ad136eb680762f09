"""A payment confirmed by its provider (a notification, a query, the daily bill): booked once.

Every path that learns "paid" comes here, under a lock on the payment row, so ten identical
notifications at once, a notification racing the query job, and the bill finding it the
next morning all end in one payment, booked once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from server.charges.fees import fee_of, record_payment
from server.db.session import record_domain_event
from server.orders.actors import Actor
from server.orders.models import Order
from server.orders.moves import load_order
from server.payments import paying, refunding
from server.payments.models import Payment
from server.payments.rules import CLOSED, LATE_PAYMENT_REFUND, PAID, may_move_payment

log = logging.getLogger(__name__)

SYSTEM = "system"
DUPLICATE_REASON = "重复支付的款项，自动退还"
CANCELLED = "cancelled"


class Settled(StrEnum):
    SETTLED = "settled"  # booked now
    ALREADY = "already"  # booked before: nothing to do
    AMOUNT_MISMATCH = "amount_mismatch"  # the provider's amount is not ours: not booked
    UNKNOWN = "unknown"  # no such payment


def settle_paid(
    session: Session,
    *,
    payment_id: int,
    provider_txn_id: str,
    amount_fen: int,
    paid_at: datetime,
    now: datetime,
    via: str,
) -> Settled:
    """Book a payment the provider says is paid: the payment row, the order's ledger and
    status; a payment for an order cancelled meanwhile is refunded at once, and once the
    order owes nothing its other open payments are closed."""
    found = session.get(Payment, payment_id)
    if found is None:
        return Settled.UNKNOWN
    # The order first, then the payment: the order the pay request and every refund take
    # them in, so a notification racing them waits instead of deadlocking.
    load_order(session, org_id=found.org_id, order_id=found.order_id, lock=True)
    payment = session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    assert payment is not None
    if payment.status == PAID:
        if payment.provider_txn_id != provider_txn_id:
            log.error(
                "payment %s already paid as %s, now reported as %s (via %s)",
                payment.out_trade_no,
                payment.provider_txn_id,
                provider_txn_id,
                via,
            )
        return Settled.ALREADY
    if amount_fen != payment.amount_fen:
        log.error(
            "payment %s: provider amount %s fen differs from ours %s fen (via %s); not booked",
            payment.out_trade_no,
            amount_fen,
            payment.amount_fen,
            via,
        )
        payment.note = f"金额不符：渠道 {amount_fen} 分，应收 {payment.amount_fen} 分"[:200]
        return Settled.AMOUNT_MISMATCH
    assert may_move_payment(payment.status, PAID) or payment.status == CLOSED
    payment.status = PAID
    payment.provider_txn_id = provider_txn_id or None
    payment.paid_at = paid_at
    session.flush()
    order = session.get(Order, payment.order_id, populate_existing=True)
    was_cancelled = order is not None and order.status == CANCELLED
    booked = record_payment(
        session,
        actor=Actor(user_id=0, org_id=payment.org_id, role=SYSTEM),
        order_id=payment.order_id,
        amount_fen=payment.amount_fen,
        reference=payment.out_trade_no,
        channel=payment.channel,
        now=now,
    )
    if booked.payable_fen == 0:
        # Nothing owed now: a payment still open (written while this one was closing) would
        # take the money a second time.
        paying.close_payments_left_open(session, order_id=payment.order_id, now=now)
    fee = fee_of(session, order_id=payment.order_id)
    if was_cancelled:
        # Paid after the order was cancelled (its hold expired, the tenant withdrew): give it back.
        refunding.refund_owed(
            session,
            org_id=payment.org_id,
            order_id=payment.order_id,
            now=now,
            source=LATE_PAYMENT_REFUND,
        )
    elif fee is not None and fee.settled_at is None and fee.refund_due_fen > 0:
        # The prepay paid twice (two payments opened for it — an Alipay order string cannot be
        # closed before it is opened — or two family members paying at once): nothing can make
        # the order owe it before it is priced, so the extra goes back now.
        refunding.refund_owed(
            session,
            org_id=payment.org_id,
            order_id=payment.order_id,
            now=now,
            source=LATE_PAYMENT_REFUND,
            reason=DUPLICATE_REASON,
        )
    record_domain_event(
        session,
        "payment_received",
        org_id=payment.org_id,
        order_id=payment.order_id,
        amount_fen=payment.amount_fen,
        payer_user_id=payment.created_by_user_id,
        now=now,
    )
    log.info("payment %s settled via %s", payment.out_trade_no, via)
    return Settled.SETTLED


def mark_closed(session: Session, *, payment_id: int, now: datetime) -> str:
    """The provider will not take money for this payment any more; returns its status."""
    payment = session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    if payment is None:
        return CLOSED
    if may_move_payment(payment.status, CLOSED):
        payment.status = CLOSED
        payment.closed_at = now
    return payment.status
