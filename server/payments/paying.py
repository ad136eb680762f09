"""Paying an order: what it owes now, the payment that collects it, the answer for the app.

`prepare_payment` decides, under a lock on the order, which payment collects what the order
owes now (never a client's number): the same open one when asked again for the same amount,
else a new one — but only once nothing is left to close: the old ones are first marked
`closing` and answered without a payment, to be closed at the provider (by the caller, and by
a job should this process die) before asking again. One of them may turn out paid, which
changes what is owed. `record_prepay` stores the provider's answer.
The provider call between them happens outside any transaction (`checkout`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from server.accounts.models import User
from server.audit import log as audit_log
from server.charges.fees import record_payment
from server.config import Settings
from server.idempotency.keys import KEY_LIFETIME
from server.jobs import CLOSE_PAYMENT
from server.kernel.clock import local_date
from server.kernel.errors import (
    AlreadyPaid,
    IdempotencyConflict,
    NothingToPay,
    ValidationFailed,
)
from server.kernel.permissions import Permission
from server.orders.actors import Actor
from server.orders.lists import require_tenant_access
from server.orders.models import Order
from server.orders.moves import load_order
from server.outbox.outbox import enqueue_on_commit
from server.payments.accounts import AlipayAccount, WeChatPayAccount, payment_account_for
from server.payments.channels import enabled_channels
from server.payments.models import Payment
from server.payments.rules import (
    BALANCE,
    CLOSING,
    CREATING,
    OFFLINE,
    OFFLINE_METHODS,
    OPEN,
    PAID,
    PAYMENT_EXPIRES_MINUTES,
    PREPAY,
    PROVIDERS,
    UNSETTLED,
    WECHAT,
    out_trade_no,
)
from server.roles.grants import require

AWAITING_PAYMENT = "awaiting_payment"
SETTLED = ("completed", "closed")
# A payment is reused only while the tenant still has this long to pay it.
REUSE_MARGIN = timedelta(minutes=5)
MAX_OFFLINE_FEN = 100_000_000


@dataclass(frozen=True)
class Prepared:
    payment_id: int | None  # None: close `to_close` first, then ask again
    to_close: tuple[int, ...]


def amount_due(order: Order) -> tuple[int, str]:
    """What the order owes now and what for; refuses when there is nothing to pay."""
    if order.status == AWAITING_PAYMENT and order.payable_fen > 0:
        return order.payable_fen, PREPAY
    if order.status in SETTLED and order.payable_fen > 0:
        return order.payable_fen, BALANCE
    if order.payment_status == "paid":
        raise AlreadyPaid()
    if order.status == "cancelled":
        raise NothingToPay("工单已取消，无需支付")
    raise NothingToPay()


def _new_number(now: datetime) -> str:
    return out_trade_no(local_date=local_date(now).strftime("%Y%m%d"), token=secrets.token_hex(8))


def prepare_payment(
    session: Session,
    *,
    settings: Settings,
    actor: Actor,
    order_id: int,
    channel: str,
    idempotency_key: str | None,
    request_hash: str,
    now: datetime,
) -> Prepared:
    """The payment that collects what the order owes now (see the module docstring)."""
    require_tenant_access(session, actor=actor, order_id=order_id, now=now)
    if channel not in PROVIDERS:
        raise ValidationFailed.field("channel", "请选择微信支付或支付宝")
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    if idempotency_key is not None:
        earlier = session.scalar(
            select(Payment).where(
                Payment.created_by_user_id == actor.user_id,
                Payment.idempotency_key == idempotency_key,
            )
        )
        if earlier is not None and earlier.created_at < now - KEY_LIFETIME:
            earlier.idempotency_key = None  # a key is free again after its lifetime
            session.flush()
        elif earlier is not None:
            if earlier.request_hash != request_hash or earlier.order_id != order_id:
                raise IdempotencyConflict()
            return Prepared(earlier.id, ())
    if channel not in enabled_channels(session, settings=settings, org_id=actor.org_id):
        raise ValidationFailed.field("channel", "该支付方式未开通")
    amount, purpose = amount_due(order)
    unsettled = list(
        session.scalars(
            select(Payment)
            .where(Payment.order_id == order.id, Payment.status.in_(UNSETTLED))
            .order_by(Payment.id)
            .with_for_update()
        )
    )
    reusable = next(
        (
            p
            for p in unsettled
            if p.status in (CREATING, OPEN)
            and p.channel == channel
            and p.amount_fen == amount
            and p.purpose == purpose
            and p.created_by_user_id == actor.user_id
            and p.expires_at is not None
            and p.expires_at > now + REUSE_MARGIN
        ),
        None,
    )
    to_close = []
    for payment in unsettled:
        if payment is reusable or payment.status == CLOSING:
            # One already closing (an earlier request could not close it: Alipay has no trade
            # before the buyer opens it) is left to its job; paid late, it is refunded.
            continue
        # Closed by this request before the new payment is used; by the job should it die.
        _close_later(session, payment)
        to_close.append(payment.id)
    if reusable is not None:
        if idempotency_key is not None and reusable.idempotency_key is None:
            reusable.idempotency_key, reusable.request_hash = idempotency_key, request_hash
        session.flush()
        return Prepared(reusable.id, tuple(to_close))
    if to_close:
        # A replaced payment may have been paid meanwhile: a new one is written only after
        # the old ones are closed (or found paid), never beside them.
        session.flush()
        return Prepared(None, tuple(to_close))
    account = payment_account_for(session, settings=settings, org_id=actor.org_id, channel=channel)
    if account is None:
        raise ValidationFailed.field("channel", "该支付方式未配置")
    payer_openid = ""
    if channel == WECHAT:
        user = session.get(User, actor.user_id)
        payer_openid = (user.wechat_openid if user is not None else None) or ""
        if not payer_openid:
            raise ValidationFailed.field("channel", "请在微信小程序中登录后使用微信支付")
    if isinstance(account, WeChatPayAccount):
        mchid, appid = account.merchant.mchid, account.merchant.appid
    else:
        assert isinstance(account, AlipayAccount)
        mchid, appid = "", account.client.app_id
    payment = Payment(
        org_id=actor.org_id,
        order_id=order.id,
        channel=channel,
        purpose=purpose,
        status=CREATING,
        amount_fen=amount,
        out_trade_no=_new_number(now),
        account_id=account.account_id,
        account_version=account.version,
        mchid=mchid,
        appid=appid,
        description=f"报修 {order.number} {order.subtype.name}"[:127],
        payer_openid=payer_openid,
        expires_at=now + timedelta(minutes=PAYMENT_EXPIRES_MINUTES),
        created_by_user_id=actor.user_id,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError as exc:
        # The same key at the same moment for another order (this one's lock does not cover it).
        raise IdempotencyConflict() from exc
    return Prepared(payment.id, tuple(to_close))


def being_paid(
    order_id: ColumnElement[int] | InstrumentedAttribute[int], *, now: datetime
) -> ColumnElement[bool]:
    """SQL: the order has a payment the tenant may still complete at its provider."""
    return (
        select(Payment.id)
        .where(
            Payment.order_id == order_id,
            Payment.status.in_((CREATING, OPEN)),
            Payment.expires_at > now,
        )
        .exists()
    )


def _close_later(session: Session, payment: Payment) -> None:
    """Mark a payment `closing` and have the job close it at its provider after the commit."""
    if payment.status != CLOSING:
        payment.status = CLOSING
        enqueue_on_commit(
            session,
            CLOSE_PAYMENT,
            org_id=payment.org_id,
            dedupe_key=f"close:{payment.id}",
            payment_id=payment.id,
        )


def close_payments_left_open(session: Session, *, order_id: int, now: datetime) -> int:
    """The order owes nothing any more: its payments still open at a provider (a new one
    written while an old one was closing, and the old one got paid) are closed there, so the
    tenant cannot pay twice. The caller holds the order's lock; returns how many."""
    left_open = list(
        session.scalars(
            select(Payment)
            .where(Payment.order_id == order_id, Payment.status.in_((CREATING, OPEN)))
            .with_for_update()
        )
    )
    for payment in left_open:
        _close_later(session, payment)
        payment.updated_at = now
    return len(left_open)


def close_open_payments_of_cancelled(
    session: Session, *, org_id: int, order_id: int, now: datetime
) -> int:
    """A cancelled order's payments still open at a provider are closed there (one paid
    meanwhile is booked and refunded by the close job); returns how many."""
    order = load_order(session, org_id=org_id, order_id=order_id, lock=True)
    if order.status != "cancelled":
        return 0
    unsettled = list(
        session.scalars(
            select(Payment)
            .where(Payment.order_id == order.id, Payment.status.in_((CREATING, OPEN)))
            .with_for_update()
        )
    )
    for payment in unsettled:
        _close_later(session, payment)
        payment.updated_at = now
    session.flush()
    return len(unsettled)


def record_prepay(
    session: Session, *, payment_id: int, prepay_id: str, params: dict[str, Any], now: datetime
) -> Payment:
    """Store what the provider answered: the payment is open; the first answer stays."""
    payment = session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    assert payment is not None
    if payment.params is None:
        payment.prepay_id = prepay_id
        payment.params = params
    if payment.status == CREATING:
        payment.status = OPEN
    payment.updated_at = now
    session.flush()
    return payment


def answer(payment: Payment) -> dict[str, Any]:
    """The answer to the tenant's pay request."""
    return {
        "payment_id": payment.id,
        "channel": payment.channel,
        "amount_fen": payment.amount_fen,
        "out_trade_no": payment.out_trade_no,
        "status": payment.status,
        "expires_at": payment.expires_at,
        "params": payment.params or {},
    }


def record_offline_payment(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    amount_fen: int,
    method: str,
    note: str,
    now: datetime,
) -> Payment:
    """The desk took money by hand (现金 / 转账): recorded with who took it and why.

    Never more than the order owes now; a company-paid order owes the tenant nothing. A
    payment the tenant still has open was for the old amount: it is closed at its provider.
    """
    require(session, Permission.MONEY_ACT)
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationFailed.field("amount_fen", "金额须为正整数（分）")
    if not 0 < amount_fen <= MAX_OFFLINE_FEN:
        raise ValidationFailed.field("amount_fen", "金额须大于 0")
    if method not in OFFLINE_METHODS:
        raise ValidationFailed.field("method", "收款方式应为现金（cash）或转账（transfer）")
    if not note.strip():
        raise ValidationFailed.field("note", "请填写收款说明")
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    due, purpose = amount_due(order)
    if amount_fen > due:
        raise ValidationFailed.field("amount_fen", f"收款金额不能超过应付金额 {due} 分")
    stale = session.scalars(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status.in_((CREATING, OPEN)))
        .with_for_update()
    )
    for open_payment in stale:
        # Paid meanwhile? The close job asks first and books it; an overpayment comes back
        # with the settlement.
        _close_later(session, open_payment)
        open_payment.updated_at = now
    payment = Payment(
        org_id=actor.org_id,
        order_id=order.id,
        channel=OFFLINE,
        purpose=purpose,
        status=PAID,
        amount_fen=amount_fen,
        out_trade_no=_new_number(now),
        method=method,
        note=note.strip()[:200],
        created_by_user_id=actor.user_id,
        paid_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    session.flush()
    record_payment(
        session,
        actor=actor,
        order_id=order.id,
        amount_fen=amount_fen,
        reference=payment.out_trade_no,
        channel=OFFLINE,
        now=now,
    )
    audit_log.record(
        session,
        org_id=actor.org_id,
        at=now,
        kind="offline_payment",
        summary=(
            f"工单 {order.number} 线下收款 {amount_fen / 100:.2f} 元（{method}），"
            f"说明：{note.strip()}"
        ),
        actor_user_id=actor.user_id,
        target_type="order",
        target_id=order.id,
        data={
            "amount_fen": amount_fen,
            "method": method,
            "note": note.strip()[:200],
            "out_trade_no": payment.out_trade_no,
        },
    )
    return payment
