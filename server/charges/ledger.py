"""The order money ledger: append-only rows whose sum is what the tenant still owes.

Payments and refunds are booked by their provider references (out_trade_no / out_refund_no),
so booking the same one twice is a no-op. The settlement's own movements (charges, waivers,
the company's share, a cancellation) are booked as deltas to what the ledger already says,
so re-settling an order appends the difference and never rewrites history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.charges.models import LedgerEntry, OrderFee
from server.charges.rules import (
    L_CANCEL,
    L_CHARGE,
    L_COMPANY,
    L_PAYMENT,
    L_REFUND,
    L_WAIVE,
    Settlement,
)
from server.orders.models import Order

SETTLEMENT_KINDS = (L_CHARGE, L_WAIVE, L_COMPANY, L_CANCEL)


def book(
    session: Session,
    *,
    order: Order,
    kind: str,
    amount_fen: int,
    now: datetime,
    reference: str | None = None,
    channel: str = "",
    note: str = "",
    actor_user_id: int | None = None,
) -> bool:
    """Append one row; False when a row with this kind and reference is already booked."""
    if amount_fen == 0:
        return False
    inserted = session.scalar(
        insert(LedgerEntry)
        .values(
            org_id=order.org_id,
            order_id=order.id,
            kind=kind,
            amount_fen=amount_fen,
            reference=reference,
            channel=channel,
            note=note[:200],
            actor_user_id=actor_user_id or None,
            created_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["kind", "reference"], index_where=LedgerEntry.reference.isnot(None)
        )
        .returning(LedgerEntry.id)
    )
    return inserted is not None


def _sums(session: Session, order_id: int) -> dict[str, int]:
    rows = session.execute(
        select(LedgerEntry.kind, func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
        .where(LedgerEntry.order_id == order_id)
        .group_by(LedgerEntry.kind)
    )
    return {kind: int(total) for kind, total in rows}


def sync_settlement(
    session: Session,
    *,
    order: Order,
    fee: OrderFee,
    settlement: Settlement | None,
    now: datetime,
    actor_user_id: int | None = None,
    prepay_discount_fen: int = 0,
) -> None:
    """Book what the order now owes: the prepay (less the desk's discount of it) before
    settlement, else the settlement's gross, discount, company share and cancellation — each
    as the delta to the ledger."""
    if settlement is None:
        target = {
            L_CHARGE: fee.prepay_fen,
            L_WAIVE: -prepay_discount_fen,
            L_COMPANY: 0,
            L_CANCEL: 0,
        }
    else:
        cancel = settlement.total_fen - settlement.company_cost_fen - settlement.tenant_due_fen
        target = {
            L_CHARGE: settlement.gross_fen,
            L_WAIVE: -settlement.discount_fen,
            L_COMPANY: -settlement.company_cost_fen,
            L_CANCEL: -cancel,
        }
    have = _sums(session, order.id)
    for kind in SETTLEMENT_KINDS:
        book(
            session,
            order=order,
            kind=kind,
            amount_fen=target[kind] - have.get(kind, 0),
            now=now,
            actor_user_id=actor_user_id,
        )


@dataclass(frozen=True)
class Balance:
    """An order's ledger in sums: what it owes is `owed_fen` (negative: owed back)."""

    owed_fen: int
    charged_fen: int  # charges − waivers − company share − cancellation: the tenant's due
    paid_fen: int
    refunded_fen: int


def balance(session: Session, *, order_id: int) -> Balance:
    sums = _sums(session, order_id)
    due = sum(sums.get(kind, 0) for kind in SETTLEMENT_KINDS)
    paid = -sums.get(L_PAYMENT, 0)
    refunded = sums.get(L_REFUND, 0)
    return Balance(
        owed_fen=due - paid + refunded, charged_fen=due, paid_fen=paid, refunded_fen=refunded
    )


def entries(session: Session, *, order_id: int) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.order_id == order_id)
            .order_by(LedgerEntry.created_at, LedgerEntry.id)
        )
    )
