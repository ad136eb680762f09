"""A gunicorn worker of `baoxiu serve` SIGKILLed under load: nothing lost, nothing doubled.

Eight clients create departments (names unique per client and attempt) against a real
`baoxiu serve` with two workers on this module's own PostgreSQL and Redis; one worker is
killed mid-run and gunicorn forks another. A request cut off by the kill is retried with the
same name, as a client does: it answers 201 if the first try had not committed, 409 if it
had. In the end every name exists exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import text

from server.config import Settings
from tests.outages.conftest import DEPARTMENTS, env_for, free_port, wait_for

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 8
PER_CLIENT = 40


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.timeout(180)
def test_a_gunicorn_worker_killed_under_load_loses_and_doubles_nothing(
    outage_app: Flask,
    outage_settings: Settings,
    admin: dict[str, Any],
    tmp_path: Path,
) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=PROJECT_ROOT,
        env={
            **env_for(outage_settings),
            "SECRET_KEY": outage_settings.secret_key,
            "GUNICORN_THREADS": "2",
            "LOG_LEVEL": "warning",
        },
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            "baoxiu serve to answer",
            lambda: _answers(f"{base}/api/v1/healthz") and len(_children(server.pid)) == 2,
            timeout=60,
        )
        prefix = f"杀-{os.getpid()}-"
        outcomes: dict[str, list[int | str]] = {}
        lock = threading.Lock()

        def client(n: int) -> None:
            with httpx.Client(base_url=base, headers=admin["headers"], timeout=30) as http:
                for i in range(PER_CLIENT):
                    name = f"{prefix}{n}-{i}"
                    tries: list[int | str] = []
                    while True:
                        try:
                            status = http.post(DEPARTMENTS, json={"name": name}).status_code
                        except httpx.TransportError as exc:
                            tries.append(type(exc).__name__)
                            time.sleep(0.05)
                            continue  # cut off by the kill: the same request again
                        tries.append(status)
                        if status in (201, 409):
                            break
                        assert status == 503, (name, tries)
                        time.sleep(0.05)
                    with lock:
                        outcomes[name] = tries

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        wait_for("the load to build up", lambda: len(outcomes) >= CLIENTS * PER_CLIENT // 4)
        victim = _children(server.pid)[0]
        os.kill(victim, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=120)
        replaced = wait_for(
            "gunicorn to fork a new worker", lambda: len(_children(server.pid)) == 2
        )
        assert victim not in _children(server.pid) and replaced
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        sys.stderr.write(f"--- serve log\n{log_path.read_text(errors='replace')[-2000:]}\n")

    assert len(outcomes) == CLIENTS * PER_CLIENT
    with outage_app.extensions["baoxiu"].db.engine.connect() as conn:
        counts = dict(
            conn.execute(
                text("SELECT name, count(*) FROM departments WHERE name LIKE :p GROUP BY name"),
                {"p": f"{prefix}%"},
            ).all()
        )
    assert counts == {name: 1 for name in outcomes}  # none lost, none doubled
    cut = {name: tries for name, tries in outcomes.items() if len(tries) > 1}
    sys.stderr.write(
        f"\nserve: {len(outcomes)} creations, worker {victim} killed; "
        f"{len(cut)} requests retried: {sorted(cut.values(), key=str)[:10]}\n"
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
