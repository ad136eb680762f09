"""Thin job functions: each opens one unit of work and calls one service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from server.accounts import maintenance
from server.idempotency import keys as idempotency
from server.orders import steps
from workers.runtime import database

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
