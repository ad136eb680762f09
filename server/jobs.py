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

PERIODIC: tuple[PeriodicJob, ...] = (
    # 03:17 Asia/Shanghai: quiet hours, and off the hour that everyone else picks.
    PeriodicJob("purge-refresh-tokens", PURGE_REFRESH_TOKENS, cron="17 19 * * *"),
)
