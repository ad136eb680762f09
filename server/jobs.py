"""The catalogue of background jobs: what runs where, for how long, how often.

Services name jobs from here by dotted path, so `server` never imports `workers`.
"""

from __future__ import annotations

from dataclasses import dataclass

QUEUES = ("high", "default", "low")


@dataclass(frozen=True)
class JobSpec:
    func: str  # dotted path of the thin job function in `workers.tasks`
    queue: str = "default"
    timeout: int = 300  # seconds
    retries: int = 3


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    job: JobSpec
    cron: str  # crontab in UTC


PURGE_REFRESH_TOKENS = JobSpec("workers.tasks.purge_refresh_tokens", queue="low", timeout=600)
PURGE_IDEMPOTENCY_KEYS = JobSpec("workers.tasks.purge_idempotency_keys", queue="low", timeout=600)

AUTO_CLOSE_ORDERS = JobSpec("workers.tasks.auto_close_orders", queue="default", timeout=600)

PERIODIC: tuple[PeriodicJob, ...] = (
    # Completed orders nobody rated close once the rating window has passed.
    PeriodicJob("auto-close-orders", AUTO_CLOSE_ORDERS, cron="*/15 * * * *"),
    # 03:17 Asia/Shanghai: quiet hours, and off the hour that everyone else picks.
    PeriodicJob("purge-refresh-tokens", PURGE_REFRESH_TOKENS, cron="17 19 * * *"),
    # Keys live 24 h; hourly keeps the table small without racing the requests that use them.
    PeriodicJob("purge-idempotency-keys", PURGE_IDEMPOTENCY_KEYS, cron="41 * * * *"),
)
