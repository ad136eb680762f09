"""Delivering outbox items: claim, run the handler, record the outcome; and the sweeper.

A delivery owns its transactions (it is what a job runs, not a step of a request):
1. the claim commits `delivering`, one more attempt and a lease, so that a crash mid-handler
   is visible and counted;
2. the handler runs — a database handler inside a second transaction that locks the row,
   checks the claim is still the current one (the attempt number fences it) and marks the row
   delivered; an external handler outside any transaction, the row marked delivered after it
   returns (at least once, idempotency key = the row's id).
A failure puts the row back to `pending` with an exponential backoff (or `failed` once the
job's retries are used up) and schedules the next delivery after the commit.

The sweeper (every minute) finishes what a dead worker left: an expired lease counts as a
failed attempt; a pending row long past its time (an enqueue lost with Redis, or never made
because the process died right after the commit) is enqueued again — under the same job id,
so sweeping twice enqueues it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.db.session import Database
from server.outbox.dispatch import dispatch_on_commit
from server.outbox.models import OutboxItem
from server.outbox.registry import Delivery, handler_for, spec_for
from server.outbox.rules import Status, after_failure, error_text, lease

log = logging.getLogger(__name__)

# How long past its time a pending item waits for its own enqueue before the sweeper steps in.
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500
# Delivered items are kept this long for operators, then purged.
KEEP_DELIVERED = timedelta(days=7)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRYING = "retrying"  # the attempt failed; pending again, next delivery scheduled
    FAILED = "failed"  # the attempt failed and it was the last one
    SKIPPED = "skipped"  # not pending, not due, or claimed by another worker right now
    SUPERSEDED = "superseded"  # the lease expired and the row moved on: this run changes nothing


class DeliveryLost(Exception):
    """A worker claimed the item and stopped before finishing (its lease expired)."""


class NoHandler(LookupError):
    """No handler is registered for the job (a worker older than the code that wrote it)."""


@dataclass(frozen=True)
class Claim:
    outbox_id: int
    job: str
    attempt: int
    org_id: int | None
    kwargs: dict[str, Any]


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def deliver(
    db: Database, *, outbox_id: int, job: str, clock: Callable[[], datetime] = _wall_clock
) -> Outcome:
    """Deliver one outbox item: claim it, run its handler, record delivered or failed."""
    with db.transaction() as uow:
        claim = claim_item(uow.session, outbox_id=outbox_id, job=job, now=clock())
    if claim is None:
        return Outcome.SKIPPED
    handler = handler_for(claim.job)
    if handler is None or handler.outside_transaction is None:
        with db.transaction() as uow:
            return run_in_transaction(uow.session, claim=claim, now=clock())
    now = clock()
    error: Exception | None = None
    try:
        handler.outside_transaction(replace(_delivery(claim, now), db=db))
    except Exception as exc:
        error = exc
    with db.transaction() as uow:
        return finish(uow.session, claim=claim, error=error, now=clock())


def claim_item(session: Session, *, outbox_id: int, job: str, now: datetime) -> Claim | None:
    """Take a due pending item for one attempt: `delivering`, attempts + 1, a lease."""
    item = session.scalar(
        select(OutboxItem)
        .where(
            OutboxItem.id == outbox_id,
            # The job name too: a delivery meant for another database's row of the same id
            # (a shared Redis) must not run this one.
            OutboxItem.job == job,
            OutboxItem.status == Status.PENDING.value,
            OutboxItem.next_attempt_at <= now,
        )
        .with_for_update(skip_locked=True)
    )
    if item is None:
        return None
    item.status = Status.DELIVERING.value
    item.attempts += 1
    item.lease_until = now + lease(timeout=spec_for(job).timeout)
    item.updated_at = now
    session.flush()
    return Claim(item.id, item.job, item.attempts, item.org_id, dict(item.kwargs))


def run_in_transaction(session: Session, *, claim: Claim, now: datetime) -> Outcome:
    """Run a database handler and mark the item delivered, in one transaction."""
    item = _current(session, claim)
    if item is None:
        return Outcome.SUPERSEDED
    handler = handler_for(claim.job)
    if handler is None or handler.in_transaction is None:
        return _record_failure(session, item, NoHandler(f"no handler for {claim.job!r}"), now)
    try:
        with session.begin_nested():
            handler.in_transaction(session, _delivery(claim, now))
    except Exception as exc:
        return _record_failure(session, item, exc, now)
    return _mark_delivered(item, now)


def finish(session: Session, *, claim: Claim, error: Exception | None, now: datetime) -> Outcome:
    """Record what an external handler did: delivered, or a failed attempt."""
    item = _current(session, claim)
    if item is None:
        return Outcome.SUPERSEDED
    if error is not None:
        return _record_failure(session, item, error, now)
    return _mark_delivered(item, now)


@dataclass(frozen=True)
class SweepReport:
    lost: int  # claims whose lease expired, counted as failed attempts
    requeued: int  # pending items enqueued again


def sweep(
    session: Session, *, now: datetime, grace: timedelta = SWEEP_GRACE, limit: int = SWEEP_BATCH
) -> SweepReport:
    """Re-arm claims of dead workers and re-enqueue pending items whose enqueue was lost."""
    lost = list(
        session.scalars(
            select(OutboxItem)
            .where(
                OutboxItem.status == Status.DELIVERING.value,
                OutboxItem.lease_until < now,
            )
            .order_by(OutboxItem.lease_until)
            .limit(limit)
            # A row a live delivery holds (locked while its handler runs) is not lost.
            .with_for_update(skip_locked=True)
        )
    )
    for item in lost:
        _record_failure(
            session, item, DeliveryLost("worker stopped before finishing; lease expired"), now
        )
    overdue = session.execute(
        select(OutboxItem.id, OutboxItem.job, OutboxItem.attempts)
        .where(
            OutboxItem.status == Status.PENDING.value,
            OutboxItem.next_attempt_at < now - grace,
        )
        .order_by(OutboxItem.next_attempt_at)
        .limit(limit)
    ).all()
    for outbox_id, job, attempts in overdue:
        dispatch_on_commit(session, outbox_id=outbox_id, job=spec_for(job), attempts=attempts)
    if lost or overdue:
        log.info("outbox sweep: %d lost deliveries, %d re-enqueued", len(lost), len(overdue))
    return SweepReport(lost=len(lost), requeued=len(overdue))


def purge_delivered(session: Session, *, now: datetime, keep: timedelta = KEEP_DELIVERED) -> int:
    """Drop items delivered more than `keep` ago."""
    result = session.execute(
        delete(OutboxItem).where(
            OutboxItem.status == Status.DELIVERED.value, OutboxItem.delivered_at < now - keep
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _delivery(claim: Claim, now: datetime) -> Delivery:
    return Delivery(
        outbox_id=claim.outbox_id,
        attempt=claim.attempt,
        job=claim.job,
        org_id=claim.org_id,
        kwargs=claim.kwargs,
        now=now,
    )


def _current(session: Session, claim: Claim) -> OutboxItem | None:
    """The item, locked, if this claim still holds it (not swept and re-claimed meanwhile)."""
    item = session.get(OutboxItem, claim.outbox_id, with_for_update=True, populate_existing=True)
    if item is None or item.status != Status.DELIVERING.value or item.attempts != claim.attempt:
        log.warning(
            "outbox %s attempt %s: claim superseded, nothing recorded",
            claim.outbox_id,
            claim.attempt,
        )
        return None
    return item


def _mark_delivered(item: OutboxItem, now: datetime) -> Outcome:
    item.status = Status.DELIVERED.value
    item.lease_until = None
    item.delivered_at = item.updated_at = now
    return Outcome.DELIVERED


def _record_failure(session: Session, item: OutboxItem, exc: Exception, now: datetime) -> Outcome:
    spec = spec_for(item.job)
    status, next_attempt_at = after_failure(
        attempts=item.attempts,
        max_attempts=item.max_attempts,
        retries=spec.retries,
        retry_delay=spec.retry_delay,
        now=now,
    )
    item.status = status.value
    item.lease_until = None
    item.last_error = error_text(exc)
    item.next_attempt_at = next_attempt_at
    item.updated_at = now
    log.warning(
        "outbox %s (%s) attempt %d/%d failed: %s",
        item.id,
        item.job,
        item.attempts,
        item.max_attempts,
        item.last_error,
    )
    if status is Status.FAILED:
        return Outcome.FAILED
    dispatch_on_commit(
        session, outbox_id=item.id, job=spec, attempts=item.attempts, at=next_attempt_at
    )
    return Outcome.RETRYING
