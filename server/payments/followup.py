"""The provider calls that follow a payment or a refund, each outside any transaction.

Pattern of every function here: read what is needed in one short transaction, call the
provider with no transaction open, write what it said in another short transaction (under a
row lock, re-checking the state: a notification may have won the race meanwhile).

- `close_payment`: a payment replaced by one of another amount, or abandoned: ask first
  (paid after all? then it is settled), else close it at the provider.
- `query_payment`: a payment still open after a few minutes: the notification may be lost.
- `submit_refund` / `query_refund`: ask for a refund with its own out_refund_no, then follow
  it to success, closed or abnormal.
- `sweep`: the periodic job that finds the payments and refunds to ask about.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.session import Database
from server.integrations.alipay import AlipayError, AlipayTradeNotExist
from server.integrations.wechatpay import WeChatPayError
from server.jobs import QUERY_REFUND
from server.outbox.outbox import enqueue_on_commit
from server.payments import refunding
from server.payments.gateways import Gateway, gateway_of_payment
from server.payments.models import Payment, Refund
from server.payments.rules import (
    CLOSED,
    CLOSING,
    CREATING,
    OPEN,
    PAID,
    QUERY_AFTER_MINUTES,
    R_ABNORMAL,
    R_CLOSED,
    R_PENDING,
    R_PROCESSING,
    R_SUCCESS,
    UNSETTLED,
    WECHAT,
)
from server.payments.settlement import Settled, mark_closed, settle_paid

log = logging.getLogger(__name__)

WECHAT_PAID_STATES = frozenset({"SUCCESS", "REFUND"})
WECHAT_DEAD_STATES = frozenset({"CLOSED", "REVOKED", "PAYERROR"})
WECHAT_REFUND_STATES = {
    "SUCCESS": R_SUCCESS,
    "PROCESSING": R_PROCESSING,
    "CLOSED": R_CLOSED,
    "ABNORMAL": R_ABNORMAL,
}
SWEEP_BATCH = 100
REQUERY_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class PaymentSnapshot:
    id: int
    status: str
    channel: str
    out_trade_no: str
    amount_fen: int
    expires_at: datetime | None
    gateway: Gateway


def _snapshot(session: Session, settings: Settings, payment: Payment) -> PaymentSnapshot:
    return PaymentSnapshot(
        id=payment.id,
        status=payment.status,
        channel=payment.channel,
        out_trade_no=payment.out_trade_no,
        amount_fen=payment.amount_fen,
        expires_at=payment.expires_at,
        gateway=gateway_of_payment(session, settings=settings, payment=payment),
    )


def _load(db: Database, settings: Settings, payment_id: int) -> PaymentSnapshot | None:
    with db.transaction() as uow:
        payment = uow.session.get(Payment, payment_id)
        if payment is None or payment.status not in UNSETTLED:
            return None
        return _snapshot(uow.session, settings, payment)


def parse_time(text: str | None, fallback: datetime) -> datetime:
    """A provider's RFC 3339 time (WeChat) as an aware UTC datetime; `fallback` if absent."""
    if not text:
        return fallback
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return fallback
    return moment.astimezone(UTC) if moment.tzinfo else fallback


def _settle(
    db: Database,
    *,
    payment_id: int,
    txn_id: str,
    amount_fen: int,
    paid_at: datetime,
    now: datetime,
    via: str,
) -> Settled:
    with db.transaction() as uow:
        return settle_paid(
            uow.session,
            payment_id=payment_id,
            provider_txn_id=txn_id,
            amount_fen=amount_fen,
            paid_at=paid_at,
            now=now,
            via=via,
        )


def _ask(snapshot: PaymentSnapshot) -> tuple[str, dict[str, Any]]:
    """('paid' | 'unpaid' | 'dead' | 'unknown', details) — what the provider says now."""
    if snapshot.gateway.wechat is not None:
        try:
            tx = snapshot.gateway.wechat.query_by_out_trade_no(snapshot.out_trade_no)
        except WeChatPayError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return "unknown", {}
            raise
        state = str(tx.get("trade_state", ""))
        amount = tx.get("amount") or {}
        details = {
            "txn_id": str(tx.get("transaction_id") or ""),
            "amount_fen": amount.get("total") if isinstance(amount, dict) else None,
            "paid_at": tx.get("success_time"),
        }
        if state in WECHAT_PAID_STATES:
            return "paid", details
        if state in WECHAT_DEAD_STATES:
            return "dead", details
        return "unpaid", details
    assert snapshot.gateway.alipay is not None
    try:
        trade = snapshot.gateway.alipay.query_trade(out_trade_no=snapshot.out_trade_no)
    except AlipayTradeNotExist:
        return "unknown", {}
    details = {
        "txn_id": trade.trade_no,
        "amount_fen": trade.total_fen,
        "paid_at": trade.raw.get("send_pay_date"),
    }
    if trade.paid:
        return "paid", details
    if trade.trade_status == "TRADE_CLOSED":
        return "dead", details
    return "unpaid", details


def alipay_time(text: Any, fallback: datetime) -> datetime:
    """An Alipay `yyyy-MM-dd HH:mm:ss` (Beijing time) as an aware datetime; `fallback` if absent."""
    if not isinstance(text, str) or not text:
        return fallback
    try:
        return datetime.strptime(f"{text} +0800", "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return fallback


def _settle_from(
    db: Database, snapshot: PaymentSnapshot, details: dict[str, Any], *, now: datetime, via: str
) -> Settled:
    amount = details.get("amount_fen")
    if not isinstance(amount, int) or isinstance(amount, bool):
        amount = -1
    if snapshot.channel == WECHAT:
        paid_at = parse_time(details.get("paid_at"), now)
    else:
        paid_at = alipay_time(details.get("paid_at"), now)
    return _settle(
        db,
        payment_id=snapshot.id,
        txn_id=str(details.get("txn_id") or ""),
        amount_fen=amount,
        paid_at=paid_at,
        now=now,
        via=via,
    )


def _close_at_provider(snapshot: PaymentSnapshot) -> None:
    if snapshot.gateway.wechat is not None:
        snapshot.gateway.wechat.close(snapshot.out_trade_no)
    else:
        assert snapshot.gateway.alipay is not None
        snapshot.gateway.alipay.close_trade(out_trade_no=snapshot.out_trade_no)


class NotClosableYet(AlipayError):
    """Alipay has no trade until the buyer opens the order string, so there is nothing to close
    before it expires: an expected wait, retried later, not a failure."""

    message = "支付宝交易尚未创建，到期后再关闭"


def close_payment(db: Database, settings: Settings, *, payment_id: int, now: datetime) -> str:
    """Close a payment at its provider, unless it turns out paid; returns its status then."""
    snapshot = _load(db, settings, payment_id)
    if snapshot is None:
        with db.transaction() as uow:
            payment = uow.session.get(Payment, payment_id)
            return payment.status if payment is not None else CLOSED
    verdict, details = _ask(snapshot)
    if verdict == "paid":
        _settle_from(db, snapshot, details, now=now, via="close")
        return PAID
    if verdict == "unknown":
        # WeChat never had it (the prepay failed); Alipay has no trade until the buyer opens
        # the order string, which stays usable until it expires.
        if snapshot.channel != WECHAT and snapshot.expires_at and snapshot.expires_at > now:
            raise NotClosableYet()
    elif verdict != "dead":
        try:
            _close_at_provider(snapshot)
        except (WeChatPayError, AlipayError):
            verdict, details = _ask(snapshot)  # paid in the meantime?
            if verdict == "paid":
                _settle_from(db, snapshot, details, now=now, via="close")
                return PAID
            if verdict != "dead":
                raise
    with db.transaction() as uow:
        return mark_closed(uow.session, payment_id=payment_id, now=now)


def query_payment(db: Database, settings: Settings, *, payment_id: int, now: datetime) -> str:
    """Ask the provider about a payment we have no notification for; settle or close it."""
    snapshot = _load(db, settings, payment_id)
    if snapshot is None:
        return "settled"
    if snapshot.status == CLOSING or (snapshot.expires_at and snapshot.expires_at <= now):
        return close_payment(db, settings, payment_id=payment_id, now=now)
    verdict, details = _ask(snapshot)
    if verdict == "paid":
        return _settle_from(db, snapshot, details, now=now, via="query").value
    if verdict == "dead":
        with db.transaction() as uow:
            return mark_closed(uow.session, payment_id=payment_id, now=now)
    with db.transaction() as uow:
        payment = uow.session.get(Payment, payment_id, with_for_update=True)
        if payment is not None:
            payment.last_queried_at = now
            payment.query_count += 1
    return verdict


# --- refunds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundSnapshot:
    id: int
    status: str
    out_refund_no: str
    out_trade_no: str
    amount_fen: int
    total_fen: int
    reason: str
    gateway: Gateway


def _load_refund(
    db: Database, settings: Settings, refund_id: int, statuses: tuple[str, ...]
) -> RefundSnapshot | None:
    with db.transaction() as uow:
        refund = uow.session.get(Refund, refund_id)
        if refund is None or refund.status not in statuses:
            return None
        payment = uow.session.get(Payment, refund.payment_id)
        assert payment is not None
        return RefundSnapshot(
            id=refund.id,
            status=refund.status,
            out_refund_no=refund.out_refund_no,
            out_trade_no=payment.out_trade_no,
            amount_fen=refund.amount_fen,
            total_fen=payment.amount_fen,
            reason=refund.reason,
            gateway=gateway_of_payment(uow.session, settings=settings, payment=payment),
        )


def _apply(db: Database, refund_id: int, status: str, now: datetime, **kwargs: Any) -> None:
    with db.transaction() as uow:
        refunding.apply_refund_state(
            uow.session, refund_id=refund_id, status=status, now=now, **kwargs
        )


def _wechat_refund_result(body: dict[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
    status = WECHAT_REFUND_STATES.get(
        str(body.get("status") or body.get("refund_status") or ""), R_PROCESSING
    )
    return status, {
        "provider_refund_id": str(body.get("refund_id") or "") or None,
        "succeeded_at": parse_time(body.get("success_time"), now) if status == R_SUCCESS else None,
    }


def submit_refund(db: Database, settings: Settings, *, refund_id: int, now: datetime) -> str:
    """Ask the provider for a written refund (again: the same out_refund_no is idempotent)."""
    snapshot = _load_refund(db, settings, refund_id, (R_PENDING,))
    if snapshot is None:
        return "done"
    gateway = snapshot.gateway
    try:
        if gateway.wechat is not None:
            body = gateway.wechat.refund(
                out_trade_no=snapshot.out_trade_no,
                out_refund_no=snapshot.out_refund_no,
                refund_fen=snapshot.amount_fen,
                total_fen=snapshot.total_fen,
                reason=snapshot.reason or None,
                notify_url=settings.wechatpay_notify_url or None,
            )
            status, extra = _wechat_refund_result(body, now)
        else:
            assert gateway.alipay is not None
            result = gateway.alipay.refund(
                out_trade_no=snapshot.out_trade_no,
                out_request_no=snapshot.out_refund_no,
                refund_fen=snapshot.amount_fen,
                reason=snapshot.reason or None,
            )
            status, extra = (
                (R_SUCCESS if result.fund_change else R_PROCESSING),
                {"provider_refund_id": result.trade_no or None},
            )
            if not result.fund_change:
                # A repeated out_request_no answers fund_change N: ask whether it went through.
                state = gateway.alipay.query_refund(
                    out_trade_no=snapshot.out_trade_no, out_request_no=snapshot.out_refund_no
                )
                status = R_SUCCESS if state.succeeded else R_PROCESSING
    except (WeChatPayError, AlipayError) as exc:
        if getattr(exc, "retryable", False):
            raise  # the outbox retries with the same out_refund_no
        _apply(db, refund_id, R_ABNORMAL, now, failure=exc.message)
        log.error("refund %s refused: %r", snapshot.out_refund_no, exc)
        return R_ABNORMAL
    _apply(db, refund_id, status, now, **extra)
    return status


def query_refund(db: Database, settings: Settings, *, refund_id: int, now: datetime) -> str:
    """Follow a refund the provider accepted to its end state."""
    snapshot = _load_refund(db, settings, refund_id, (R_PROCESSING, R_ABNORMAL))
    if snapshot is None:
        return "done"
    gateway = snapshot.gateway
    if gateway.wechat is not None:
        body = gateway.wechat.query_refund(snapshot.out_refund_no)
        status, extra = _wechat_refund_result(body, now)
    else:
        assert gateway.alipay is not None
        state = gateway.alipay.query_refund(
            out_trade_no=snapshot.out_trade_no, out_request_no=snapshot.out_refund_no
        )
        status, extra = (R_SUCCESS if state.succeeded else snapshot.status), {}
    _apply(db, refund_id, status, now, **extra)
    return status


def schedule_refund_query(session: Session, *, refund_id: int) -> None:
    """Ask the provider about a refund after this transaction commits (the bill says it is
    still processing, or a notification hinted at a change)."""
    refund = session.get(Refund, refund_id)
    if refund is None:
        return
    enqueue_on_commit(session, QUERY_REFUND, org_id=refund.org_id, refund_id=refund_id)


# --- the sweep ---------------------------------------------------------------------------------


def sweep(
    db: Database, settings: Settings, *, now: datetime, batch: int = SWEEP_BATCH
) -> dict[str, int]:
    """Payments open for a few minutes without news, payments to close, refunds processing:
    ask their providers. Each call has its own transactions; one failure does not stop the rest."""
    quiet = now - timedelta(minutes=QUERY_AFTER_MINUTES)
    with db.transaction() as uow:
        payment_ids = list(
            uow.session.scalars(
                select(Payment.id)
                .where(
                    Payment.status.in_((CREATING, OPEN, CLOSING)),
                    Payment.created_at < quiet,
                    or_(
                        Payment.last_queried_at.is_(None),
                        Payment.last_queried_at < now - REQUERY_AFTER,
                    ),
                )
                .order_by(Payment.last_queried_at.nulls_first(), Payment.id)
                .limit(batch)
            )
        )
        refund_ids = list(
            uow.session.scalars(
                select(Refund.id)
                .where(
                    Refund.status == R_PROCESSING,
                    or_(
                        Refund.last_queried_at.is_(None),
                        Refund.last_queried_at < now - REQUERY_AFTER,
                    ),
                )
                .order_by(Refund.id)
                .limit(batch)
            )
        )
    counts = {"payments": 0, "refunds": 0, "errors": 0}
    for payment_id in payment_ids:
        try:
            query_payment(db, settings, payment_id=payment_id, now=now)
            counts["payments"] += 1
        except NotClosableYet:
            # Asked, and nothing to do until its order string expires: asked again later.
            counts["payments"] += 1
            log.info(
                "payment %s: Alipay order string not opened yet; closed once it expires", payment_id
            )
            _touch_payment(db, payment_id, now)
        except Exception:
            counts["errors"] += 1
            log.exception("querying payment %s failed", payment_id)
            _touch_payment(db, payment_id, now)
    for refund_id in refund_ids:
        try:
            query_refund(db, settings, refund_id=refund_id, now=now)
            counts["refunds"] += 1
        except Exception:
            counts["errors"] += 1
            log.exception("querying refund %s failed", refund_id)
    return counts


def _touch_payment(db: Database, payment_id: int, now: datetime) -> None:
    with db.transaction() as uow:
        payment = uow.session.get(Payment, payment_id, with_for_update=True)
        if payment is not None:
            payment.last_queried_at = now
            payment.query_count += 1
