"""Outbox jobs for tests: registered like product handlers, on a queue of this run's own."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from server.jobs import outbox_job
from server.models import Organisation
from server.outbox.registry import (
    Delivery,
    register_database_handler,
    register_external_handler,
)

# Queues are shared with everyone's test runs on the same Redis: this run's own name.
QUEUE = f"test-outbox-{uuid.uuid4().hex[:12]}"

# Calls the external handler received, in order.
CALLS: list[Delivery] = []


def mark_org(session: Session, delivery: Delivery) -> None:
    """A database effect that shows every run: appends a mark to the organisation's name.

    Deliberately not idempotent, so a test sees a doubled delivery. Fails the first
    `fail_first` attempts, after its write.
    """
    org = session.get(Organisation, delivery.org_id)
    assert org is not None
    org.name += str(delivery.kwargs["mark"])
    session.flush()
    if delivery.attempt <= int(delivery.kwargs.get("fail_first", 0)):
        raise RuntimeError(f"短信网关拒绝了 13812345678（第 {delivery.attempt} 次）")


def call_provider(delivery: Delivery) -> None:
    """An external effect: records the call; fails the first `fail_first` attempts."""
    CALLS.append(delivery)
    if delivery.attempt <= int(delivery.kwargs.get("fail_first", 0)):
        raise ConnectionError("provider unreachable")


MARK_ORG = outbox_job("tests.mark_org", queue=QUEUE, timeout=30, retries=2, retry_delay=10)
CALL_PROVIDER = outbox_job("tests.call_provider", queue=QUEUE, timeout=30, retries=1)
NOTE = outbox_job("tests.note", queue=QUEUE)  # enqueued only, never delivered here

register_database_handler(MARK_ORG, mark_org)
register_external_handler(CALL_PROVIDER, call_provider)
register_database_handler(NOTE, lambda session, delivery: None)
