"""Thin job functions: each opens one unit of work and calls one service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from server.services import maintenance
from workers.runtime import database

log = logging.getLogger(__name__)


def purge_refresh_tokens() -> int:
    with database().transaction() as uow:
        removed = maintenance.purge_refresh_tokens(uow.session, now=datetime.now(UTC))
    log.info("purged %d refresh tokens", removed)
    return removed
