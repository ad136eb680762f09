"""A real worker killed mid-delivery (SIGKILL): the outbox item is delivered once, not lost.

Real processes, real commits: this test stays away from the SAVEPOINT fixtures. It commits
its rows in the run's own database and removes them at the end; the worker listens on a queue
of its own, so other test runs sharing the Redis never see these jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue
from sqlalchemy import text

from server.outbox.models import OutboxItem
from server.outbox.outbox import enqueue_on_commit
from tests.workers import outbox_handlers
from tests.workers.outbox_handlers import EFFECTS, SLOW_EFFECT, STARTS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# `baoxiu worker`, with the test handlers imported first.
WORKER = (sys.executable, "-m", "tests.workers.outbox_worker", "worker")


def _wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Workers:
    """`baoxiu worker` processes on the test queue, each in a process group of its own."""

    def __init__(self, database_url: str, redis_url: str, logs: Path) -> None:
        self.env = {
            **os.environ,
            "BAOXIU_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            outbox_handlers.QUEUE_ENV: outbox_handlers.QUEUE,
        }
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(
            [*WORKER, "--queue", outbox_handlers.QUEUE],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the scheduler it forks dies with it
        )
        self.started.append(process)
        return process

    def crash(self, process: subprocess.Popen[bytes], horse_pid: int) -> None:
        """What a lost machine does: worker, its scheduler and the job's horse die at once."""
        os.killpg(process.pid, signal.SIGKILL)
        os.kill(horse_pid, signal.SIGKILL)  # RQ puts the horse in a process group of its own
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def committed(app: Any, redis_url: str) -> Iterator[Any]:
    """The app's Database outside any test transaction; its tables and rows removed after."""
    db = app.extensions["baoxiu"].db
    with db.engine.begin() as conn:
        for statement in outbox_handlers.TABLES:
            conn.execute(text(statement))
    yield db
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {STARTS}, {EFFECTS}"))
        conn.execute(text("DELETE FROM outbox WHERE job = :job"), {"job": SLOW_EFFECT.name})
    # Everything RQ keeps about this queue and these deliveries (the killed worker cleaned
    # nothing up).
    redis = app.extensions["baoxiu"].redis
    scope = db.engine.url.database
    for pattern in (f"rq:*{outbox_handlers.QUEUE}*", f"rq:*outbox-{scope}-*"):
        keys = list(redis.scan_iter(match=pattern, count=1000))
        if keys:
            redis.delete(*keys)
    redis.srem("rq:queues", f"rq:queue:{outbox_handlers.QUEUE}")


@pytest.fixture
def workers(committed: Any, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Workers]:
    """Worker processes; stopped before the committed rows and tables are removed."""
    running = Workers(database_url, redis_url, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
        for log in sorted(tmp_path.glob("worker-*.log")):
            sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}\n")


@pytest.mark.timeout(90)
def test_a_worker_killed_mid_delivery_loses_nothing_and_doubles_nothing(
    committed: Any, workers: Workers, app: Any
) -> None:
    db = committed

    def rows(sql: str, **params: Any) -> list[Any]:
        with db.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def item() -> OutboxItem:
        with db.transaction() as uow:
            found = uow.session.get(OutboxItem, outbox_id)
            assert found is not None
            return found

    first = workers.start()
    with db.transaction() as uow:
        outbox_id = enqueue_on_commit(uow.session, SLOW_EFFECT, first_attempt_sleep=60)

    # The delivery is running: its start is committed, its effect written but not committed.
    (started,) = _wait_for(
        "the first attempt to start",
        lambda: rows(f"SELECT attempt, pid FROM {STARTS} WHERE outbox_id = :id", id=outbox_id),
    )
    assert started.attempt == 1
    assert (item().status, item().attempts) == ("delivering", 1)

    workers.crash(first, horse_pid=started.pid)

    # The killed transaction took its effect with it; the claim (committed) stays.
    _wait_for(
        "the killed connection's transaction to end",
        lambda: (
            not rows(
                "SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                " AND datname = current_database() AND state LIKE 'idle in transaction%'"
            )
        ),
    )
    assert rows(f"SELECT * FROM {EFFECTS} WHERE outbox_id = :id", id=outbox_id) == []
    assert item().status == "delivering"

    # A new worker, and the sweeper run as the cron runs it: a job on the queue. Until the
    # dead claim's lease expires the sweeper leaves the item alone; then it re-arms it, and
    # the worker delivers the second attempt.
    workers.start()
    queue = Queue(outbox_handlers.QUEUE, connection=app.extensions["baoxiu"].redis)

    def swept_and_delivered() -> bool:
        if item().status == "delivered":
            return True
        if queue.count == 0:
            queue.enqueue("workers.tasks.sweep_outbox")
        return False

    _wait_for("the item to be delivered again", swept_and_delivered, timeout=40)

    delivered = item()
    assert (delivered.status, delivered.attempts) == ("delivered", 2)
    assert delivered.last_error.startswith("DeliveryLost")
    assert [tuple(r) for r in rows(f"SELECT attempt FROM {STARTS} ORDER BY attempt")] == [
        (1,),
        (2,),
    ]
    # Exactly once: one effect, the second attempt's.
    assert [tuple(r) for r in rows(f"SELECT outbox_id, attempt FROM {EFFECTS}")] == [(outbox_id, 2)]

    # Sweeping again changes nothing of this item. (The sweep is database-wide: the pending
    # items other committed tests of the run left, with no worker on their queues, are
    # re-enqueued once old enough, so only "lost" is asserted across the database.)
    job = queue.enqueue("workers.tasks.sweep_outbox")
    _wait_for("one more sweep", lambda: job.get_status() == "finished")
    assert job.return_value()["lost"] == 0
    time.sleep(0.5)
    assert len(rows(f"SELECT 1 FROM {EFFECTS}")) == 1
    assert (item().status, item().attempts) == ("delivered", 2)
