"""PostgreSQL stopped (crashed, even) and started again under a running app.

While it is away every API request answers 503 `service_unavailable` with `Retry-After`, the
console a 503 page, `/readyz` 503 and `/healthz` 200; when it returns the pool recovers by
itself (no restart of the app) and everything committed before is still there.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any

import pytest
from flask import Flask

from tests.factories import PASSWORD
from tests.outages.conftest import DEPARTMENTS, Postgres, RedisServer, unavailable, wait_for


@pytest.mark.timeout(120)
def test_requests_answer_503_while_postgres_is_down_and_nothing_committed_is_lost(
    outage_app: Flask,
    own_servers: tuple[Postgres, RedisServer],
    admin: dict[str, Any],
    record_property: Any,
) -> None:
    postgres = own_servers[0]
    client = outage_app.test_client()
    headers = admin["headers"]
    names = [f"部门-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for name in names:
        assert client.post(DEPARTMENTS, json={"name": name}, headers=headers).status_code == 201
    assert client.get("/api/v1/readyz").status_code == 200

    # A crash: no shutdown checkpoint, the pool's connections die under it.
    postgres.stop("immediate")

    unavailable(client.get(DEPARTMENTS, headers=headers))  # a read
    unavailable(client.post(DEPARTMENTS, json={"name": "停机时"}, headers=headers))  # a write
    unavailable(
        client.post(
            "/api/v1/auth/login",
            json={"phone": admin["phone"], "password": PASSWORD, "org": admin["org"]},
        )
    )
    ready = client.get("/api/v1/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["database"] != "ok"
    assert ready.json["checks"]["redis"] == "ok"
    live = client.get("/api/v1/healthz")
    assert live.status_code == 200
    # The console: a page of its own, 503, not the 500 page or JSON.
    page = client.post(
        "/console/login",
        data={"phone": admin["phone"], "password": PASSWORD, "org": admin["org"]},
    )
    assert page.status_code == 503
    assert page.headers["Retry-After"]
    assert page.mimetype == "text/html"
    assert "服务暂时不可用" in page.get_data(as_text=True)

    # Back: the same app, the same pool. Every answer meanwhile is a 503 or the 200.
    started = time.monotonic()
    postgres.start()
    back = time.monotonic()
    seen: list[int] = []

    def answers() -> bool:
        response = client.get(DEPARTMENTS, headers=headers, query_string={"page_size": 100})
        seen.append(response.status_code)
        if response.status_code == 503:
            unavailable(response)
        return response.status_code == 200

    wait_for("the first 200 after the restart", answers, timeout=30)
    first_ok = time.monotonic()
    assert set(seen) <= {200, 503}, seen
    record_property("postgres_start_seconds", round(back - started, 3))
    record_property("postgres_back_to_first_200_seconds", round(first_ok - back, 3))
    sys.stderr.write(
        f"\npostgres: pg_ctl start {back - started:.2f} s; "
        f"back → first 200 {first_ok - back:.3f} s; answers while recovering {seen}\n"
    )

    listed = client.get(DEPARTMENTS, headers=headers, query_string={"page_size": 100}).json["items"]
    listed_names = {d["name"] for d in listed}
    assert set(names) <= listed_names  # committed before the crash: still there
    assert "停机时" not in listed_names  # refused with 503: not half-written
    assert client.post(DEPARTMENTS, json={"name": "恢复后"}, headers=headers).status_code == 201
    assert client.get("/api/v1/readyz").status_code == 200


@pytest.mark.timeout(60)
def test_a_quick_restart_between_requests_costs_at_most_one_503_per_pooled_connection(
    outage_app: Flask,
    own_servers: tuple[Postgres, RedisServer],
    admin: dict[str, Any],
    record_property: Any,
) -> None:
    """The pool's connections die with the server while nobody asks: the first request on
    one fails (503, and the whole pool is invalidated), the next gets a new connection."""
    postgres = own_servers[0]
    client = outage_app.test_client()
    headers = admin["headers"]
    assert client.get(DEPARTMENTS, headers=headers).status_code == 200

    started = time.monotonic()
    postgres.stop("fast")
    postgres.start()
    back = time.monotonic()
    seen = []
    for _ in range(5):
        response = client.get(DEPARTMENTS, headers=headers)
        seen.append(response.status_code)
        if response.status_code == 503:
            unavailable(response)
    first_ok = time.monotonic()
    assert seen in ([200] * 5, [503] + [200] * 4), seen
    record_property("postgres_fast_restart_seconds", round(back - started, 3))
    sys.stderr.write(
        f"\npostgres fast restart: {back - started:.2f} s; answers after it {seen} "
        f"({first_ok - back:.3f} s for the five)\n"
    )
