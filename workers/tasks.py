"""Thin job functions: each opens one unit of work and calls one service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from server.accounts import maintenance
from server.booking import holds
from server.idempotency import keys as idempotency
from server.orders import steps
from server.outbox import delivery
from server.payments import followup
from server.uploads import sweeper
from workers.runtime import database, settings

log = logging.getLogger(__name__)


def purge_refresh_tokens() -> int:
    with database().transaction() as uow:
        removed = maintenance.purge_refresh_tokens(uow.session, now=datetime.now(UTC))
    log.info("purged %d refresh tokens", removed)
    return removed


def purge_idempotency_keys() -> int:
    with database().transaction() as uow:
        removed = idempotency.purge_expired(uow.session, now=datetime.now(UTC))
    log.info("purged %d idempotency keys", removed)
    return removed


def auto_close_orders() -> int:
    closed = 0
    while True:  # in batches, each its own short transaction
        with database().transaction() as uow:
            batch = steps.auto_close_completed(uow.session, now=datetime.now(UTC))
        closed += batch
        if batch < 500:
            break
    log.info("auto-closed %d orders", closed)
    return closed


def expire_booking_holds() -> int:
    expired = 0
    while True:  # in batches, each its own short transaction
        with database().transaction() as uow:
            batch = holds.expire_unpaid_holds(uow.session, now=datetime.now(UTC), batch=200)
        expired += batch
        if batch < 200:
            break
    log.info("expired %d unpaid booking holds", expired)
    return expired


def deliver_outbox(outbox_id: int, job: str) -> str:
    """Deliver one outbox item (enqueued after the commit that wrote it, or by the sweeper)."""
    return delivery.deliver(database(), outbox_id=outbox_id, job=job).value


def sweep_outbox() -> dict[str, int]:
    with database().transaction() as uow:
        report = delivery.sweep(uow.session, now=datetime.now(UTC))
    return {"lost": report.lost, "requeued": report.requeued}


def purge_outbox() -> int:
    with database().transaction() as uow:
        removed = delivery.purge_delivered(uow.session, now=datetime.now(UTC))
    log.info("purged %d delivered outbox items", removed)
    return removed


def sweep_uploads() -> dict[str, int]:
    with database().transaction() as uow:
        report = sweeper.sweep_uploads(
            uow.session, upload_dir=settings().upload_dir, now=datetime.now(UTC)
        )
    return report.counts()


def sweep_payments() -> dict[str, int]:
    """Ask providers about payments open for minutes without news and refunds processing."""
    report = followup.sweep(database(), settings(), now=datetime.now(UTC))
    log.info("payment sweep: %s", report)
    return report
