"""Enqueueing deliveries on RQ, after the commit that wrote (or re-armed) an outbox item.

The RQ job carries only the row's id and job name — never the arguments, which stay in the
database (no personal data in Redis). Its id is deterministic per attempt
(`outbox-<database>-<id>-<attempts>`), so asking twice for the same delivery enqueues it once.
The enqueue may still be lost (Redis down, the process killed right after the commit): the
row stays pending and the sweeper enqueues it again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session

from server.db.session import Database, on_commit
from server.jobs import DELIVER_OUTBOX, JobSpec
from server.outbox.rules import delivery_job_id

log = logging.getLogger(__name__)

DISPATCHER_KEY = "baoxiu_outbox_dispatcher"
# A delivery waiting in RQ (or running): asking for it again changes nothing. (A job whose
# worker was killed stays `started` until RQ's own cleanup fails it; if it had claimed its
# item, the item's expired lease brings it back sooner, under the next attempt's job id.)
WAITING = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED})
RESULT_TTL = 3600  # seconds RQ keeps a finished delivery (the outbox row is the record)
FAILURE_TTL = 7 * 24 * 3600


class Dispatcher:
    """Puts delivery jobs on RQ queues."""

    def __init__(self, connection: redis.Redis, *, scope: str) -> None:
        self.connection = connection
        self.scope = scope

    def dispatch(
        self, *, outbox_id: int, job: JobSpec, attempts: int, at: datetime | None = None
    ) -> bool:
        """Enqueue the delivery of attempt `attempts + 1` (now, or at `at`); False if there."""
        job_id = delivery_job_id(self.scope, outbox_id, attempts)
        for _ in range(2):
            try:
                self._enqueue(job_id, outbox_id=outbox_id, job=job, at=at)
                return True
            except DuplicateJobError:
                if not self._forget_if_done(job_id):
                    return False
        return False

    def _enqueue(self, job_id: str, *, outbox_id: int, job: JobSpec, at: datetime | None) -> None:
        queue = Queue(job.queue, connection=self.connection)
        options = {
            "job_id": job_id,
            "unique": True,
            "job_timeout": job.timeout,
            "result_ttl": RESULT_TTL,
            "failure_ttl": FAILURE_TTL,
            "description": f"outbox {outbox_id} {job.name}",
        }
        if at is not None and at > datetime.now(UTC):
            queue.enqueue_at(at, DELIVER_OUTBOX, outbox_id, job.name, **options)
        else:
            queue.enqueue(DELIVER_OUTBOX, outbox_id, job.name, **options)

    def _forget_if_done(self, job_id: str) -> bool:
        """A finished or failed RQ job of this id no longer delivers anything: drop it."""
        try:
            existing = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return True  # gone meanwhile
        if existing.get_status(refresh=False) in WAITING:
            return False
        existing.delete()
        return True


def attach_dispatcher(db: Database, connection: redis.Redis) -> None:
    """Let every unit of work of `db` enqueue outbox deliveries on `connection`."""
    db.session_info[DISPATCHER_KEY] = Dispatcher(
        connection, scope=db.engine.url.database or "baoxiu"
    )


def dispatch_on_commit(
    session: Session,
    *,
    outbox_id: int,
    job: JobSpec,
    attempts: int,
    at: datetime | None = None,
) -> None:
    """After the commit, enqueue the delivery of an outbox item (now, or at `at`).

    On rollback: nothing.
    """
    dispatcher: Dispatcher | None = session.info.get(DISPATCHER_KEY)

    def enqueue() -> None:
        if dispatcher is None:
            log.info("no job queue in this process: the sweeper delivers outbox %s", outbox_id)
            return
        try:
            dispatcher.dispatch(outbox_id=outbox_id, job=job, attempts=attempts, at=at)
        except (redis.ConnectionError, redis.TimeoutError):
            # Redis is away: the row is committed and stays pending; the sweeper enqueues it
            # once Redis is back (docs/runbook.md, "Outages").
            log.warning("job queue unavailable: the sweeper delivers outbox %s", outbox_id)

    on_commit(session, enqueue)
