"""The catalogue of background jobs: what runs where, for how long, how often.

Services name jobs from here by dotted path, so `server` never imports `workers`.

Two kinds of job:
- plain jobs: a thin function in `workers.tasks`, enqueued as is (the periodic maintenance);
  a periodic job that fails simply runs again at its next time.
- outbox jobs (`outbox_job`): side effects whose loss matters. A use case writes them with
  `server.outbox.outbox.enqueue_on_commit` in its own transaction; after the commit one RQ
  job (`deliver_outbox`) delivers the row to the handler registered under the job's name in
  `server.outbox.registry`, `retries` more times on failure with an exponential backoff from
  `retry_delay`, and the sweeper re-delivers what a crashed worker or a lost enqueue left.
"""

from __future__ import annotations

from dataclasses import dataclass

QUEUES = ("high", "default", "low")


@dataclass(frozen=True)
class JobSpec:
    func: str  # dotted path of the thin job function in `workers.tasks`
    queue: str = "default"
    timeout: int = 300  # seconds
    retries: int = 3  # outbox jobs: attempts after the first before the item is `failed`
    retry_delay: int = 30  # outbox jobs: seconds before the first retry, doubling each time
    name: str = ""  # outbox jobs: the handler's name (stored on the outbox row)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    job: JobSpec
    cron: str  # crontab in UTC


DELIVER_OUTBOX = "workers.tasks.deliver_outbox"


def outbox_job(
    name: str,
    *,
    queue: str = "default",
    timeout: int = 300,
    retries: int = 3,
    retry_delay: int = 30,
) -> JobSpec:
    """An outbox job: delivered by `deliver_outbox` to the handler registered as `name`."""
    return JobSpec(DELIVER_OUTBOX, queue, timeout, retries, retry_delay, name)


PURGE_REFRESH_TOKENS = JobSpec("workers.tasks.purge_refresh_tokens", queue="low", timeout=600)
PURGE_IDEMPOTENCY_KEYS = JobSpec("workers.tasks.purge_idempotency_keys", queue="low", timeout=600)

AUTO_CLOSE_ORDERS = JobSpec("workers.tasks.auto_close_orders", queue="default", timeout=600)
EXPIRE_BOOKING_HOLDS = JobSpec("workers.tasks.expire_booking_holds", queue="default", timeout=300)
# SLA (督办): reminders at 80 % of a deadline, escalations past it, booked-visit reminders.
SLA_TICK = JobSpec("workers.tasks.sla_tick", queue="high", timeout=120)
# Complaints (投诉建议): reminders and escalations on their deadlines per severity.
COMPLAINT_TICK = JobSpec("workers.tasks.complaint_tick", queue="default", timeout=120)

# Parking (客车关系): rented spaces whose contract ends within their reminder days.
PARKING_REMINDERS = JobSpec("workers.tasks.parking_reminders_tick", queue="low", timeout=300)

SWEEP_OUTBOX = JobSpec("workers.tasks.sweep_outbox", queue="high", timeout=120)
PURGE_OUTBOX = JobSpec("workers.tasks.purge_outbox", queue="low", timeout=600)

# Payments: refunds owed after a settlement or a late payment, the provider calls that make
# and follow refunds, and the sweep that asks providers about payments nobody told us about.
ORDER_SETTLED = outbox_job("payments.order_settled", queue="high")
SUBMIT_REFUND = outbox_job("payments.submit_refund", queue="high", retries=8, retry_delay=30)
QUERY_REFUND = outbox_job("payments.query_refund", queue="default", retries=5, retry_delay=60)
CLOSE_PAYMENT = outbox_job("payments.close_payment", queue="default", retries=6, retry_delay=60)
# Notifications: one delivery per event (its pushes batched), retried on transient errors.
DELIVER_NOTIFICATIONS = outbox_job(
    "notifications.deliver", queue="high", timeout=300, retries=6, retry_delay=20
)
# Notices (通知公告): the fan-out of a published notice, cut into parts run on any worker, and
# the per-minute tick that publishes scheduled notices. The parts share the deliveries' queue:
# queued together, every part writes its inbox rows before the pushes of the first are sent.
NOTICE_FAN_OUT = outbox_job("notices.fan_out", queue="high", retries=6, retry_delay=10)
NOTICE_FAN_OUT_PART = outbox_job(
    "notices.fan_out_part", queue="high", timeout=600, retries=6, retry_delay=10
)
# The data dashboard's daily rollup: the days whose orders changed since the last run.
REFRESH_DASHBOARD = JobSpec("workers.tasks.refresh_dashboard", queue="default", timeout=600)
PUBLISH_DUE_NOTICES = JobSpec("workers.tasks.publish_due_notices", queue="default", timeout=120)
# Surveys (满意度调查): the targeted tenants told once a survey opens.
ANNOUNCE_SURVEY = outbox_job("surveys.announce", queue="default", retries=6, retry_delay=10)
SWEEP_PAYMENTS = JobSpec("workers.tasks.sweep_payments", queue="default", timeout=300)
# WeChat Pay platform certificates: download the new ones, alert before the last one expires.
REFRESH_PLATFORM_CERTIFICATES = JobSpec(
    "workers.tasks.refresh_platform_certificates", queue="low", timeout=600
)

SWEEP_UPLOADS = JobSpec("workers.tasks.sweep_uploads", queue="low", timeout=1800)

# Daily reconciliation (对账): one run of one day's bill (download, stream, match), and the
# half-hourly tick that queues yesterday's runs from 10:30 to 14:00 Beijing time and retries
# the ones whose bill was not ready yet.
RECONCILE_DAY = JobSpec("workers.tasks.reconcile_day", queue="low", timeout=3600)
RECONCILE_DUE = JobSpec("workers.tasks.reconcile_due", queue="low", timeout=300)

# Batch import (批量导入): one uploaded file, validated (dry run) or written in one transaction.
RUN_IMPORT = JobSpec("workers.tasks.run_import", queue="default", timeout=3600)

PERIODIC: tuple[PeriodicJob, ...] = (
    # Completed orders nobody rated close once the rating window has passed.
    PeriodicJob("auto-close-orders", AUTO_CLOSE_ORDERS, cron="*/15 * * * *"),
    # Booked orders left unpaid past their hold are cancelled and free their slot.
    PeriodicJob("expire-booking-holds", EXPIRE_BOOKING_HOLDS, cron="* * * * *"),
    # Deadlines are promised to the minute: the tick is idempotent, so a late run catches up.
    PeriodicJob("sla-tick", SLA_TICK, cron="* * * * *"),
    # Complaint deadlines are hours long: every 5 minutes is timely (each alert is sent once).
    PeriodicJob("complaint-tick", COMPLAINT_TICK, cron="*/5 * * * *"),
    # 03:17 Asia/Shanghai: quiet hours, and off the hour that everyone else picks.
    PeriodicJob("purge-refresh-tokens", PURGE_REFRESH_TOKENS, cron="17 19 * * *"),
    # Keys live 24 h; hourly keeps the table small without racing the requests that use them.
    PeriodicJob("purge-idempotency-keys", PURGE_IDEMPOTENCY_KEYS, cron="41 * * * *"),
    # Re-deliver outbox items whose enqueue was lost or whose worker died mid-delivery.
    PeriodicJob("sweep-outbox", SWEEP_OUTBOX, cron="* * * * *"),
    # 03:53 Asia/Shanghai: delivered items are kept a week for operators, then dropped.
    PeriodicJob("purge-outbox", PURGE_OUTBOX, cron="53 19 * * *"),
    # Payments still open after a few minutes and refunds still processing: ask the provider.
    PeriodicJob("sweep-payments", SWEEP_PAYMENTS, cron="*/2 * * * *"),
    # Every 6 hours, at :47 (WeChat asks for a download interval under 12 hours; a new platform
    # certificate is published well before the old one expires). Alerts are deduplicated.
    PeriodicJob(
        "refresh-platform-certificates", REFRESH_PLATFORM_CERTIFICATES, cron="47 */6 * * *"
    ),
    # 04:23 Asia/Shanghai: upload files without rows, rows without files, uploads never attached.
    PeriodicJob("sweep-uploads", SWEEP_UPLOADS, cron="23 20 * * *"),
    # 10:00–14:00 Asia/Shanghai on the half hour; the tick itself starts at 10:30 and stops
    # retrying bills that are still not made at 14:00 (their runs are marked failed).
    PeriodicJob("reconcile-due", RECONCILE_DUE, cron="0,30 2-6 * * *"),
    # Scheduled notices go out within a minute of their time (the tick publishes each once).
    PeriodicJob("publish-due-notices", PUBLISH_DUE_NOTICES, cron="* * * * *"),
    # The dashboard is at most about a minute behind its orders (today is always live).
    PeriodicJob("refresh-dashboard", REFRESH_DASHBOARD, cron="* * * * *"),
    # 08:30 Asia/Shanghai, when the desk starts: rentals ending soon (each contract once).
    PeriodicJob("parking-reminders", PARKING_REMINDERS, cron="30 0 * * *"),
)
