"""Read replicas against a real streaming replica: read-only requests read from it, writes
and the writer's own next reads go to the primary, a replica lagging past the bound is
skipped (the readers see the primary's newest rows), and a replica stopped mid-run leaves
every answer a 200 (primary fallback). Each state change is logged once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
import redis
from flask import Flask
from sqlalchemy import text

from server.db.replicas import CHECK_SECONDS
from tests.factories import PASSWORD
from tests.outages.conftest import Postgres, RedisServer, wait_for
from tests.replicas.conftest import DATABASE, MAX_LAG_SECONDS, replayed

CANCEL = "/api/v1/admin/dictionary/cancel_reasons"


def codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["code"] for item in response.json["items"]]


def add_item(client: Any, headers: dict[str, str]) -> str:
    code = f"r{uuid.uuid4().hex[:10]}"
    response = client.post(CANCEL, json={"code": code, "label": "副本测试"}, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return code


def on_primary(primary: Postgres, code: str) -> bool:
    with psycopg.connect(primary.url(DATABASE), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM dictionary_items WHERE code = %s", (code,))
        return row.fetchone() == (1,)


def routed(app: Flask) -> dict[str, int]:
    return dict(app.extensions["baoxiu"].db.replicas.routed)


def replica_healthy(app: Flask) -> bool:
    return bool(app.extensions["baoxiu"].db.replicas.pick())


def state_changes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "server.db.replicas"]


def test_read_only_work_runs_on_the_replica_writes_and_the_writers_reads_on_the_primary(
    replica_app: Flask,
    servers: tuple[Postgres, Postgres, RedisServer],
    people: dict[str, Any],
    record_property: Any,
) -> None:
    primary, standby, _ = servers
    db = replica_app.extensions["baoxiu"].db
    wait_for("the replica to be in use", lambda: replica_healthy(replica_app))

    # Where each kind of unit of work runs, asked of the server it is connected to.
    def in_recovery(**kind: bool) -> bool:
        unit = db.unit_of_work(**kind)
        try:
            return bool(unit.session.execute(text("SELECT pg_is_in_recovery()")).scalar())
        finally:
            unit.close()

    assert in_recovery(read_only=True, on_replica=True)  # a read-only request
    assert in_recovery(on_replica=True)  # an export's snapshot (server-side cursor)
    assert not in_recovery(read_only=True)  # read-only, but must see its own writes
    assert not in_recovery()  # a write

    client = replica_app.test_client()
    code = add_item(client, people["writer"])
    assert on_primary(primary, code)  # the write went to the primary (a standby refuses it)

    # Read-your-writes: the writer's next read is on the primary, whatever the replica has.
    before = routed(replica_app)
    assert code in codes(client.get(CANCEL, headers=people["writer"]))
    assert routed(replica_app)["primary"] == before["primary"] + 1

    # Another user's reads go to the replica; once it has replayed the write they see it.
    replayed(primary, standby)
    before = routed(replica_app)
    reads = 40
    for _ in range(reads):
        assert code in codes(client.get(CANCEL, headers=people["reader"]))
    after = routed(replica_app)
    on_replica = after["replica"] - before["replica"]
    assert on_replica == reads
    assert after["primary"] == before["primary"]
    record_property("reads_on_replica", f"{on_replica}/{reads}")

    # The console's pages and the admin exports read there too (not the writer's, for now).
    before = routed(replica_app)
    export = client.get("/api/v1/admin/audit-log?format=csv", headers=people["reader"])
    assert export.status_code == 200, export.get_data(as_text=True)[:300]
    assert routed(replica_app)["replica"] > before["replica"]

    # After the sticky window the writer reads from the replica again.
    time.sleep(MAX_LAG_SECONDS + CHECK_SECONDS + 1.2)
    before = routed(replica_app)
    assert code in codes(client.get(CANCEL, headers=people["writer"]))
    assert routed(replica_app)["replica"] == before["replica"] + 1


def test_without_redis_to_tell_writers_apart_reads_go_to_the_primary(
    replica_app: Flask, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    wait_for("the replica to be in use", lambda: replica_healthy(replica_app))
    client = replica_app.test_client()
    before = routed(replica_app)
    assert codes(client.get(CANCEL, headers=people["reader"]))
    assert routed(replica_app)["replica"] == before["replica"] + 1

    def unreachable(*_args: Any, **_kwargs: Any) -> Any:
        raise redis.ConnectionError("Redis is away")

    monkeypatch.setattr(replica_app.extensions["baoxiu"].redis, "exists", unreachable)
    before = routed(replica_app)
    assert codes(client.get(CANCEL, headers=people["reader"]))
    assert routed(replica_app)["primary"] == before["primary"] + 1
    assert routed(replica_app)["replica"] == before["replica"]


def test_the_consoles_pages_read_from_the_replica(
    replica_app: Flask,
    servers: tuple[Postgres, Postgres, RedisServer],
    people: dict[str, Any],
) -> None:
    primary, standby, _ = servers
    client = replica_app.test_client()
    code = add_item(client, people["writer"])
    replayed(primary, standby)
    wait_for("the replica to be in use", lambda: replica_healthy(replica_app))
    desk = replica_app.test_client()
    login = desk.post(
        "/console/login",
        data={"phone": people["reader_phone"], "password": PASSWORD, "org": people["org"]},
    )
    assert login.status_code in (302, 303), login.get_data(as_text=True)[:300]
    before = routed(replica_app)
    page = desk.get("/console/dictionary?list=cancel_reasons")
    assert page.status_code == 200
    assert code in page.get_data(as_text=True)
    assert routed(replica_app)["replica"] == before["replica"] + 1
    assert routed(replica_app)["primary"] == before["primary"]


@pytest.mark.timeout(120)
def test_a_replica_lagging_past_the_bound_is_skipped_and_readers_see_the_primary(
    replica_app: Flask,
    servers: tuple[Postgres, Postgres, RedisServer],
    people: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, standby, _ = servers
    client = replica_app.test_client()
    caplog.set_level(logging.INFO, logger="server.db.replicas")
    wait_for("the replica to be in use", lambda: replica_healthy(replica_app))
    caplog.clear()  # from here on: the changes this test causes

    # A fresh replayed commit, then replay paused: the replica is now behind by the clock.
    add_item(client, people["writer"])
    replayed(primary, standby)
    with psycopg.connect(standby.admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        code = add_item(client, people["writer"])
        assert on_primary(primary, code)

        # Within the bound the reader is served by the replica: the new row is not there yet.
        before = routed(replica_app)
        assert code not in codes(client.get(CANCEL, headers=people["reader"]))
        assert routed(replica_app)["replica"] == before["replica"] + 1

        # Past the bound (and the next check) the replica is skipped: the primary answers.
        time.sleep(MAX_LAG_SECONDS + CHECK_SECONDS + 0.5)
        before = routed(replica_app)
        for _ in range(5):
            assert code in codes(client.get(CANCEL, headers=people["reader"]))
            time.sleep(0.3)
        assert routed(replica_app)["primary"] == before["primary"] + 5
        assert routed(replica_app)["replica"] == before["replica"]
    finally:
        with psycopg.connect(standby.admin_dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    # Caught up again, the replica is used again.
    replayed(primary, standby)
    wait_for("the replica to be in use again", lambda: replica_healthy(replica_app))
    before = routed(replica_app)
    assert code in codes(client.get(CANCEL, headers=people["reader"]))
    assert routed(replica_app)["replica"] == before["replica"] + 1

    # One line per change of state, not one per check or per request.
    changes = state_changes(caplog)
    skipped = [m for m in changes if "skipped" in m]
    back = [m for m in changes if "in use" in m]
    assert len(skipped) == 1 and "lagging" in skipped[0], changes
    assert len(back) == 1, changes


@pytest.mark.timeout(120)
def test_stopping_the_replica_mid_run_falls_back_to_the_primary_without_an_error(
    replica_app: Flask,
    servers: tuple[Postgres, Postgres, RedisServer],
    people: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    record_property: Any,
) -> None:
    _, standby, _ = servers
    caplog.set_level(logging.INFO, logger="server.db.replicas")
    wait_for("the replica to be in use", lambda: replica_healthy(replica_app))
    caplog.clear()  # from here on: the changes this test causes
    statuses: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def read_on() -> None:
        client = replica_app.test_client()
        while not stop.is_set():
            response = client.get(CANCEL, headers=people["reader"])
            statuses.append(response.status_code)
            if response.status_code != 200:
                errors.append(response.get_data(as_text=True)[:300])

    readers = [threading.Thread(target=read_on) for _ in range(3)]
    before = routed(replica_app)
    for reader in readers:
        reader.start()
    try:
        wait_for("reads on the replica", lambda: len(statuses) >= 20)
        standby.stop("fast")  # its sessions are cut mid-query
        served_when_stopped = len(statuses)
        wait_for("reads after the stop", lambda: len(statuses) >= served_when_stopped + 50)
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    after = routed(replica_app)
    assert errors == [], errors[:3]
    assert set(statuses) == {200}
    assert after["replica"] > before["replica"]
    assert after["primary"] > before["primary"]
    record_property(
        "reads_during_replica_stop",
        f"{len(statuses)} reads, all 200; {after['replica'] - before['replica']} on the replica,"
        f" {after['primary'] - before['primary']} on the primary",
    )
    skipped = [m for m in state_changes(caplog) if "skipped" in m]
    assert len(skipped) == 1, skipped
    assert not replica_healthy(replica_app)
