"""Outbox tests: the app's database (one SAVEPOINT per test) and this run's own RQ queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from server.outbox.models import OutboxItem
from server.outbox.rules import delivery_job_id
from tests.outbox import handlers


def clear(queue: Queue) -> None:
    queue.empty()
    scheduled = ScheduledJobRegistry(queue=queue)
    for job_id in scheduled.get_job_ids():
        scheduled.remove(job_id, delete_job=True)


@pytest.fixture(autouse=True)
def queue(app: Any) -> Iterator[Queue]:
    """The queue the test jobs go to, empty at the start and at the end of each test."""
    q = Queue(handlers.QUEUE, connection=app.extensions["baoxiu"].redis)
    clear(q)
    yield q
    clear(q)
    # The rows were rolled back; their deliveries' RQ jobs (finished, failed) go too.
    scope = app.extensions["baoxiu"].db.engine.url.database
    redis = app.extensions["baoxiu"].redis
    stale = list(redis.scan_iter(match=f"rq:*outbox-{scope}-*", count=1000))
    if stale:
        redis.delete(*stale)
    redis.srem("rq:queues", q.key)


@pytest.fixture
def db(app: Any, connection: Any) -> Any:
    """The app's Database, its units of work inside the test's outer transaction."""
    return app.extensions["baoxiu"].db


class Jobs:
    """What RQ holds for outbox rows of this run's database."""

    def __init__(self, app: Any, queue: Queue) -> None:
        self.db = app.extensions["baoxiu"].db
        self.redis = app.extensions["baoxiu"].redis
        self.queue = queue

    def id(self, outbox_id: int, attempts: int) -> str:
        return delivery_job_id(self.db.engine.url.database, outbox_id, attempts)

    def get(self, outbox_id: int, attempts: int) -> Job | None:
        job_id = self.id(outbox_id, attempts)
        return Job.fetch(job_id, connection=self.redis) if Job.exists(job_id, self.redis) else None

    def queued(self) -> list[str]:
        return self.queue.get_job_ids()

    def scheduled(self) -> list[str]:
        return ScheduledJobRegistry(queue=self.queue).get_job_ids()


@pytest.fixture
def jobs(app: Any, queue: Queue) -> Jobs:
    return Jobs(app, queue)


@pytest.fixture
def outbox_row(db_session: Any) -> Any:
    """Read an outbox row afresh (None when it does not exist)."""

    def read(outbox_id: int) -> OutboxItem | None:
        return db_session.scalar(
            select(OutboxItem)
            .where(OutboxItem.id == outbox_id)
            .execution_options(populate_existing=True)
        )

    return read
