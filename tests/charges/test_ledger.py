"""The order money ledger: append-only, booked once per reference, summing to what is owed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.charges import ledger
from server.charges.models import LedgerEntry
from server.orders.models import Order


def test_a_reference_is_booked_once_and_rows_are_never_changed(shop, client, db_session):
    order_id = shop.file(client, shop.after)["id"]
    order = db_session.get(Order, order_id)
    now = datetime.now(UTC)
    first = ledger.book(
        db_session, order=order, kind="payment", amount_fen=-500, reference="PTEST0001", now=now
    )
    again = ledger.book(
        db_session, order=order, kind="payment", amount_fen=-500, reference="PTEST0001", now=now
    )
    assert (first, again) == (True, False)
    assert ledger.balance(db_session, order_id=order_id).owed_fen == -500
    assert ledger.balance(db_session, order_id=order_id).paid_fen == 500

    row = db_session.query(LedgerEntry).filter_by(reference="PTEST0001").one()
    for statement in (
        "UPDATE ledger_entries SET amount_fen = 1 WHERE id = :id",
        "DELETE FROM ledger_entries WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="never changed"), db_session.begin_nested():
            db_session.execute(text(statement), {"id": row.id})
