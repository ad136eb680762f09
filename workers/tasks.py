"""Thin job functions: each opens one unit of work and calls one service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from rq import Queue

from server.accounts import maintenance
from server.booking import holds
from server.complaints import deadlines as complaint_deadlines
from server.dashboard import rollup as dashboard_rollup
from server.idempotency import keys as idempotency
from server.imports import loading as imports
from server.jobs import RECONCILE_DAY
from server.notices import publishing as notice_publishing
from server.orders import steps
from server.outbox import delivery
from server.parking import reminders as parking_reminders
from server.payments import accounts as payment_accounts
from server.payments import followup
from server.reconciliation import matching, runs
from server.sla import timers as sla_timers
from server.uploads import sweeper
from workers.runtime import database, redis_connection, settings

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


def sla_tick(now: datetime | None = None, batch: int = 200) -> dict[str, int]:
    """Send the SLA reminders, escalations and visit reminders now due (every minute)."""
    at = now or datetime.now(UTC)
    totals = {"reminded": 0, "escalated": 0, "visits": 0}
    while True:  # in batches, each its own short transaction
        with database().transaction() as uow:
            report = sla_timers.tick(uow.session, now=at, batch=batch)
        totals["reminded"] += report.reminded
        totals["escalated"] += report.escalated
        totals["visits"] += report.visits
        if report.seen < batch:
            break
    log.info("sla tick: %s", totals)
    return totals


def publish_due_notices(now: datetime | None = None, batch: int = 100) -> int:
    """Publish the scheduled notices now due, each once (every minute)."""
    at = now or datetime.now(UTC)
    published = 0
    while True:  # in batches, each its own short transaction
        with database().transaction() as uow:
            count = notice_publishing.publish_due(uow.session, now=at, batch=batch)
        published += count
        if count < batch:
            break
    log.info("published %d scheduled notices", published)
    return published


def refresh_dashboard(now: datetime | None = None) -> dict[str, int]:
    """Bring each organisation's dashboard rollup up to date (every minute), each in its own
    transaction; an organisation another run is refreshing is skipped."""
    at = now or datetime.now(UTC)
    totals = {"organisations": 0, "skipped": 0, "days": 0, "rows": 0}
    with database().transaction() as uow:
        org_ids = dashboard_rollup.organisations(uow.session)
    for org_id in org_ids:
        with database().transaction() as uow:
            report = dashboard_rollup.refresh(uow.session, org_id=org_id, now=at)
        if report is None:
            totals["skipped"] += 1
            continue
        totals["organisations"] += 1
        totals["days"] += report.days
        totals["rows"] += report.rows
    log.info("dashboard rollup: %s", totals)
    return totals


def complaint_tick(now: datetime | None = None, batch: int = 200) -> int:
    """Send the complaints' deadline reminders and escalations now due (every 5 minutes)."""
    at = now or datetime.now(UTC)
    alerted = 0
    while True:  # in batches, each its own short transaction
        with database().transaction() as uow:
            report = complaint_deadlines.tick(uow.session, now=at, batch=batch)
        alerted += report.alerted
        if report.seen < batch:
            break
    log.info("complaint tick: %d alerts", alerted)
    return alerted


def parking_reminders_tick(now: datetime | None = None, batch: int = 200) -> int:
    """Tell the desk of rented parking spaces whose contract ends soon (daily, once each)."""
    at = now or datetime.now(UTC)
    reminded = 0
    while True:  # in batches, each its own short transaction
        with database().transaction() as uow:
            report = parking_reminders.remind_expiring(uow.session, now=at, batch=batch)
        reminded += report.reminded
        if report.seen < batch:
            break
    log.info("parking reminders: %d sent", reminded)
    return reminded


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


def refresh_platform_certificates() -> dict[str, int]:
    """Download WeChat Pay platform certificates; alert before the trusted ones run out."""
    report = payment_accounts.refresh_platform_certificates(
        database(), settings(), now=datetime.now(UTC)
    )
    log.info("platform certificates: %s", report)
    return report


def reconcile_day(run_id: int) -> str:
    """Reconcile one day's bill (the run owns its transactions; see matching.reconcile)."""
    return matching.reconcile(database(), settings=settings(), run_id=run_id)


def reconcile_due() -> dict[str, int]:
    """The half-hourly tick: queue yesterday's runs, retry bills not made yet, give up at 14:00."""
    with database().transaction() as uow:
        due = runs.prepare_due(uow.session, settings=settings(), now=datetime.now(UTC))
    queue = Queue(RECONCILE_DAY.queue, connection=redis_connection())
    for run_id in due.run_ids:
        queue.enqueue(
            RECONCILE_DAY.func,
            run_id,
            job_timeout=RECONCILE_DAY.timeout,
            description=f"reconciliation {run_id}",
        )
    return {"enqueued": len(due.run_ids), "gave_up": due.gave_up}


def run_import(job_id: int) -> str:
    """Run one import job (dry run or real run; it owns its transactions)."""
    return imports.run_import(database(), job_id=job_id, upload_dir=settings().upload_dir)
