"""Zero-downtime releases: the previous release's code keeps working on the new schema.

A release migrates first and restarts the processes after, so for a while the old code runs
against the new schema. Every migration must therefore only expand (add nullable or defaulted
columns, new tables, new values) in the release that needs it, and contract (drop, rename)
only in a later one. This test checks out the previous release (the commit named in
`deploy/previous-release`, bumped by each release), migrates a fresh database with THIS
release's migrations, and runs the old code's app against it: demo seed, logins, an order's
whole life, a customer registered at the desk, the lists.

Skipped, with the reason, when the checkout has no git history holding that commit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import psycopg
import pytest

from server.db import migrate
from tests.conftest import _admin_dsn, _with_database

ROOT = Path(__file__).resolve().parents[2]
SMOKE = Path(__file__).with_name("old_release_smoke.py")


def _previous_release() -> str:
    return (ROOT / "deploy" / "previous-release").read_text().strip()


def _old_tree(commit: str, into: Path) -> None:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("no git checkout here: the previous release cannot be read")
    found = subprocess.run(
        [git, "-C", str(ROOT), "cat-file", "-t", commit], capture_output=True, text=True
    )
    if found.returncode != 0 or found.stdout.strip() != "commit":
        pytest.skip(f"the checkout's history does not hold the previous release {commit[:12]}")
    archive = subprocess.run(
        [
            git,
            "-C",
            str(ROOT),
            "archive",
            "--format=tar",
            commit,
            "server",
            "mobile_api",
            "schemas",
            "workers",
        ],
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


@pytest.fixture
def new_schema(database_server_url: str) -> Iterator[str]:
    name = f"baoxiu_expand_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _admin_dsn(database_server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(database_server_url, name)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_previous_release_runs_on_the_new_schema(
    new_schema: str, redis_url: str, tmp_path: Path
) -> None:
    commit = _previous_release()
    old = tmp_path / "previous"
    old.mkdir()
    _old_tree(commit, old)
    shutil.copy(SMOKE, old / "smoke.py")
    env = {**os.environ, "PYTHONPATH": str(old)}
    env.pop("BAOXIU_INSTANCE_DIR", None)
    ran = subprocess.run(
        [sys.executable, "smoke.py", new_schema, redis_url],
        cwd=old,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    assert seen.pop("seeded") is True
    # The old code ran, not this checkout's (the editable install must not shadow it).
    assert Path(str(seen.pop("code"))).is_relative_to(old), "the old release was not imported"
    assert seen == {
        "login 13800000001": 200,
        "login 13900000000": 200,
        "login 13900000001": 200,
        "file": 201,
        "assign": 200,
        "accept": 200,
        "complete": 200,
        "rate": 200,
        "desk list": 200,
        "customers": 201,
        "workbench": 200,
    }, seen
