"""A primary and a real streaming replica of this test run's own.

The primary is an `initdb` cluster on a free port (the outage tests' `Postgres`: wal_level is
`replica` by default and `--auth=trust` lets loopback replication in); the replica is a
`pg_basebackup -R` of it started on another free port. Skipped with the reason printed when
the binaries are missing, never silently.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from server.app import create_app
from server.config import Settings
from server.db import migrate
from tests.factories import Factory
from tests.outages.conftest import Postgres, RedisServer, _pg_bin, free_port, wait_for

DATABASE = "baoxiu_replicas"
# The bound the tests run with: small, so that waiting past it is quick.
MAX_LAG_SECONDS = 3


def standby_of(primary: Postgres) -> Postgres:
    """A streaming replica of `primary`: a base backup with the standby settings (-R)."""
    basebackup = _pg_bin("pg_basebackup")
    if basebackup is None:
        sys.stderr.write("replica tests skipped: no pg_basebackup on this machine\n")
        pytest.skip("pg_basebackup not found")
    standby = Postgres.__new__(Postgres)
    standby.pg_ctl, standby.as_user, standby.root = primary.pg_ctl, primary.as_user, primary.root
    standby.data = primary.root / "standby"
    standby.log = primary.root / "standby.log"
    standby.port = free_port()
    standby._run(
        basebackup,
        "-h",
        "127.0.0.1",
        "-p",
        str(primary.port),
        "-U",
        "postgres",
        "-D",
        str(standby.data),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
    )
    return standby


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Postgres, Postgres, RedisServer]]:
    root = tmp_path_factory.mktemp("replicas")
    primary = Postgres()
    redis_server = RedisServer(root)
    primary.start()
    redis_server.start()
    standby: Postgres | None = None
    try:
        with psycopg.connect(primary.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        migrate.upgrade(primary.url(DATABASE))
        standby = standby_of(primary)
        standby.start()
        with psycopg.connect(standby.admin_dsn, autocommit=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        yield primary, standby, redis_server
    finally:
        redis_server.stop()
        for server in (standby, primary):
            if server is not None:
                with contextlib.suppress(RuntimeError):  # already stopped by the test
                    server.stop("immediate")
        primary.remove()


@pytest.fixture(scope="module")
def replica_app(
    servers: tuple[Postgres, Postgres, RedisServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    primary, standby, redis_server = servers
    settings = Settings.from_env(
        {
            "BAOXIU_ENV": "test",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": primary.url(DATABASE),
            "DATABASE_REPLICA_URLS": standby.url(DATABASE),
            "DATABASE_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG_SECONDS),
            "REDIS_URL": redis_server.url,
            "BAOXIU_INSTANCE_DIR": str(tmp_path_factory.mktemp("instance")),
        }
    )
    application = create_app(settings)
    yield application
    application.extensions["baoxiu"].db.dispose()


@pytest.fixture(scope="module")
def people(replica_app: Flask) -> dict[str, Any]:
    """Two admins of one organisation: one writes, the other only reads."""
    wiring = replica_app.extensions["baoxiu"]
    with Session(wiring.db.engine, expire_on_commit=False) as session:
        make = Factory(session, wiring.tokens)
        org = make.org()
        writer, reader = make.admin(org), make.admin(org)
        people = {
            "writer": make.headers(writer),
            "reader": make.headers(reader),
            "reader_phone": reader.phone,
            "org": org.code,
        }
        session.commit()
        return people


def replayed(primary: Postgres, standby: Postgres) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    with psycopg.connect(primary.admin_dsn, autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]

    def caught_up() -> bool:
        with psycopg.connect(standby.admin_dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (target,)
            ).fetchone()
            return bool(row and row[0])

    wait_for("the standby to replay", caught_up)
