"""An order's money: the spec and prepay at filing, payments received, settlement, desk waivers.

The arithmetic is `rules.settle`; this module reads and writes the rows around it and keeps
`orders.payable_fen` / `orders.payment_status` equal to what the settlement says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.catalog.models import CHARGE_ON_ORDER, NO_FEE, OrderSubtype
from server.charges import ledger, rules
from server.charges.models import OrderCharge, OrderFee, ServiceSpec
from server.jobs import ORDER_SETTLED
from server.kernel.errors import ValidationFailed
from server.kernel.permissions import Permission
from server.orders.actors import Actor
from server.orders.models import Order
from server.orders.moves import Action, Status, load_order, move
from server.outbox.outbox import enqueue_on_commit
from server.roles.grants import require

COMPANY = rules.COMPANY
CANCELLED = Status.CANCELLED.value
AWAITING_PAYMENT = Status.AWAITING_PAYMENT.value
SETTLED_STATUSES = frozenset({Status.COMPLETED.value, Status.CLOSED.value})


@dataclass(frozen=True)
class FiledFee:
    """What a pay-on-order filing costs: the spec (if any), its price and the prepay."""

    spec_id: int | None
    spec_name: str
    price_fen: int
    prepay: str
    prepay_fen: int


def fee_at_filing(
    session: Session, *, subtype: OrderSubtype, spec_id: int | None
) -> FiledFee | None:
    """The price of a filing on this subtype, or None when nothing is charged on order.

    A pay-on-order subtype with specs (服务规格) needs one of its active specs; without specs
    its `fee_fen` is the price. The prepay is the deposit (订金) or the full price (全额).
    """
    if subtype.fee_mode != CHARGE_ON_ORDER:
        if spec_id is not None:
            raise ValidationFailed.field("spec_id", "该报修类型无需选择服务规格")
        return None
    specs = list(
        session.scalars(
            select(ServiceSpec).where(
                ServiceSpec.subtype_id == subtype.id, ServiceSpec.is_active.is_(True)
            )
        )
    )
    if specs:
        if spec_id is None:
            raise ValidationFailed.field("spec_id", "请选择服务规格")
        spec = next((s for s in specs if s.id == spec_id), None)
        if spec is None:
            raise ValidationFailed.field("spec_id", "服务规格不存在或已停用")
        chosen_id, name, price = spec.id, spec.name, spec.price_fen
    else:
        if spec_id is not None:
            raise ValidationFailed.field("spec_id", "服务规格不存在或已停用")
        chosen_id, name, price = None, "", subtype.fee_fen
    prepay = rules.prepay_fen(
        prepay=subtype.prepay,
        price_fen=price,
        deposit_fixed_fen=subtype.deposit_fen,
        percent=subtype.deposit_percent,
    )
    return FiledFee(chosen_id, name, price, subtype.prepay, prepay)


def attach_fee(session: Session, *, order: Order, fee: FiledFee) -> OrderFee:
    """Record the filing's spec and prepay on the new order."""
    row = OrderFee(
        order_id=order.id,
        org_id=order.org_id,
        spec_id=fee.spec_id,
        spec_name=fee.spec_name,
        spec_price_fen=fee.price_fen,
        prepay=fee.prepay,
        prepay_fen=fee.prepay_fen,
        paid_fen=0,
        refunded_fen=0,
    )
    session.add(row)
    session.flush()
    ledger.sync_settlement(session, order=order, fee=row, settlement=None, now=order.created_at)
    return row


def fee_of(session: Session, *, order_id: int) -> OrderFee | None:
    return session.get(OrderFee, order_id)


def _fee_row(session: Session, order: Order) -> OrderFee:
    row = session.get(OrderFee, order.id, with_for_update=True, populate_existing=True)
    if row is None:
        row = OrderFee(
            order_id=order.id,
            org_id=order.org_id,
            spec_name="",
            spec_price_fen=0,
            prepay_fen=0,
            paid_fen=0,
            refunded_fen=0,
            waived=False,
            discount_fen=0,
            total_fen=0,
            company_cost_fen=0,
            refund_due_fen=0,
        )
        session.add(row)
        session.flush()
    return row


def _lines(session: Session, order_id: int) -> list[int]:
    return list(
        session.scalars(select(OrderCharge.amount_fen).where(OrderCharge.order_id == order_id))
    )


def settle_order(session: Session, *, order: Order, now: datetime) -> rules.Settlement:
    """Settle at completion (or cancellation): total, balance due or refund due, the status.

    A free subtype charges the tenant nothing: what was used is the organisation's cost, as
    when the company pays (公司代付). A cancelled order owes nothing: all paid is due back.
    """
    fee = _fee_row(session, order)
    payer = COMPANY if order.subtype.fee_mode == NO_FEE else order.payer
    settlement = rules.settle(
        spec_fen=fee.spec_price_fen,
        lines_fen=_lines(session, order.id),
        paid_fen=fee.paid_fen - fee.refunded_fen,
        payer=payer,
        discount_fen=fee.discount_fen,
        waived=fee.waived,
        cancelled=order.status == CANCELLED,
    )
    fee.total_fen = settlement.total_fen
    fee.company_cost_fen = settlement.company_cost_fen
    fee.refund_due_fen = settlement.refund_due_fen
    fee.settled_at = now
    order.payable_fen = settlement.balance_due_fen
    order.payment_status = rules.payment_status(
        due_fen=settlement.tenant_due_fen,
        paid_fen=settlement.paid_fen,
        refunded_fen=fee.refunded_fen,
    )
    ledger.sync_settlement(session, order=order, fee=fee, settlement=settlement, now=now)
    if settlement.refund_due_fen > 0 or order.status == CANCELLED:
        # The payments area refunds what is owed back and, for a cancelled order, closes the
        # payments still open at their providers — after this commits.
        enqueue_on_commit(session, ORDER_SETTLED, org_id=order.org_id, order_id=order.id)
    session.flush()
    return settlement


def _prepay_discount(order: Order, fee: OrderFee) -> int:
    """What the desk took off the prepay before settlement: nothing while the prepay is still
    awaited (it is paid in full, the difference comes back at settlement), else the discount
    (a desk refund of prepaid money is recorded as one)."""
    if order.status == AWAITING_PAYMENT or fee.waived:
        return 0
    return min(fee.discount_fen, fee.prepay_fen)


def _refresh_prepay(session: Session, order: Order, fee: OrderFee, now: datetime) -> None:
    """Before settlement the order owes its prepay: what is left of it, and the status."""
    net = fee.paid_fen - fee.refunded_fen
    discount = _prepay_discount(order, fee)
    due = fee.prepay_fen - discount
    order.payable_fen = max(due - net, 0)
    # Paid beyond the prepay (two payments, a discount): owed back, refunded at settlement.
    fee.refund_due_fen = max(net - due, 0)
    order.payment_status = rules.payment_status(
        due_fen=due, paid_fen=net, refunded_fen=fee.refunded_fen
    )
    ledger.sync_settlement(
        session, order=order, fee=fee, settlement=None, now=now, prepay_discount_fen=discount
    )


def record_payment(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    amount_fen: int,
    reference: str,
    channel: str,
    now: datetime,
) -> Order:
    """Money received from the tenant, booked once under its reference (out_trade_no).

    A pay-on-order order whose prepay is covered leaves `awaiting_payment` for the pool; a
    settled or cancelled order is settled again (what is left to pay, or to refund).
    """
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationFailed.field("amount_fen", "金额须为正整数（分）")
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    fee = _fee_row(session, order)
    booked = ledger.book(
        session,
        order=order,
        kind=rules.L_PAYMENT,
        amount_fen=-amount_fen,
        reference=reference,
        channel=channel,
        now=now,
        actor_user_id=actor.user_id,
    )
    if not booked:
        return order  # this payment is in already
    fee.paid_fen += amount_fen
    if order.status == AWAITING_PAYMENT and fee.paid_fen - fee.refunded_fen >= fee.prepay_fen:
        move(
            session,
            order=order,
            action=Action.PAYMENT_RECEIVED,
            actor=actor,
            now=now,
            data={"paid_fen": fee.paid_fen},
        )
    if order.status in SETTLED_STATUSES or order.status == CANCELLED:
        settle_order(session, order=order, now=now)
    else:
        _refresh_prepay(session, order, fee, now)
    session.flush()
    return order


def record_refund(
    session: Session,
    *,
    org_id: int,
    order_id: int,
    amount_fen: int,
    reference: str,
    channel: str,
    now: datetime,
    actor_user_id: int | None = None,
) -> Order:
    """Money paid back to the tenant, booked once under its reference (out_refund_no)."""
    order = load_order(session, org_id=org_id, order_id=order_id, lock=True)
    fee = _fee_row(session, order)
    booked = ledger.book(
        session,
        order=order,
        kind=rules.L_REFUND,
        amount_fen=amount_fen,
        reference=reference,
        channel=channel,
        now=now,
        actor_user_id=actor_user_id,
    )
    if not booked:
        return order
    fee.refunded_fen += amount_fen
    if fee.settled_at is not None and (
        order.status in SETTLED_STATUSES or order.status == CANCELLED
    ):
        settle_order(session, order=order, now=now)
    else:
        _refresh_prepay(session, order, fee, now)
    session.flush()
    return order


def adjust_fee(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    waive: bool,
    discount_fen: int,
    reason: str,
    now: datetime,
) -> Order:
    """The desk waives (减免) or discounts (优惠) an order's charges, with a reason on the timeline.

    A settled order is settled again at once; an open one when it is completed (until
    then a discount only lowers what is left of the prepay).
    """
    require(session, Permission.MONEY_ACT)
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    fee = _fee_row(session, order)
    fee.waived, fee.discount_fen = waive, 0 if waive else discount_fen
    data: dict[str, Any] = {"waived": waive, "discount_fen": fee.discount_fen}
    if order.status in SETTLED_STATUSES:
        settlement = settle_order(session, order=order, now=now)
        data.update(total_fen=settlement.total_fen, payable_fen=settlement.balance_due_fen)
    elif order.status != CANCELLED:
        _refresh_prepay(session, order, fee, now)
    # The status stays; the state machine says which orders may still be adjusted.
    move(
        session,
        order=order,
        action=Action.ADJUST_FEE,
        actor=actor,
        now=now,
        reason=reason,
        data=data,
    )
    session.flush()
    audit_log.record(
        session,
        org_id=actor.org_id,
        at=now,
        kind="fee_adjusted",
        summary=(
            f"工单 {order.number} "
            + ("减免全部费用" if waive else f"优惠 {fee.discount_fen / 100:.2f} 元")
            + f"，原因：{reason}"
        ),
        actor_user_id=actor.user_id,
        target_type="order",
        target_id=order.id,
        data={**data, "reason": reason},
    )
    return order


def discount_for_refund(
    session: Session, *, actor: Actor, order_id: int, amount_fen: int, reason: str, now: datetime
) -> Order:
    """A desk refund gives money back as a goodwill discount (优惠) of the same amount, so
    the tenant is not asked for it again; on the timeline as `adjust_fee` with the reason.

    Nothing to record when the tenant owes nothing anyway (cancelled or waived): the refund
    only returns what is owed back.
    """
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    fee = _fee_row(session, order)
    if order.status == CANCELLED or fee.waived:
        return order
    fee.discount_fen += amount_fen
    data: dict[str, Any] = {"refund_fen": amount_fen, "discount_fen": fee.discount_fen}
    if order.status in SETTLED_STATUSES:
        settlement = settle_order(session, order=order, now=now)
        data.update(total_fen=settlement.total_fen, payable_fen=settlement.balance_due_fen)
    else:
        _refresh_prepay(session, order, fee, now)
    move(
        session,
        order=order,
        action=Action.ADJUST_FEE,
        actor=actor,
        now=now,
        reason=f"退款：{reason}"[:200],
        data=data,
    )
    session.flush()
    return order
