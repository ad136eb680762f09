"""The payments area's outbox handlers: settled orders (refunds owed, payments to close),
refunds to submit and follow, payments to close.

Registered on import (by `server.outbox.registry`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.config import Settings
from server.db.session import Database
from server.jobs import CLOSE_PAYMENT, ORDER_SETTLED, QUERY_REFUND, SUBMIT_REFUND
from server.outbox.registry import Delivery, register_database_handler, register_external_handler
from server.payments import followup, paying, refunding


def _services(delivery: Delivery) -> tuple[Database, Settings]:
    db = delivery.db
    assert db is not None, "external handlers are delivered with the process's database"
    settings = db.session_info.get("settings")
    assert isinstance(settings, Settings), "the process must put its settings in db.session_info"
    return db, settings


def order_settled(session: Session, delivery: Delivery) -> None:
    """An order was settled (completed, adjusted, cancelled): refund what is owed back, and
    close the payments a cancelled order leaves open."""
    assert delivery.org_id is not None
    order_id = int(delivery.kwargs["order_id"])
    paying.close_open_payments_of_cancelled(
        session, org_id=delivery.org_id, order_id=order_id, now=delivery.now
    )
    refunding.refund_owed(session, org_id=delivery.org_id, order_id=order_id, now=delivery.now)


def submit_refund(delivery: Delivery) -> None:
    db, settings = _services(delivery)
    followup.submit_refund(
        db, settings, refund_id=int(delivery.kwargs["refund_id"]), now=delivery.now
    )


def query_refund(delivery: Delivery) -> None:
    db, settings = _services(delivery)
    followup.query_refund(
        db, settings, refund_id=int(delivery.kwargs["refund_id"]), now=delivery.now
    )


def close_payment(delivery: Delivery) -> None:
    db, settings = _services(delivery)
    followup.close_payment(
        db, settings, payment_id=int(delivery.kwargs["payment_id"]), now=delivery.now
    )


register_database_handler(ORDER_SETTLED, order_settled)
register_external_handler(SUBMIT_REFUND, submit_refund)
register_external_handler(QUERY_REFUND, query_refund)
register_external_handler(CLOSE_PAYMENT, close_payment)
