"""What a repair costs, in integer fen: deposits, charge lines, and settlement.

Pure Python. Everything here is arithmetic on `int` fen; nothing is ever a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.kernel.values import PREPAY_DEPOSIT, PREPAY_FULL

COMPANY = "company"

# Sane bounds: a unit price up to ¥1,000,000, a quantity up to 9,999.
MAX_PRICE_FEN = 100_000_000
MAX_QUANTITY = 9_999
# Charge lines on one order (the technician's app adds them one by one).
MAX_LINES = 200

# Every movement of stock says why (the ledger's `reason`).
STOCK_IN = "stock_in"  # bought into the store (or counted up)
STOCK_OUT = "stock_out"  # written off the store (or counted down)
REQUISITION = "requisition"  # store → technician, approved by the desk
RETURN = "return"  # technician → store
CHARGE = "charge"  # technician → an order
CHARGE_REMOVED = "charge_removed"  # an order's charge taken back → technician
MOVEMENT_REASONS = (STOCK_IN, STOCK_OUT, REQUISITION, RETURN, CHARGE, CHARGE_REMOVED)

REQUISITION_PENDING = "pending"
REQUISITION_APPROVED = "approved"
REQUISITION_REJECTED = "rejected"
REQUISITION_STATUSES = (REQUISITION_PENDING, REQUISITION_APPROVED, REQUISITION_REJECTED)

# The order's money ledger: every kind of movement, signed as what the tenant owes.
L_CHARGE = "charge"  # + the spec and charge lines (the prepay before settlement)
L_WAIVE = "waive"  # − the desk's waiver or discount
L_COMPANY = "company_cost"  # − what the organisation bears (公司代付, free subtypes)
L_CANCEL = "cancel"  # − what a cancelled order no longer owes
L_PAYMENT = "payment"  # − money received
L_REFUND = "refund"  # + money paid back
LEDGER_KINDS = (L_CHARGE, L_WAIVE, L_COMPANY, L_CANCEL, L_PAYMENT, L_REFUND)

# payment_status values (the orders' list spells the same words; a test keeps them equal).
NONE, UNPAID, PARTIALLY_PAID, PAID, REFUNDED = (
    "none",
    "unpaid",
    "partially_paid",
    "paid",
    "refunded",
)


def _require_fen(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of fen")
    if value < 0:
        raise ValueError(f"{name} must not be negative")


def line_amount(*, unit_price_fen: int, quantity: int) -> int:
    """A charge line: unit price × quantity, both bounded."""
    _require_fen("unit_price_fen", unit_price_fen)
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise TypeError("quantity must be an int")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError("quantity out of range")
    if unit_price_fen > MAX_PRICE_FEN:
        raise ValueError("unit price out of range")
    return unit_price_fen * quantity


def deposit_fen(*, price_fen: int, fixed_fen: int, percent: int | None) -> int:
    """订金 for a spec price: a percentage of it (rounded up to the fen), or a fixed amount.

    Never more than the price itself, never negative.
    """
    _require_fen("price_fen", price_fen)
    _require_fen("fixed_fen", fixed_fen)
    if percent is not None:
        if not 1 <= percent <= 100:
            raise ValueError("percent out of range")
        amount = -(-price_fen * percent // 100)  # ceiling without floats
    else:
        amount = fixed_fen
    return min(amount, price_fen)


def prepay_fen(*, prepay: str, price_fen: int, deposit_fixed_fen: int, percent: int | None) -> int:
    """What the tenant pays before the order enters the pool: the deposit or the full price."""
    if prepay == PREPAY_FULL:
        _require_fen("price_fen", price_fen)
        return price_fen
    if prepay == PREPAY_DEPOSIT:
        return deposit_fen(price_fen=price_fen, fixed_fen=deposit_fixed_fen, percent=percent)
    raise ValueError(f"unknown prepay kind {prepay!r}")


@dataclass(frozen=True)
class Settlement:
    """The money of one order, settled.

    `gross_fen` = spec + every charge line; `discount_fen` what the desk took off (all of it
    when waived); `total_fen` = gross − discount; `tenant_due_fen` what the tenant owes in all
    (0 when the company pays or the order was cancelled); `company_cost_fen` what the
    organisation bears; `paid_fen` what the tenant has paid so far; `balance_due_fen` what is
    still to pay; `refund_due_fen` what was paid beyond what is owed.
    """

    gross_fen: int
    discount_fen: int
    total_fen: int
    tenant_due_fen: int
    company_cost_fen: int
    paid_fen: int
    balance_due_fen: int
    refund_due_fen: int
    payment_status: str


def settle(
    *,
    spec_fen: int,
    lines_fen: Sequence[int],
    paid_fen: int,
    payer: str,
    discount_fen: int = 0,
    waived: bool = False,
    cancelled: bool = False,
) -> Settlement:
    """Settle an order: total = spec + charges − discount; what is left to pay, or to refund.

    A discount larger than the total is capped at the total. A cancelled order owes nothing:
    everything paid is due back. The company paying (公司代付) leaves nothing for the tenant:
    the total is the organisation's cost, and anything the tenant paid is due back.
    """
    _require_fen("spec_fen", spec_fen)
    _require_fen("paid_fen", paid_fen)
    _require_fen("discount_fen", discount_fen)
    for amount in lines_fen:
        _require_fen("line", amount)
    gross = spec_fen + sum(lines_fen)
    discount = gross if waived else min(discount_fen, gross)
    total = gross - discount
    if cancelled:
        tenant_due, company_cost = 0, 0
    elif payer == COMPANY:
        tenant_due, company_cost = 0, total
    else:
        tenant_due, company_cost = total, 0
    balance = max(tenant_due - paid_fen, 0)
    refund = max(paid_fen - tenant_due, 0)
    return Settlement(
        gross_fen=gross,
        discount_fen=discount,
        total_fen=total,
        tenant_due_fen=tenant_due,
        company_cost_fen=company_cost,
        paid_fen=paid_fen,
        balance_due_fen=balance,
        refund_due_fen=refund,
        payment_status=payment_status(due_fen=tenant_due, paid_fen=paid_fen),
    )


def payment_status(*, due_fen: int, paid_fen: int, refunded_fen: int = 0) -> str:
    """none (nothing owed, nothing paid), unpaid, partially_paid, paid (incl. overpaid), or
    refunded: everything paid has been returned. `paid_fen` is net of refunds."""
    if refunded_fen > 0 and paid_fen <= 0:
        return REFUNDED
    if paid_fen <= 0:
        return UNPAID if due_fen > 0 else NONE
    return PARTIALLY_PAID if paid_fen < due_fen else PAID
