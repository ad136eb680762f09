"""The settlement rules, property-tested: integer fen, nothing negative, nothing counted twice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.charges import rules
from server.orders.rules.values import PAYMENT_STATUSES

FEN = st.integers(min_value=0, max_value=rules.MAX_PRICE_FEN)
LINES = st.lists(st.integers(min_value=0, max_value=rules.MAX_PRICE_FEN), max_size=20)
PAYERS = st.sampled_from(("tenant", "company"))


@given(
    spec=FEN,
    lines=LINES,
    paid=FEN,
    payer=PAYERS,
    discount=FEN,
    waived=st.booleans(),
    cancelled=st.booleans(),
)
def test_settlement_invariants(spec, lines, paid, payer, discount, waived, cancelled):
    s = rules.settle(
        spec_fen=spec,
        lines_fen=lines,
        paid_fen=paid,
        payer=payer,
        discount_fen=discount,
        waived=waived,
        cancelled=cancelled,
    )
    values = (
        s.gross_fen,
        s.discount_fen,
        s.total_fen,
        s.tenant_due_fen,
        s.company_cost_fen,
        s.balance_due_fen,
        s.refund_due_fen,
    )
    assert all(isinstance(v, int) and v >= 0 for v in values)
    # Every line counted once, the spec once.
    assert s.gross_fen == spec + sum(lines)
    assert s.total_fen == s.gross_fen - s.discount_fen
    assert s.discount_fen <= s.gross_fen
    # What is owed is split between the tenant and the company, never both, never lost.
    assert s.tenant_due_fen + s.company_cost_fen == (0 if cancelled else s.total_fen)
    # Paid, still due and due back add up to what the tenant owes.
    assert s.paid_fen + s.balance_due_fen - s.refund_due_fen == s.tenant_due_fen
    assert s.refund_due_fen <= paid
    assert s.balance_due_fen == 0 or s.refund_due_fen == 0
    assert s.payment_status in PAYMENT_STATUSES
    if waived:
        assert s.total_fen == 0 and s.balance_due_fen == 0 and s.refund_due_fen == paid


@given(spec=FEN, lines=LINES, paid=FEN)
def test_company_pays_leaves_nothing_for_the_tenant(spec, lines, paid):
    s = rules.settle(spec_fen=spec, lines_fen=lines, paid_fen=paid, payer="company")
    assert s.balance_due_fen == 0
    assert s.company_cost_fen == spec + sum(lines)
    assert s.refund_due_fen == paid


@given(spec=FEN, lines=LINES, paid=FEN, payer=PAYERS)
def test_cancellation_refunds_everything_paid(spec, lines, paid, payer):
    s = rules.settle(spec_fen=spec, lines_fen=lines, paid_fen=paid, payer=payer, cancelled=True)
    assert s.refund_due_fen == paid and s.balance_due_fen == 0


@given(
    price=FEN,
    fixed=FEN,
    percent=st.one_of(st.none(), st.integers(min_value=1, max_value=100)),
)
def test_deposit_never_above_the_price(price, fixed, percent):
    deposit = rules.deposit_fen(price_fen=price, fixed_fen=fixed, percent=percent)
    assert 0 <= deposit <= price
    if percent is not None:
        # Rounded up to the fen: never less than the exact share.
        assert deposit * 100 >= price * percent
        assert (deposit - 1) * 100 < price * percent
    full = rules.prepay_fen(prepay="full", price_fen=price, deposit_fixed_fen=fixed, percent=None)
    assert full == price


def test_examples():
    # A 120 元 spec with a 30 % deposit paid, 50 元 labour and 12.5 元 materials on top.
    deposit = rules.deposit_fen(price_fen=12000, fixed_fen=0, percent=30)
    assert deposit == 3600
    s = rules.settle(spec_fen=12000, lines_fen=[5000, 1250], paid_fen=deposit, payer="tenant")
    assert (s.total_fen, s.balance_due_fen, s.payment_status) == (18250, 14650, "partially_paid")
    # A full prepay on a cheaper job with a discount: the difference is due back.
    s = rules.settle(
        spec_fen=12000, lines_fen=[], paid_fen=12000, payer="tenant", discount_fen=2000
    )
    assert (s.total_fen, s.refund_due_fen, s.payment_status) == (10000, 2000, "paid")
    # Free and nothing paid.
    s = rules.settle(spec_fen=0, lines_fen=[], paid_fen=0, payer="tenant")
    assert (s.total_fen, s.payment_status) == (0, "none")
    assert rules.payment_status(due_fen=500, paid_fen=0) == "unpaid"


@pytest.mark.parametrize(
    ("price", "quantity"),
    [(-1, 1), (100, 0), (100, rules.MAX_QUANTITY + 1), (rules.MAX_PRICE_FEN + 1, 1)],
)
def test_line_bounds(price, quantity):
    with pytest.raises(ValueError):
        rules.line_amount(unit_price_fen=price, quantity=quantity)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        rules.settle(spec_fen=1.5, lines_fen=[], paid_fen=0, payer="tenant")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rules.line_amount(unit_price_fen=100, quantity=1.5)  # type: ignore[arg-type]
