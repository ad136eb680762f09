"""Entry points of `baoxiu worker` and `baoxiu cron`."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from rq import Queue, Worker
from rq.cron import CronScheduler

from server.jobs import PERIODIC, QUEUES
from server.web.logging import configure_logging
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


def run_cron() -> None:
    configure_logging(settings().log_level)
    build_scheduler().start()  # type: ignore[no-untyped-call]
