"""The SLA tick is a periodic job that a real RQ worker runs."""

from __future__ import annotations

import pytest
import redis
from rq import Queue, SimpleWorker

from server.jobs import PERIODIC, SLA_TICK
from workers import main as worker_main
from workers import runtime


def test_the_tick_runs_every_minute():
    (tick,) = [p for p in PERIODIC if p.job is SLA_TICK]
    assert tick.cron == "* * * * *"
    assert callable(worker_main._resolve(SLA_TICK.func))


@pytest.mark.usefixtures("database_url")
def test_the_tick_runs_in_a_real_worker(redis_url, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    runtime.settings.cache_clear()
    runtime.database.cache_clear()
    try:
        connection = redis.Redis.from_url(redis_url)
        queue = Queue("test-sla", connection=connection)
        job = queue.enqueue(worker_main._resolve(SLA_TICK.func))
        SimpleWorker([queue], connection=connection).work(burst=True)
        job.refresh()
        assert job.is_finished, job.latest_result()
        assert set(job.return_value()) == {"reminded", "escalated", "visits"}
    finally:
        runtime.database().dispose()
        runtime.settings.cache_clear()
        runtime.database.cache_clear()
