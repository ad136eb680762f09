"""Entry points of `baoxiu worker` and `baoxiu cron`."""

from __future__ import annotations

import importlib
import logging
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import redis
from rq import Queue, Worker
from rq.cron import CronScheduler

from server.jobs import PERIODIC, QUEUES
from server.web.logging import configure_logging
from workers.leader import CRON_LOCK_KEY, LeaderLock
from workers.runtime import redis_connection, settings

log = logging.getLogger(__name__)


def _resolve(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.rpartition(".")
    func: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return func


def run_worker(queues: Sequence[str] = QUEUES, *, burst: bool = False) -> bool:
    """Work the queues in priority order until stopped (or until empty with `burst`)."""
    configure_logging(settings().log_level)  # jobs log through the same masks as requests
    # Import the job functions (and with them the app's modules) once, before RQ forks a work
    # horse per job: each horse then starts warm instead of importing everything again.
    importlib.import_module("workers.tasks")
    _warm_push_sender()
    connection = redis_connection()
    worker = Worker([Queue(name, connection=connection) for name in queues], connection=connection)
    return bool(worker.work(burst=burst, with_scheduler=True))


def _warm_push_sender() -> None:
    """Build the FCM sender and fetch its token before forking: each job inherits them."""
    from server.notifications.delivery import push_sender

    try:
        sender = push_sender(settings())
        if sender is not None:
            sender.warm()
    except Exception as exc:  # a push job will try (and report) again; the worker must start
        log.warning("FCM not warmed up: %s", type(exc).__name__)


def build_scheduler() -> CronScheduler:
    """A cron scheduler with every periodic job of the catalogue registered."""
    scheduler = CronScheduler(connection=redis_connection(), name="baoxiu-cron")
    for periodic in PERIODIC:
        scheduler.register(
            _resolve(periodic.job.func),
            queue_name=periodic.job.queue,
            cron=periodic.cron,
            job_timeout=periodic.job.timeout,
            name=periodic.name,
        )
    return scheduler


def run_cron(scheduler: CronScheduler | None = None, *, lock_key: str = CRON_LOCK_KEY) -> None:
    """Schedule the periodic jobs while this process holds the cron leader lock.

    Any number of `baoxiu cron` may run: one leads (enqueues), the others follow (keep their
    schedule moving without enqueuing, so a takeover does not replay what the leader did) and
    take over within the lock's time to live once the leader is gone. SIGTERM / SIGINT stop
    the loop and release the lock.
    """
    configure_logging(settings().log_level)
    scheduler = scheduler or build_scheduler()
    lock = LeaderLock(
        redis_connection(), key=lock_key, ttl_seconds=settings().cron_lock_ttl_seconds
    )
    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    leading = following = False
    log.info("cron %s started; leader lock %s", lock.token, lock.key)
    try:
        while not stopping:
            if lock.hold():
                if not leading:
                    log.info("cron %s leads: it schedules the periodic jobs", lock.token)
                    scheduler.register_birth()
                    leading, following = True, False
                if scheduler.enqueue_jobs():
                    scheduler.save()
                scheduler.heartbeat()
            else:
                if leading or not following:
                    if leading:
                        log.warning("cron %s lost the leader lock", lock.token)
                        scheduler.register_death()
                    log.info("cron %s follows; %s leads", lock.token, _holder(lock))
                    leading, following = False, True
                _follow(scheduler)
            pause = min(lock.renew_every, max(scheduler.calculate_sleep_interval(), 0.2))
            _sleep_unless(stopping, pause)
    finally:
        lock.release()
        if leading:
            scheduler.register_death()
        log.info("cron %s stopped", lock.token)


def _holder(lock: LeaderLock) -> str:
    try:
        return lock.holder() or "nobody"
    except redis.RedisError:
        return "unknown (Redis unavailable)"


def _follow(scheduler: CronScheduler) -> None:
    """Move every due job to its next time without enqueuing it: the leader enqueued it."""
    now = datetime.now(UTC)
    for job in scheduler.get_jobs():
        if job.should_run():
            job.set_enqueue_time(now)


def _sleep_unless(stopping: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stopping and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))
