"""Test wiring: a real PostgreSQL database per run, real Redis, one SAVEPOINT per test.

With DATABASE_URL/REDIS_URL unset the suite uses the embedded servers under `instance/`
(or `BAOXIU_INSTANCE_DIR`; the same code path as `baoxiu dev`); with them set, the servers
they name. Either way the run gets its own database, migrated with Alembic, and drops it at
the end. Embedded servers the run started are stopped when it ends (ones it found already
running are left running); the summary says which.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from server import runtime
from server.app import create_app
from server.config import Settings
from server.db import migrate
from server.web.throttle import throttle_prefix
from tests.factories import Factory
from tests.fakes.server import serve
from tests.fakes.wechat import FakeWeChat

# Fixtures of an organisation set up for orders, shared by every area's tests.
pytest_plugins = ("tests.world",)

TEST_DB = f"baoxiu_test_{os.getpid()}"


def _base_settings() -> Settings:
    """Only what decides which servers the suite uses: the URLs and the instance dir."""
    wanted = ("DATABASE_URL", "REDIS_URL", "BAOXIU_INSTANCE_DIR")
    return Settings.from_env({k: v for k, v in os.environ.items() if k in wanted})


def _server_url() -> str:
    base = _base_settings()
    if base.database_url:
        return base.database_url
    return runtime.embedded_postgres_url(base.instance_dir)


def _with_database(url: str, database: str) -> str:
    return (
        make_url(runtime.sqlalchemy_url(url))
        .set(database=database)
        .render_as_string(hide_password=False)
    )


def _admin_dsn(url: str) -> str:
    return _with_database(url, "postgres").replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def database_server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def database_url(database_server_url: str) -> Iterator[str]:
    admin = _admin_dsn(database_server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
        conn.execute(f'CREATE DATABASE "{TEST_DB}"')
    url = _with_database(database_server_url, TEST_DB)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    base = _base_settings()
    if base.redis_url:
        return base.redis_url
    return runtime.embedded_redis_url(base.instance_dir)


_EMBEDDED_REPORT_KEY = pytest.StashKey[list[str]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """After every fixture is torn down: stop the embedded servers this run started."""
    session.config.stash[_EMBEDDED_REPORT_KEY] = runtime.stop_embedded()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(_EMBEDDED_REPORT_KEY, [])
    if report:
        terminalreporter.write_sep("-", "embedded servers")
        for line in report:
            terminalreporter.write_line(line)


WECHAT_APPID = "wx0000000000test01"
WECHAT_SECRET = "test-wechat-secret"


@pytest.fixture(scope="session")
def wechat_server() -> Iterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat(appid=WECHAT_APPID, secret=WECHAT_SECRET)
    with serve(fake.app()) as base_url:
        yield fake, base_url


@pytest.fixture
def fake_wechat(wechat_server: tuple[FakeWeChat, str], app: Flask) -> FakeWeChat:
    """The loopback WeChat, reset for this test, with no access token cached."""
    fake = wechat_server[0]
    fake.__init__(appid=WECHAT_APPID, secret=WECHAT_SECRET)  # type: ignore[misc]
    wechat = app.extensions["baoxiu"].wechat
    wechat.redis.delete(wechat._token_key)
    return fake


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    wechat_server: tuple[FakeWeChat, str],
) -> Settings:
    tmp = tmp_path_factory.mktemp("instance")
    return Settings.from_env(
        {
            "BAOXIU_ENV": "test",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "BAOXIU_INSTANCE_DIR": str(tmp),
            "WECHAT_APPID": WECHAT_APPID,
            "WECHAT_SECRET": WECHAT_SECRET,
            "WECHAT_API_BASE": wechat_server[1],
        }
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["baoxiu"].db.dispose()


@pytest.fixture
def connection(app: Flask) -> Iterator[Connection]:
    """One outer transaction per test; every commit inside it is only a SAVEPOINT."""
    db = app.extensions["baoxiu"].db
    conn = db.engine.connect()
    outer = conn.begin()
    originals = db.session_factory, db.read_session_factory
    # Read-only units of work too: they see the test's uncommitted rows (inside its transaction
    # rather than in autocommit, which changes what they may see, not what they do).
    db.session_factory = db.read_session_factory = sessionmaker(
        bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    try:
        yield conn
    finally:
        db.session_factory, db.read_session_factory = originals
        outer.rollback()
        conn.close()


@pytest.fixture
def db_session(connection: Connection) -> Iterator[Session]:
    session = Session(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    yield session
    session.close()


@pytest.fixture
def make(db_session: Session, app: Flask) -> Factory:
    return Factory(db_session, app.extensions["baoxiu"].tokens)


@pytest.fixture
def client(app: Flask, connection: Connection) -> FlaskClient:
    # Failed-login counters live in Redis (under this run's namespace), outside the test's
    # transaction: each test starts clean, so earlier tests' guesses lock nobody out.
    wiring = app.extensions["baoxiu"]
    prefix = throttle_prefix(wiring.redis_namespace)
    for key in wiring.redis.scan_iter(match=f"{prefix}*", count=500):
        wiring.redis.delete(key)
    return app.test_client()
