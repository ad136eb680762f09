"""The console's money records (订单记录): payments and refunds with filters and export, and
one order's money at a glance (its payments, refunds, ledger and balance)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from server.charges import ledger
from server.db.pagination import Page
from server.kernel.clock import LOCAL_TZ
from server.orders.export import Cell, Yuan
from server.orders.models import Order
from server.orders.moves import load_order
from server.payments.models import Payment, Refund

MAX_EXPORT_ROWS = 50_000
PAYMENT_HEADERS = (
    "支付单号",
    "工单号",
    "渠道",
    "用途",
    "状态",
    "金额（元）",
    "渠道交易号",
    "创建时间",
    "支付时间",
    "收款方式",
    "备注",
)
REFUND_HEADERS = (
    "退款单号",
    "工单号",
    "支付单号",
    "来源",
    "状态",
    "金额（元）",
    "渠道退款号",
    "原因",
    "申请时间",
    "成功时间",
    "失败说明",
)


@dataclass(frozen=True)
class RecordFilters:
    channel: str | None = None
    status: str | None = None
    source: str | None = None  # refunds only
    order_number: str | None = None
    date_from: date | None = None  # local dates, inclusive
    date_to: date | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def _on_or_before(column: InstrumentedAttribute[datetime], day: date) -> ColumnElement[bool]:
    """`column` falls on `day` or earlier; the last day there is (9999-12-31) has no next day
    to stop before, so it sets no upper bound."""
    if day >= date.max:
        return true()
    return column < _day_start(day + timedelta(days=1))


def _payments_query(org_id: int, filters: RecordFilters) -> Select[Payment, str]:
    stmt = (
        select(Payment, Order.number)
        .join(Order, Order.id == Payment.order_id)
        .where(Payment.org_id == org_id)
    )
    if filters.channel:
        stmt = stmt.where(Payment.channel == filters.channel)
    if filters.status:
        stmt = stmt.where(Payment.status == filters.status)
    if filters.order_number:
        stmt = stmt.where(Order.number == filters.order_number)
    if filters.date_from:
        stmt = stmt.where(Payment.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(_on_or_before(Payment.created_at, filters.date_to))
    return stmt.order_by(Payment.created_at.desc(), Payment.id.desc())


def _refunds_query(org_id: int, filters: RecordFilters) -> Select[Refund, str, str, str]:
    stmt = (
        select(Refund, Order.number, Payment.out_trade_no, Payment.channel)
        .join(Order, Order.id == Refund.order_id)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.org_id == org_id)
    )
    if filters.channel:
        stmt = stmt.where(Payment.channel == filters.channel)
    if filters.status:
        stmt = stmt.where(Refund.status == filters.status)
    if filters.source:
        stmt = stmt.where(Refund.source == filters.source)
    if filters.order_number:
        stmt = stmt.where(Order.number == filters.order_number)
    if filters.date_from:
        stmt = stmt.where(Refund.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(_on_or_before(Refund.created_at, filters.date_to))
    return stmt.order_by(Refund.created_at.desc(), Refund.id.desc())


def payment_view(payment: Payment, order_number: str) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order_id": payment.order_id,
        "order_number": order_number,
        "channel": payment.channel,
        "purpose": payment.purpose,
        "status": payment.status,
        "amount_fen": payment.amount_fen,
        "out_trade_no": payment.out_trade_no,
        "provider_txn_id": payment.provider_txn_id,
        "created_at": payment.created_at,
        "paid_at": payment.paid_at,
        "closed_at": payment.closed_at,
        "method": payment.method,
        "note": payment.note,
        "created_by_user_id": payment.created_by_user_id,
    }


def refund_view(
    refund: Refund, order_number: str, out_trade_no: str, channel: str
) -> dict[str, Any]:
    return {
        "id": refund.id,
        "order_id": refund.order_id,
        "order_number": order_number,
        "payment_id": refund.payment_id,
        "out_trade_no": out_trade_no,
        "channel": channel,
        "out_refund_no": refund.out_refund_no,
        "amount_fen": refund.amount_fen,
        "status": refund.status,
        "source": refund.source,
        "reason": refund.reason,
        "provider_refund_id": refund.provider_refund_id,
        "failure": refund.failure,
        "created_at": refund.created_at,
        "succeeded_at": refund.succeeded_at,
        "requested_by_user_id": refund.requested_by_user_id,
    }


def _page(
    session: Session, stmt: Select[*tuple[Any, ...]], page: int, page_size: int
) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.execute(stmt.limit(page_size).offset((page - 1) * page_size)))
    return rows, total


def list_payments(
    session: Session, *, org_id: int, filters: RecordFilters, page: int, page_size: int
) -> Page[dict[str, Any]]:
    rows, total = _page(session, _payments_query(org_id, filters), page, page_size)
    return Page([payment_view(p, n) for p, n in rows], total, page, page_size)


def list_refunds(
    session: Session, *, org_id: int, filters: RecordFilters, page: int, page_size: int
) -> Page[dict[str, Any]]:
    rows, total = _page(session, _refunds_query(org_id, filters), page, page_size)
    return Page([refund_view(r, n, t, c) for r, n, t, c in rows], total, page, page_size)


def _local(value: datetime | None) -> datetime | None:
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None) if value else None


def payment_rows(session: Session, *, org_id: int, filters: RecordFilters) -> Iterator[list[Cell]]:
    stmt = _payments_query(org_id, filters).limit(MAX_EXPORT_ROWS)
    for payment, number in session.execute(stmt.execution_options(yield_per=500)):
        yield [
            payment.out_trade_no,
            number,
            payment.channel,
            payment.purpose,
            payment.status,
            Yuan(payment.amount_fen),
            payment.provider_txn_id or "",
            _local(payment.created_at),
            _local(payment.paid_at),
            payment.method or "",
            payment.note,
        ]


def refund_rows(session: Session, *, org_id: int, filters: RecordFilters) -> Iterator[list[Cell]]:
    stmt = _refunds_query(org_id, filters).limit(MAX_EXPORT_ROWS)
    for refund, number, out_trade_no, _channel in session.execute(
        stmt.execution_options(yield_per=500)
    ):
        yield [
            refund.out_refund_no,
            number,
            out_trade_no,
            refund.source,
            refund.status,
            Yuan(refund.amount_fen),
            refund.provider_refund_id or "",
            refund.reason,
            _local(refund.created_at),
            _local(refund.succeeded_at),
            refund.failure,
        ]


def order_money(session: Session, *, org_id: int, order_id: int) -> dict[str, Any]:
    """One order's payments, refunds and ledger, and what the ledger says it owes."""
    order = load_order(session, org_id=org_id, order_id=order_id)
    payments = session.scalars(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
    )
    by_id: dict[int, Payment] = {p.id: p for p in payments}
    refunds = session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
    balance = ledger.balance(session, order_id=order.id)
    return {
        "order_id": order.id,
        "order_number": order.number,
        "payment_status": order.payment_status,
        "payable_fen": order.payable_fen,
        "owed_fen": balance.owed_fen,
        "charged_fen": balance.charged_fen,
        "paid_fen": balance.paid_fen,
        "refunded_fen": balance.refunded_fen,
        "payments": [payment_view(p, order.number) for p in by_id.values()],
        "refunds": [
            refund_view(
                r, order.number, by_id[r.payment_id].out_trade_no, by_id[r.payment_id].channel
            )
            for r in refunds
        ],
        "ledger": [
            {
                "id": e.id,
                "kind": e.kind,
                "amount_fen": e.amount_fen,
                "reference": e.reference,
                "channel": e.channel,
                "note": e.note,
                "created_at": e.created_at,
            }
            for e in ledger.entries(session, order_id=order.id)
        ],
    }
