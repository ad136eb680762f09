"""Refunds: money going back from paid payments, under our own `out_refund_no`.

Creating a refund writes the row and an outbox job in the same transaction; the provider is
called after the commit (`followup.submit_refund`), always with the same `out_refund_no`, so a
retry never pays out twice. A refund holds its share of the payment from the moment it is
written (a closed one releases it), which is what keeps the sum of refunds within what was
paid, under a lock on the payments of the order.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.charges.fees import discount_for_refund, fee_of, record_refund
from server.db.session import record_domain_event
from server.jobs import SUBMIT_REFUND
from server.kernel.clock import local_date
from server.kernel.errors import RefundExceedsPaid, ValidationFailed
from server.kernel.permissions import Permission
from server.orders.actors import Actor
from server.orders.moves import load_order
from server.outbox.outbox import enqueue_on_commit
from server.payments.models import Payment, Refund
from server.payments.rules import (
    CANCEL_REFUND,
    DESK_REFUND,
    OFFLINE,
    PAID,
    R_ABNORMAL,
    R_PENDING,
    R_PROCESSING,
    R_SUCCESS,
    REFUND_HOLDS,
    SETTLEMENT_REFUND,
    allocate_refund,
    may_move_refund,
    out_refund_no,
    refundable_fen,
)
from server.roles.grants import require

MAX_REFUND_FEN = 100_000_000
MSG_REASONS = {
    CANCEL_REFUND: "工单已取消，退还已付款",
    SETTLEMENT_REFUND: "结算后多付的款项退还",
}
LATE_REASON = "工单取消后到账的付款，自动退还"


def _new_number(now: datetime) -> str:
    return out_refund_no(local_date=local_date(now).strftime("%Y%m%d"), token=secrets.token_hex(8))


def _paid_payments(session: Session, order_id: int) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.order_id == order_id, Payment.status == PAID)
            .order_by(Payment.paid_at.desc(), Payment.id.desc())
            .with_for_update()
        )
    )


def _held(session: Session, payment_ids: list[int]) -> dict[int, int]:
    if not payment_ids:
        return {}
    rows = session.execute(
        select(Refund.payment_id, func.sum(Refund.amount_fen))
        .where(Refund.payment_id.in_(payment_ids), Refund.status.in_(REFUND_HOLDS))
        .group_by(Refund.payment_id)
    )
    return {payment_id: int(total) for payment_id, total in rows}


def refundable(session: Session, *, order_id: int) -> int:
    """What may still be refunded on an order: paid, less every refund holding a share."""
    payments = _paid_payments(session, order_id)
    held = _held(session, [p.id for p in payments])
    return sum(
        refundable_fen(paid_fen=p.amount_fen, held_by_refunds_fen=held.get(p.id, 0))
        for p in payments
    )


def create_refunds(
    session: Session,
    *,
    org_id: int,
    order_id: int,
    amount_fen: int,
    source: str,
    reason: str,
    now: datetime,
    actor_user_id: int | None = None,
) -> list[Refund]:
    """Refund `amount_fen` from the order's paid payments, newest first.

    Raises RefundExceedsPaid when the payments cannot cover it. Money taken offline is
    given back offline by the desk: that refund is done when written.
    """
    payments = _paid_payments(session, order_id)  # locked: concurrent refunds queue here
    held = _held(session, [p.id for p in payments])
    available = [
        (p.id, refundable_fen(paid_fen=p.amount_fen, held_by_refunds_fen=held.get(p.id, 0)))
        for p in payments
    ]
    try:
        plan = allocate_refund(amount_fen, available)
    except ValueError as exc:
        left = sum(a for _, a in available)
        raise RefundExceedsPaid(f"退款金额超过可退金额（最多可退 {left} 分）") from exc
    by_id = {p.id: p for p in payments}
    refunds = []
    for payment_id, amount in plan:
        payment = by_id[payment_id]
        refund = Refund(
            org_id=org_id,
            order_id=order_id,
            payment_id=payment_id,
            out_refund_no=_new_number(now),
            amount_fen=amount,
            status=R_PENDING,
            source=source,
            reason=reason[:80],
            requested_by_user_id=actor_user_id or None,
            created_at=now,
            updated_at=now,
        )
        session.add(refund)
        session.flush()
        if payment.channel == OFFLINE:
            refund.status, refund.succeeded_at = R_SUCCESS, now
            record_refund(
                session,
                org_id=org_id,
                order_id=order_id,
                amount_fen=amount,
                reference=refund.out_refund_no,
                channel=OFFLINE,
                now=now,
                actor_user_id=actor_user_id,
            )
        else:
            enqueue_on_commit(
                session,
                SUBMIT_REFUND,
                org_id=org_id,
                dedupe_key=f"refund:{refund.id}",
                refund_id=refund.id,
            )
        refunds.append(refund)
    session.flush()
    return refunds


def in_flight_fen(session: Session, *, order_id: int) -> int:
    """Refunds written but not yet through (or stuck, waiting for the desk)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.order_id == order_id,
            Refund.status.in_((R_PENDING, R_PROCESSING, R_ABNORMAL)),
        )
    )
    return int(total or 0)


def refund_owed(
    session: Session,
    *,
    org_id: int,
    order_id: int,
    now: datetime,
    source: str | None = None,
    reason: str | None = None,
) -> list[Refund]:
    """Refund what the settlement says is owed back and no refund covers yet."""
    order = load_order(session, org_id=org_id, order_id=order_id, lock=True)
    fee = fee_of(session, order_id=order_id)
    if fee is None:
        return []
    due = fee.refund_due_fen - in_flight_fen(session, order_id=order_id)
    if due <= 0:
        return []
    if source is None:
        source = CANCEL_REFUND if order.status == "cancelled" else SETTLEMENT_REFUND
    return create_refunds(
        session,
        org_id=org_id,
        order_id=order_id,
        amount_fen=due,
        source=source,
        reason=reason or MSG_REASONS.get(source, LATE_REASON),
        now=now,
    )


def desk_refund(
    session: Session, *, actor: Actor, order_id: int, amount_fen: int, reason: str, now: datetime
) -> list[Refund]:
    """The desk gives money back (退款), with a reason; never more than is refundable."""
    require(session, Permission.REFUNDS_ACT)
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationFailed.field("amount_fen", "金额须为正整数（分）")
    if not 0 < amount_fen <= MAX_REFUND_FEN:
        raise ValidationFailed.field("amount_fen", "退款金额须大于 0")
    if not reason.strip():
        raise ValidationFailed.field("reason", "请填写退款原因")
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    refunds = create_refunds(
        session,
        org_id=actor.org_id,
        order_id=order_id,
        amount_fen=amount_fen,
        source=DESK_REFUND,
        reason=reason.strip(),
        now=now,
        actor_user_id=actor.user_id,
    )
    # Goodwill: what the desk gives back is taken off what the order costs, so the tenant is
    # not asked for it again (the refund it makes due is the one just written).
    discount_for_refund(
        session,
        actor=actor,
        order_id=order_id,
        amount_fen=amount_fen,
        reason=reason.strip(),
        now=now,
    )
    audit_log.record(
        session,
        org_id=actor.org_id,
        at=now,
        kind="refund",
        summary=f"工单 {order.number} 退款 {amount_fen / 100:.2f} 元，原因：{reason.strip()}",
        actor_user_id=actor.user_id,
        target_type="order",
        target_id=order.id,
        data={
            "amount_fen": amount_fen,
            "reason": reason.strip(),
            "refund_ids": [refund.id for refund in refunds],
        },
    )
    return refunds


def apply_refund_state(
    session: Session,
    *,
    refund_id: int,
    status: str,
    now: datetime,
    provider_refund_id: str | None = None,
    succeeded_at: datetime | None = None,
    failure: str = "",
) -> Refund | None:
    """What the provider says of a refund; a success books it on the order's ledger once."""
    found = session.get(Refund, refund_id)
    if found is None:
        return None
    load_order(session, org_id=found.org_id, order_id=found.order_id, lock=True)  # order first
    refund = session.get(Refund, refund_id, with_for_update=True, populate_existing=True)
    assert refund is not None
    if provider_refund_id and not refund.provider_refund_id:
        refund.provider_refund_id = provider_refund_id
    refund.last_queried_at = now
    if status == refund.status or not may_move_refund(refund.status, status):
        return refund
    refund.status = status
    refund.updated_at = now
    if failure:
        refund.failure = failure[:200]
    if status == R_SUCCESS:
        refund.succeeded_at = succeeded_at or now
        payment = session.get(Payment, refund.payment_id)
        assert payment is not None
        record_refund(
            session,
            org_id=refund.org_id,
            order_id=refund.order_id,
            amount_fen=refund.amount_fen,
            reference=refund.out_refund_no,
            channel=payment.channel,
            now=now,
        )
        record_domain_event(
            session,
            "refund_done",
            org_id=refund.org_id,
            order_id=refund.order_id,
            amount_fen=refund.amount_fen,
            payer_user_id=payment.created_by_user_id,
            now=now,
        )
    session.flush()
    return refund
