"""A slow outbox handler for the crash test, importable by a real worker process.

The worker is started through `tests.workers.outbox_worker`, which imports this module before
handing over to `baoxiu`: the registry is extended by test code, not by a switch in the product.
The queue name comes from the test (environment), so the worker listens on this run's own queue.
"""

from __future__ import annotations

import os
import time
import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.jobs import outbox_job
from server.outbox.registry import Delivery, register_database_handler

QUEUE_ENV = "BAOXIU_TEST_OUTBOX_QUEUE"
QUEUE = os.environ.get(QUEUE_ENV) or f"test-outbox-worker-{uuid.uuid4().hex[:12]}"

STARTS = "outbox_test_starts"  # one row per attempt that began, committed at once
EFFECTS = "outbox_test_effects"  # the handler's effect, in the delivery's transaction
TABLES = (
    f"CREATE TABLE IF NOT EXISTS {STARTS} (outbox_id bigint, attempt int, pid int)",
    f"CREATE TABLE IF NOT EXISTS {EFFECTS} (outbox_id bigint, attempt int)",
)


def slow_effect(session: Session, delivery: Delivery) -> None:
    """Record the start (committed on its own), write the effect, then dawdle on attempt 1.

    The effect table has no unique key on purpose: a doubled delivery would show as two rows.
    """
    params = {"id": delivery.outbox_id, "attempt": delivery.attempt}
    with session.get_bind().connect() as marker:
        marker.execute(
            text(f"INSERT INTO {STARTS} VALUES (:id, :attempt, :pid)"),
            {**params, "pid": os.getpid()},
        )
        marker.commit()
    session.execute(text(f"INSERT INTO {EFFECTS} VALUES (:id, :attempt)"), params)
    if delivery.attempt == 1:
        time.sleep(float(delivery.kwargs["first_attempt_sleep"]))


# A short timeout keeps the lease (timeout + margin) short; no backoff after a lost attempt.
SLOW_EFFECT = outbox_job("tests.slow_effect", queue=QUEUE, timeout=3, retries=3, retry_delay=0)
register_database_handler(SLOW_EFFECT, slow_effect)
