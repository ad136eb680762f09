"""Real commits, a real `baoxiu worker` process, the loopback FCM: a filed pool order and an
assignment reach each device exactly once, delivered by the worker after the commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from rq import Queue

from server.config import Settings
from server.jobs import QUEUES
from server.sandbox.fcm import FakeFCM
from tests.concurrency.conftest import RaceOrg
from tests.fakes.server import serve

PROJECT_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.concurrency


@pytest.fixture(scope="module")
def base_url(app: Any) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def worker(app: Any, settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    # Earlier tests enqueue deliveries nobody runs (their rows rolled back or left pending on
    # purpose): a worker started now would work through all of them first.
    for name in QUEUES:
        Queue(name, connection=app.extensions["baoxiu"].redis).empty()
    env = {
        **os.environ,
        "BAOXIU_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "FIREBASE_CREDENTIALS": settings.firebase_credentials,
        "FCM_API_BASE": settings.fcm_api_base,
        "SECRET_KEY": settings.secret_key,
    }
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        sys.stderr.write((tmp_path / "worker.log").read_text(errors="replace")[-3000:])


def _wait_for(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for the pushes"
        time.sleep(0.2)


@pytest.mark.timeout(150)
def test_a_real_worker_pushes_each_device_once(app, base_url, fcm: FakeFCM, worker) -> None:
    org = RaceOrg(app, base_url, technicians=2, cap=3)
    phones = {}
    for index, tech in enumerate(org.techs):
        token = f"worker-test-{org.org_id}-{index}"
        r = requests.post(
            f"{base_url}/api/v1/me/devices",
            json={"platform": "android", "token": token},
            headers=tech.headers,
            timeout=10,
        )
        assert r.status_code == 201, r.text
        phones[tech.staff_id] = token

    [order_id] = org.file(1)  # committed: the worker fans it out to both technicians
    _wait_for(lambda: all(fcm.sent_to(t) for t in phones.values()))
    r = requests.post(
        f"{base_url}/api/v1/admin/orders/{order_id}/assign",
        json={"staff_id": org.techs[0].staff_id},
        headers=org.desk.headers,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    first = phones[org.techs[0].staff_id]
    _wait_for(lambda: len(fcm.sent_to(first)) == 2)
    time.sleep(1.0)  # nothing more arrives
    assert [m["notification"]["title"] for m in fcm.sent_to(first)] == [
        "抢单池有新工单",
        "新工单指派",
    ]
    second = phones[org.techs[1].staff_id]
    assert [m["notification"]["title"] for m in fcm.sent_to(second)] == ["抢单池有新工单"]
