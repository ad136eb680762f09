"""Delivery: claim, handler, delivered — or a failed attempt, a backoff, and at last `failed`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import JobStatus
from rq.registry import ScheduledJobRegistry

from server.jobs import outbox_job
from server.outbox import delivery
from server.outbox.delivery import Outcome, claim_item, run_in_transaction, sweep
from server.outbox.models import OutboxItem
from server.outbox.outbox import enqueue_on_commit
from server.outbox.rules import lease
from tests.outbox import handlers

MARK = handlers.MARK_ORG.name


def _enqueue(db, job, **kwargs) -> int:
    with db.transaction() as uow:
        return enqueue_on_commit(uow.session, job, **kwargs)


def _deliver(db, outbox_id: int, at: datetime, job: str = MARK) -> Outcome:
    return delivery.deliver(db, outbox_id=outbox_id, job=job, clock=lambda: at)


def _name(db_session, org) -> str:
    db_session.refresh(org)
    return org.name


@pytest.fixture
def later():
    """A clock comfortably after every row the test writes."""
    return datetime.now(UTC) + timedelta(seconds=1)


def test_a_database_handler_runs_once_and_the_row_is_delivered_with_it(
    db, org, jobs, outbox_row, db_session, later
):
    name = org.name
    outbox_id = _enqueue(db, handlers.MARK_ORG, org_id=org.id, mark="+")

    assert _deliver(db, outbox_id, later) is Outcome.DELIVERED
    assert _deliver(db, outbox_id, later + timedelta(minutes=5)) is Outcome.SKIPPED

    row = outbox_row(outbox_id)
    assert (row.status, row.attempts, row.lease_until) == ("delivered", 1, None)
    assert row.delivered_at == later
    assert _name(db_session, org) == name + "+"


def test_failures_back_off_exponentially_then_give_up(db, org, jobs, outbox_row, db_session, later):
    name = org.name
    outbox_id = _enqueue(db, handlers.MARK_ORG, org_id=org.id, mark="+", fail_first=99)

    assert _deliver(db, outbox_id, later) is Outcome.RETRYING
    row = outbox_row(outbox_id)
    assert (row.status, row.attempts, row.lease_until) == ("pending", 1, None)
    assert row.next_attempt_at == later + timedelta(seconds=10)  # the catalogue's retry_delay
    # No personal data in what operators see: the phone in the message is masked.
    assert row.last_error == "RuntimeError: 短信网关拒绝了 138****5678（第 1 次）"
    # The handler's own write went with its failure.
    assert _name(db_session, org) == name
    # The next delivery waits in RQ's schedule for its time.
    assert jobs.scheduled() == [jobs.id(outbox_id, 1)]

    assert _deliver(db, outbox_id, later + timedelta(seconds=9)) is Outcome.SKIPPED  # not due
    second = later + timedelta(seconds=10)
    assert _deliver(db, outbox_id, second) is Outcome.RETRYING
    assert outbox_row(outbox_id).next_attempt_at == second + timedelta(seconds=20)
    assert jobs.id(outbox_id, 2) in jobs.scheduled()

    # retries=2: the third attempt is the last.
    assert _deliver(db, outbox_id, second + timedelta(seconds=20)) is Outcome.FAILED
    row = outbox_row(outbox_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "第 3 次" in row.last_error
    assert jobs.get(outbox_id, 3) is None
    assert _name(db_session, org) == name


def test_a_retry_that_succeeds_delivers_once(db, org, outbox_row, db_session, later):
    name = org.name
    outbox_id = _enqueue(db, handlers.MARK_ORG, org_id=org.id, mark="+", fail_first=1)
    assert _deliver(db, outbox_id, later) is Outcome.RETRYING
    assert _deliver(db, outbox_id, later + timedelta(seconds=10)) is Outcome.DELIVERED
    assert outbox_row(outbox_id).attempts == 2
    assert _name(db_session, org) == name + "+"


def test_a_late_worker_whose_lease_expired_changes_nothing(
    db, org, jobs, outbox_row, db_session, later
):
    name = org.name
    outbox_id = _enqueue(db, handlers.MARK_ORG, org_id=org.id, mark="+")
    with db.transaction() as uow:
        stalled = claim_item(uow.session, outbox_id=outbox_id, job=MARK, now=later)
    assert stalled is not None and stalled.attempt == 1
    assert outbox_row(outbox_id).status == "delivering"

    # The worker went silent past its lease: the sweeper counts the attempt as failed.
    swept_at = later + lease(timeout=handlers.MARK_ORG.timeout) + timedelta(seconds=1)
    with db.transaction() as uow:
        report = sweep(uow.session, now=swept_at)
    assert report.lost >= 1
    row = outbox_row(outbox_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("DeliveryLost")
    assert row.next_attempt_at == swept_at + timedelta(seconds=10)
    assert jobs.scheduled() == [jobs.id(outbox_id, 1)]

    # Another worker claims the second attempt …
    retry_at = row.next_attempt_at
    with db.transaction() as uow:
        current = claim_item(uow.session, outbox_id=outbox_id, job=MARK, now=retry_at)
    assert current is not None and current.attempt == 2
    # … the stalled one wakes up while the row is `delivering` again: not its claim any more.
    with db.transaction() as uow:
        assert run_in_transaction(uow.session, claim=stalled, now=retry_at) is Outcome.SUPERSEDED
    assert _name(db_session, org) == name
    with db.transaction() as uow:
        assert run_in_transaction(uow.session, claim=current, now=retry_at) is Outcome.DELIVERED
    with db.transaction() as uow:
        assert run_in_transaction(uow.session, claim=stalled, now=retry_at) is Outcome.SUPERSEDED
    assert (outbox_row(outbox_id).status, outbox_row(outbox_id).attempts) == ("delivered", 2)
    assert _name(db_session, org) == name + "+"


def test_a_lost_delivery_on_its_last_attempt_fails(db, org, outbox_row, later):
    one_shot = outbox_job("tests.mark_org", queue=handlers.QUEUE)  # same name: same handler
    outbox_id = _enqueue(db, one_shot, org_id=org.id, mark="+")
    with db.transaction() as uow:
        row = uow.session.get(OutboxItem, outbox_id)
        row.max_attempts = 1
    with db.transaction() as uow:
        claim_item(uow.session, outbox_id=outbox_id, job=MARK, now=later)
    with db.transaction() as uow:
        sweep(uow.session, now=later + timedelta(hours=1))
    row = outbox_row(outbox_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("DeliveryLost")


def test_an_external_handler_runs_outside_and_at_least_once(db, org, jobs, outbox_row, later):
    handlers.CALLS.clear()
    outbox_id = _enqueue(db, handlers.CALL_PROVIDER, org_id=org.id, fail_first=1)
    job = handlers.CALL_PROVIDER.name

    assert _deliver(db, outbox_id, later, job) is Outcome.RETRYING
    assert outbox_row(outbox_id).last_error == "ConnectionError: provider unreachable"
    assert _deliver(db, outbox_id, later + timedelta(seconds=30), job) is Outcome.DELIVERED

    # Both calls carry the row's id: the provider's idempotency key.
    assert [(c.outbox_id, c.attempt) for c in handlers.CALLS] == [(outbox_id, 1), (outbox_id, 2)]
    assert outbox_row(outbox_id).status == "delivered"


def test_a_job_nobody_handles_fails_visibly(db, org, app, outbox_row, later):
    unknown = outbox_job("tests.nobody", queue=handlers.QUEUE)
    outbox_id = _enqueue(db, unknown, org_id=org.id)
    try:
        assert _deliver(db, outbox_id, later, "tests.nobody") is Outcome.RETRYING
        assert outbox_row(outbox_id).last_error == "NoHandler: no handler for 'tests.nobody'"
    finally:
        # An unknown job retries on the catalogue's default queue: leave nothing there.
        default = Queue("default", connection=app.extensions["baoxiu"].redis)
        scheduled = ScheduledJobRegistry(queue=default)
        for job_id in scheduled.get_job_ids():
            if job_id.endswith(f"-{outbox_id}-1") and db.engine.url.database in job_id:
                scheduled.remove(job_id, delete_job=True)


def test_a_delivery_for_another_job_of_the_same_id_is_not_claimed(db, org, outbox_row, later):
    outbox_id = _enqueue(db, handlers.MARK_ORG, org_id=org.id, mark="+")
    assert _deliver(db, outbox_id, later, "tests.something_else") is Outcome.SKIPPED
    assert outbox_row(outbox_id).status == "pending"


def test_the_sweeper_re_enqueues_lost_enqueues_once(db, org, jobs, outbox_row, queue):
    outbox_id = _enqueue(db, handlers.MARK_ORG, org_id=org.id, mark="+")
    due = outbox_row(outbox_id).next_attempt_at
    queue.empty()  # the enqueue after the commit never reached Redis

    with db.transaction() as uow:
        sweep(uow.session, now=due + timedelta(minutes=1))  # inside the grace: still waiting
    assert jobs.queued() == []

    for _ in range(2):
        with db.transaction() as uow:
            sweep(uow.session, now=due + timedelta(minutes=3))
    assert jobs.queued() == [jobs.id(outbox_id, 0)]

    # The delivery ran but found nothing to do (say the row was locked): the RQ job is
    # finished, the row still pending. The next sweep enqueues it again.
    finished = jobs.get(outbox_id, 0)
    queue.remove(finished)
    finished.set_status(JobStatus.FINISHED)
    with db.transaction() as uow:
        sweep(uow.session, now=due + timedelta(minutes=4))
    assert jobs.queued() == [jobs.id(outbox_id, 0)]
    assert jobs.get(outbox_id, 0).get_status() == JobStatus.QUEUED


def test_delivered_items_are_purged_after_a_week(db, org, outbox_row, later):
    old, recent, waiting = (
        _enqueue(db, handlers.MARK_ORG, org_id=org.id, mark=m) for m in ("a", "b", "c")
    )
    assert _deliver(db, old, later) is _deliver(db, recent, later) is Outcome.DELIVERED
    with db.transaction() as uow:
        uow.session.get(OutboxItem, old).delivered_at = later - timedelta(days=8)
        uow.session.get(OutboxItem, recent).delivered_at = later - timedelta(days=6)
    with db.transaction() as uow:
        assert delivery.purge_delivered(uow.session, now=later) >= 1
    assert outbox_row(old) is None
    assert outbox_row(recent).status == "delivered"
    assert outbox_row(waiting).status == "pending"
