"""Redis stopped and started again (empty, as a lost Redis comes back) under a running app and
a real RQ worker process.

While it is away: reads and writes that need no queue work (the access state comes from the
database), logins are refused with 503 (their guessing limits live in Redis: closed, not open),
`/readyz` stays ready but says "degraded", `/healthz` stays up; side effects written to the
outbox meanwhile stay pending in the database. When it returns, the sweeper enqueues them and
the worker delivers each exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from rq.job import Job, JobStatus
from sqlalchemy import text

from server.config import Settings
from server.outbox import delivery
from server.outbox.models import OutboxItem
from server.outbox.outbox import enqueue_on_commit
from server.outbox.rules import delivery_job_id
from tests.factories import PASSWORD
from tests.outages.conftest import (
    DEPARTMENTS,
    Postgres,
    RedisServer,
    env_for,
    unavailable,
    wait_for,
)
from tests.workers import outbox_handlers
from tests.workers.outbox_handlers import EFFECTS, SLOW_EFFECT

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# `baoxiu worker`, with the test handlers imported first (see tests/workers/outbox_worker.py).
WORKER = (sys.executable, "-m", "tests.workers.outbox_worker", "worker")
WRITTEN_WHILE_DOWN = 5


@pytest.fixture
def worker(
    outage_app: Flask, outage_settings: Settings, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    db = outage_app.extensions["baoxiu"].db
    with db.engine.begin() as conn:
        for statement in outbox_handlers.TABLES:
            conn.execute(text(statement))
    log_path = tmp_path / "worker.log"
    process = subprocess.Popen(
        [*WORKER, "--queue", outbox_handlers.QUEUE],
        cwd=PROJECT_ROOT,
        env={**env_for(outage_settings), outbox_handlers.QUEUE_ENV: outbox_handlers.QUEUE},
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: the scheduler it forks stops with it
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        sys.stderr.write(f"--- worker log\n{log_path.read_text(errors='replace')[-3000:]}\n")


@pytest.mark.timeout(150)
def test_redis_away_loses_no_side_effect_and_doubles_none(
    outage_app: Flask,
    own_servers: tuple[Postgres, RedisServer],
    admin: dict[str, Any],
    worker: subprocess.Popen[bytes],
    record_property: Any,
) -> None:
    redis_server = own_servers[1]
    db = outage_app.extensions["baoxiu"].db
    client = outage_app.test_client()
    headers = admin["headers"]

    def write_effect() -> int:
        with db.transaction() as uow:
            return enqueue_on_commit(uow.session, SLOW_EFFECT, first_attempt_sleep=0)

    def effects(ids: list[int]) -> dict[int, int]:
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT outbox_id, count(*) FROM {EFFECTS} WHERE outbox_id = ANY(:ids) "
                    "GROUP BY outbox_id"
                ),
                {"ids": ids},
            ).all()
        return {int(r[0]): int(r[1]) for r in rows}

    def statuses(ids: list[int]) -> dict[int, tuple[str, int]]:
        with db.transaction() as uow:
            items = uow.session.query(OutboxItem).filter(OutboxItem.id.in_(ids)).all()
            return {i.id: (i.status, i.attempts) for i in items}

    # Redis up: the worker delivers (the set-up works). Redis goes away once RQ has recorded
    # the job as finished: the outage meets an idle worker (one losing Redis in the middle of
    # its own bookkeeping may exit; its supervisor restarts it, the sweeper covers the item).
    before = write_effect()
    wait_for("the delivery before the outage", lambda: effects([before]), timeout=30)
    job_id = delivery_job_id(db.engine.url.database, before, 0)
    redis_client = outage_app.extensions["baoxiu"].redis
    wait_for(
        "RQ to record the delivery",
        lambda: Job.fetch(job_id, connection=redis_client).get_status() == JobStatus.FINISHED,
        timeout=30,
    )

    redis_server.stop()
    down_at = time.monotonic()

    # What needs no queue still works: reads and writes (the access state from the database).
    assert client.get(DEPARTMENTS, headers=headers).status_code == 200
    created = client.post(
        DEPARTMENTS, json={"name": f"部门-{uuid.uuid4().hex[:8]}"}, headers=headers
    )
    assert created.status_code == 201, created.json
    assert client.get(f"{DEPARTMENTS}/{created.json['id']}", headers=headers).status_code == 200
    assert client.get("/api/v1/healthz").status_code == 200
    # Still ready (this instance serves), reported degraded.
    ready = client.get("/api/v1/readyz")
    assert (ready.status_code, ready.json["status"]) == (200, "degraded"), ready.json
    assert ready.json["checks"]["database"] == "ok"
    assert ready.json["checks"]["redis"] != "ok"
    # Logins are closed: without their counters a password could be guessed without limit.
    unavailable(
        client.post(
            "/api/v1/auth/login",
            json={"phone": admin["phone"], "password": PASSWORD, "org": admin["org"]},
        )
    )
    page = client.post(
        "/console/login", data={"phone": admin["phone"], "password": PASSWORD, "org": admin["org"]}
    )
    assert page.status_code == 503
    assert page.headers["Retry-After"]
    assert "服务暂时不可用" in page.get_data(as_text=True)
    # Signed in before: the session store is away, so is every page; an htmx partial reloads
    # the whole page, which shows the same 503 page.
    desk = outage_app.test_client()
    desk.set_cookie("baoxiu_console", "s" * 43)
    for extra in ({}, {"HX-Request": "true"}):
        answer = desk.get("/console/workbench", headers=extra)
        assert answer.status_code == 503
        assert "服务暂时不可用" in answer.get_data(as_text=True)
        assert answer.headers.get("HX-Refresh") == ("true" if extra else None)

    # Side effects committed while Redis is away: committed, pending, not enqueued anywhere.
    during = [write_effect() for _ in range(WRITTEN_WHILE_DOWN)]
    assert all(s == ("pending", 0) for s in statuses(during).values()), statuses(during)
    time.sleep(1.0)
    assert effects(during) == {}
    worker_survived = worker.poll() is None

    redis_server.start()
    back_at = time.monotonic()
    record_property("redis_down_seconds", round(back_at - down_at, 1))
    # The sweeper's run (every minute from `baoxiu cron`; here at once, its grace waived,
    # twice, as two crons racing would): the lost enqueues are made, once each (the job id is
    # fixed per attempt, so the second sweep's enqueues are no-ops).
    for _ in range(2):
        with db.transaction() as uow:
            delivery.sweep(uow.session, now=datetime.now(UTC), grace=timedelta(0))
    swept_at = time.monotonic()

    wait_for(
        "every effect written while Redis was away",
        lambda: len(effects(during)) == WRITTEN_WHILE_DOWN,
        timeout=60,
    )
    drained_at = time.monotonic()
    time.sleep(2.0)  # any doubled delivery would have shown by now
    assert effects([before, *during]) == {i: 1 for i in [before, *during]}
    assert all(s == ("delivered", 1) for s in statuses(during).values()), statuses(during)
    assert (
        client.post(
            "/api/v1/auth/login",
            json={"phone": admin["phone"], "password": PASSWORD, "org": admin["org"]},
        ).status_code
        == 200
    )
    assert client.get("/api/v1/readyz").status_code == 200

    record_property("redis_back_to_outbox_drained_seconds", round(drained_at - back_at, 3))
    sys.stderr.write(
        f"\nredis: worker survived the outage: {worker_survived}; back → swept "
        f"{swept_at - back_at:.3f} s; back → {WRITTEN_WHILE_DOWN} deliveries done "
        f"{drained_at - back_at:.3f} s\n"
    )
    assert worker_survived, "the RQ worker exited when Redis went away"
