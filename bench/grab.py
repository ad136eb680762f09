"""Grab throughput: the API under gunicorn against the same grab transaction on bare psycopg.

    python -m bench.grab [--clients 32] [--seconds 10] [--workers N] [--history 100000]

One run, two phases, the same number of client threads and the same database:

1. API — `baoxiu serve` (gunicorn, deploy/gunicorn.conf.py) in a subprocess; each client is a
   technician with a keep-alive `http.client` connection that lists the pool
   (`GET /api/v1/tech/pool?page_size=5`) and grabs one of the listed orders.
2. Direct — each client thread holds a psycopg connection and runs the pool pick plus the
   grab transaction the service runs (lock the technician, count held, conditional UPDATE,
   timeline row, commit), without Flask, SQLAlchemy or HTTP.

The ratio API/direct is the figure to watch: both phases share the machine, its noise, and the
database, so the ratio says what the web stack costs on top of the SQL. The orders table holds
`--history` historical orders (closed, completed, cancelled, another organisation's pool) so
the pool query is measured against a big table; a refiller keeps about `--pool-size` pending
orders in the pool during both phases, as a real pool would.

Uses DATABASE_URL's server when set, else the embedded PostgreSQL; either way it works in a
fresh database named `baoxiu_bench`, dropped at the end (keep it with --keep).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import requests
from sqlalchemy import event
from sqlalchemy.engine import make_url

from server import runtime
from server.accounts.tokens import TokenIssuer
from server.config import Settings
from server.db import migrate
from server.db.session import Database
from server.kernel.roles import Role
from server.models import (
    Building,
    Community,
    Department,
    OrderSubtype,
    OrderType,
    Organisation,
    Post,
    Room,
    Staff,
    User,
)
from server.orders.capacity import technician
from server.orders.pool import technician_pool

BENCH_DB = "baoxiu_bench"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
HELD = ("assigned", "in_progress", "on_hold")
MAX_CAP = 100  # server.orders.rules.grab_cap.MAX_GRAB_CAP: clients move to their next technician

ORDER_COLUMNS = (
    "org_id",
    "number",
    "status",
    "priority",
    "community_id",
    "building_id",
    "room_id",
    "order_type_id",
    "subtype_id",
    "description",
    "contact_name",
    "contact_phone",
    "reporter_user_id",
    "channel",
    "payer",
    "assignee_id",
    "assigned_at",
    "completed_at",
    "closed_at",
    "cancelled_at",
    "due_at",
    "result",
    "payable_fen",
    "payment_status",
    "rating_comment",
    "follow_up_required",
    "reopen_count",
    "created_at",
    "updated_at",
)


# -- database ------------------------------------------------------------------------------


def _with_database(url: str, database: str) -> str:
    rendered = (
        make_url(runtime.sqlalchemy_url(url))
        .set(database=database)
        .render_as_string(hide_password=False)
    )
    return rendered.replace("postgresql+psycopg://", "postgresql://", 1)


def fresh_database(server_url: str) -> str:
    """Drop and recreate the bench database, migrate it, and return its URL."""
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    url = _with_database(server_url, BENCH_DB)
    migrate.upgrade(url)
    return url


def drop_database(server_url: str) -> None:
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


@dataclass
class World:
    org_id: int
    other_org_id: int
    community_id: int
    building_id: int
    room_id: int
    order_type_id: int
    subtype_id: int
    reporter_id: int
    # Per phase: one list of technicians per client (a client moves on when one is full).
    api_techs: list[list[tuple[int, str]]] = field(default_factory=list)
    direct_techs: list[list[tuple[int, int]]] = field(default_factory=list)
    sample_staff_id: int = 0


def seed(database_url: str, tokens: TokenIssuer, *, clients: int, techs_per_client: int) -> World:
    """The organisation, its catalogue and technicians (a big cap), and their tokens."""
    db = Database(database_url, pool_size=1, max_overflow=0)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        s = uow.session

        def add(obj: Any) -> Any:
            s.add(obj)
            s.flush()
            return obj

        org = add(Organisation(code="bench", name="压测物业"))
        other = add(Organisation(code="bench-other", name="别家物业"))
        community = add(Community(org_id=org.id, code="C1", name="压测小区"))
        building = add(Building(org_id=org.id, community_id=community.id, name="1栋"))
        room = add(
            Room(
                org_id=org.id,
                community_id=community.id,
                building_id=building.id,
                code="101",
                floor=1,
                building_area=Decimal("88.50"),
            )
        )
        department = add(Department(org_id=org.id, name="工程部"))
        post = add(Post(org_id=org.id, name="维修工"))
        order_type = add(OrderType(org_id=org.id, name="水电维修", department_id=department.id))
        subtype = add(OrderSubtype(org_id=org.id, order_type_id=order_type.id, name="水管漏水"))
        reporter = add(User(org_id=org.id, phone="13800000001", roles=[Role.TENANT.value]))
        world = World(
            org.id,
            other.id,
            community.id,
            building.id,
            room.id,
            order_type.id,
            subtype.id,
            reporter.id,
        )
        phone = iter(range(13700000000, 13800000000))
        for phase in ("api", "direct"):
            for _ in range(clients):
                mine: list[Any] = []
                for _ in range(techs_per_client):
                    user = add(
                        User(
                            org_id=org.id,
                            phone=str(next(phone)),
                            name="师傅",
                            roles=[Role.TECHNICIAN.value],
                        )
                    )
                    staff = add(
                        Staff(
                            org_id=org.id,
                            user_id=user.id,
                            department_id=department.id,
                            post_id=post.id,
                            grab_cap=MAX_CAP,
                        )
                    )
                    if phase == "api":
                        token = tokens.issue(s, user=user, now=now).access_token
                        mine.append((staff.id, token))
                    else:
                        mine.append((staff.id, user.id))
                (world.api_techs if phase == "api" else world.direct_techs).append(mine)
        world.sample_staff_id = world.api_techs[0][0][0]
    db.dispose()
    return world


def _copy_orders(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
    statement = f"COPY orders ({', '.join(ORDER_COLUMNS)}) FROM STDIN"
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


class OrderMaker:
    """Rows for `orders`, numbered uniquely, for COPY."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seq = 0
        self.lock = threading.Lock()

    def row(
        self,
        *,
        status: str,
        created_at: datetime,
        org_id: int | None = None,
        assignee_id: int | None = None,
    ) -> tuple[Any, ...]:
        with self.lock:
            self.seq += 1
            number = f"BX{self.seq:010d}"
        w = self.world
        done = created_at + timedelta(hours=5)
        return (
            org_id or w.org_id,
            number,
            status,
            "urgent" if self.seq % 10 == 0 else "normal",
            w.community_id,
            w.building_id,
            w.room_id,
            w.order_type_id,
            w.subtype_id,
            "厨房水管漏水",
            "张三",
            "13800000001",
            w.reporter_id,
            "tenant",
            "tenant",
            assignee_id,
            created_at + timedelta(hours=1) if assignee_id else None,
            done if status in ("completed", "closed") else None,
            done if status == "closed" else None,
            done if status == "cancelled" else None,
            created_at + timedelta(hours=24),
            "已修好" if status in ("completed", "closed") else "",
            0,
            "none",
            "",
            False,
            0,
            created_at,
            created_at,
        )


def insert_history(conn: psycopg.Connection[Any], maker: OrderMaker, *, count: int) -> None:
    """Historical orders: finished ones of ours, and another organisation's (with a pool)."""
    rng = random.Random(1)
    start = datetime.now(UTC) - timedelta(days=730)
    holder = maker.world.direct_techs[0][0][0]
    rows = []
    for i in range(count):
        created = start + timedelta(minutes=i * 7)
        if i % 10 < 3:  # 30 % belong to another organisation, 1 in 20 of those still pending
            status = "pending" if rng.random() < 0.05 else "closed"
            rows.append(
                maker.row(status=status, created_at=created, org_id=maker.world.other_org_id)
            )
        else:
            status = rng.choice(("closed", "closed", "completed", "cancelled"))
            assignee = holder if status != "cancelled" else None
            rows.append(maker.row(status=status, created_at=created, assignee_id=assignee))
    _copy_orders(conn, rows)
    conn.commit()


class Refiller:
    """Keeps about `size` pending orders in the pool while a phase runs, as filings would."""

    def __init__(self, database_url: str, maker: OrderMaker, size: int) -> None:
        self.database_url, self.maker, self.size = database_url, maker, size
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.inserted = 0

    def fill(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute(
            "SELECT count(*) FROM orders WHERE org_id = %s AND status = 'pending'",
            (self.maker.world.org_id,),
        ).fetchone()
        missing = self.size - int(row[0] if row else 0)
        if missing > 0:
            now = datetime.now(UTC)
            _copy_orders(
                conn,
                [
                    self.maker.row(status="pending", created_at=now + timedelta(microseconds=i))
                    for i in range(missing)
                ],
            )
            self.inserted += missing
        conn.commit()

    def _run(self) -> None:
        with psycopg.connect(self.database_url) as conn:
            while not self.stop.wait(0.05):
                self.fill(conn)

    def __enter__(self) -> Refiller:
        with psycopg.connect(self.database_url) as conn:
            # A fresh pool for each phase: withdraw what the previous phase left behind.
            conn.execute(
                "UPDATE orders SET status = 'cancelled', cancelled_at = now()"
                " WHERE org_id = %s AND status = 'pending'",
                (self.maker.world.org_id,),
            )
            conn.commit()
            self.fill(conn)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


# -- the API under gunicorn ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(env: dict[str, str], workers: int | None, log: Path) -> Iterator[str]:
    """`baoxiu serve` in a subprocess; yields its base URL once /healthz answers."""
    with gunicorn_process(env, workers, log) as (base, _proc):
        yield base


@contextmanager
def gunicorn_process(
    env: dict[str, str],
    workers: int | None,
    log: Path,
    *,
    root: Path = PROJECT_ROOT,
    server: str = "gunicorn",
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`baoxiu serve` run from `root` (a checkout); yields its base URL and the process.

    `server="granian"` serves the same app with granian instead (for comparison only: workers
    from `workers` or the CPU count, blocking threads from GUNICORN_THREADS).
    """
    port = _free_port()
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    if server == "granian":
        threads = env.get("GUNICORN_THREADS", "1")
        command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers or os.cpu_count() or 1)]
        command += ["--blocking-threads", threads, "--no-access-log", "server.wsgi:app"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{server} exited ({proc.returncode}); see {log}")
                try:
                    if requests.get(f"{base}/api/v1/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer within 60 s; see {log}")
                time.sleep(0.2)
            yield base, proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


# -- the two phases ------------------------------------------------------------------------


@dataclass
class Tally:
    grabbed: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    grab_ms: list[float] = field(default_factory=list)
    pool_ms: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def merge(self, other: Tally) -> None:
        self.grabbed += other.grabbed
        self.answers.update(other.answers)
        self.grab_ms += other.grab_ms
        self.pool_ms += other.pool_ms

    @property
    def rate(self) -> float:
        return self.grabbed / self.elapsed if self.elapsed else 0.0


def _run_clients(
    clients: int, seconds: float, work: Any, prepare: Any, cleanup: Any = None
) -> Tally:
    """Start `clients` threads together; each runs `work(state, deadline, tally)`."""
    tallies = [Tally() for _ in range(clients)]
    clock: dict[str, float] = {}

    def start() -> None:  # runs once, before the barrier lets anyone through
        clock["started"] = time.perf_counter()
        clock["deadline"] = clock["started"] + seconds

    barrier = threading.Barrier(clients, action=start)

    def run(index: int) -> None:
        state = prepare(index)
        try:
            barrier.wait()
            work(state, clock["deadline"], tallies[index])
        finally:
            if cleanup:
                cleanup(state)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    total = Tally(elapsed=time.perf_counter() - clock["started"])
    for tally in tallies:
        total.merge(tally)
    return total


class _Client:
    """A keep-alive HTTP/1.1 client on http.client: the clients share the machine with the
    server, so they should spend as little CPU per request as a client can."""

    def __init__(self, base: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def request(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        self.conn.request(method, path, headers=headers)
        response = self.conn.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body else None

    def close(self) -> None:
        self.conn.close()


def api_phase(base: str, world: World, *, clients: int, seconds: float, page_size: int) -> Tally:
    pool_path = f"/api/v1/tech/pool?page_size={page_size}"

    def prepare(index: int) -> dict[str, Any]:
        client = _Client(base)
        techs = list(world.api_techs[index])
        headers = {"Authorization": f"Bearer {techs[0][1]}"}
        # Warm up: open the keep-alive connection and the worker's database connection.
        client.request("GET", pool_path, headers)
        return {"client": client, "techs": techs, "rng": random.Random(index)}

    def work(state: dict[str, Any], deadline: float, tally: Tally) -> None:
        client, techs, rng = state["client"], state["techs"], state["rng"]
        headers = {"Authorization": f"Bearer {techs[0][1]}"}
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, body = client.request("GET", pool_path, headers)
            tally.pool_ms.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                tally.answers[f"pool {status}"] += 1
                continue
            items = body["items"]
            if not items:
                tally.answers["pool empty"] += 1
                continue
            order_id = rng.choice(items)["id"]
            t0 = time.perf_counter()
            status, body = client.request("POST", f"/api/v1/tech/orders/{order_id}/grab", headers)
            tally.grab_ms.append((time.perf_counter() - t0) * 1000)
            if status == 200:
                tally.grabbed += 1
                tally.answers["200"] += 1
                continue
            error = body.get("error") if body else None
            tally.answers[f"{status} {error}"] += 1
            if error == "grab_limit_reached":
                techs.pop(0)
                if not techs:
                    return
                headers = {"Authorization": f"Bearer {techs[0][1]}"}

    return _run_clients(
        clients, seconds, work, prepare, cleanup=lambda state: state["client"].close()
    )


PICK_SQL = """
SELECT o.id FROM orders o JOIN order_types t ON t.id = o.order_type_id
WHERE o.org_id = %(org)s AND o.status = 'pending'
  AND (t.department_id IS NULL OR t.department_id = %(dept)s)
  AND (t.post_id IS NULL OR t.post_id = %(post)s)
ORDER BY o.priority DESC, o.created_at DESC, o.id DESC LIMIT %(limit)s
"""
STAFF_SQL = "SELECT department_id, post_id FROM staff WHERE id = %s"
LOCK_SQL = """
SELECT s.department_id, s.post_id,
       COALESCE(s.grab_cap, d.grab_cap, g.default_grab_cap)
FROM staff s JOIN organisations g ON g.id = s.org_id
LEFT JOIN departments d ON d.id = s.department_id
WHERE s.id = %s AND s.org_id = %s FOR UPDATE OF s
"""
HELD_SQL = "SELECT count(*) FROM orders WHERE assignee_id = %s AND status = ANY(%s)"
CLAIM_SQL = """
UPDATE orders SET status = 'in_progress', assignee_id = %(staff)s, assigned_at = %(now)s,
       accepted_at = %(now)s, updated_at = %(now)s
WHERE id = %(order)s AND org_id = %(org)s AND status = 'pending' RETURNING id
"""
EVENT_SQL = """
INSERT INTO order_events (org_id, order_id, action, from_status, to_status, actor_user_id,
                          actor_role, reason, data, created_at)
VALUES (%s, %s, 'grab', 'pending', 'in_progress', %s, 'technician', '', %s, %s)
"""


class _Full(Exception):
    pass


def direct_phase(
    database_url: str, world: World, *, clients: int, seconds: float, page_size: int
) -> Tally:
    def prepare(index: int) -> dict[str, Any]:
        conn = psycopg.connect(database_url, autocommit=True)
        staff_id = world.direct_techs[index][0][0]
        row = conn.execute(STAFF_SQL, (staff_id,)).fetchone()
        dept, post = row if row else (None, None)
        return {
            "conn": conn,
            "techs": list(world.direct_techs[index]),
            "dept": dept,
            "post": post,
            "rng": random.Random(index),
        }

    def work(state: dict[str, Any], deadline: float, tally: Tally) -> None:
        conn, techs, rng = state["conn"], state["techs"], state["rng"]
        pick = {"org": world.org_id, "dept": state["dept"], "post": state["post"]}
        pick["limit"] = page_size
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            items = conn.execute(PICK_SQL, pick).fetchall()
            tally.pool_ms.append((time.perf_counter() - t0) * 1000)
            if not items:
                tally.answers["pool empty"] += 1
                continue
            order_id = rng.choice(items)[0]
            staff_id, user_id = techs[0]
            t0 = time.perf_counter()
            now = datetime.now(UTC)
            try:
                # The service's lock order: the technician first, then the order.
                with conn.transaction():
                    row = conn.execute(LOCK_SQL, (staff_id, world.org_id)).fetchone()
                    assert row is not None
                    held = conn.execute(HELD_SQL, (staff_id, list(HELD))).fetchone()
                    if held is None or held[0] >= row[2]:
                        raise _Full
                    claimed = conn.execute(
                        CLAIM_SQL,
                        {"staff": staff_id, "now": now, "order": order_id, "org": world.org_id},
                    ).fetchone()
                    if claimed is not None:
                        conn.execute(
                            EVENT_SQL,
                            (
                                world.org_id,
                                order_id,
                                user_id,
                                psycopg.types.json.Jsonb({"assignee_id": staff_id}),
                                now,
                            ),
                        )
            except _Full:
                tally.grab_ms.append((time.perf_counter() - t0) * 1000)
                tally.answers["409 grab_limit_reached"] += 1
                techs.pop(0)
                if not techs:
                    return
                continue
            tally.grab_ms.append((time.perf_counter() - t0) * 1000)
            if claimed is not None:
                tally.grabbed += 1
                tally.answers["200"] += 1
            else:
                tally.answers["409 order_taken"] += 1

    return _run_clients(
        clients, seconds, work, prepare, cleanup=lambda state: state["conn"].close()
    )


# -- the pool query on a big table ---------------------------------------------------------


def _excerpt(lines: list[str]) -> list[str]:
    """The plan's top, how it reads `orders` (which index), and planning/execution times."""
    keep = [lines[0]]
    after_orders = False
    for i, line in enumerate(lines[1:], start=1):
        text = line.strip()
        reads_orders = " on orders " in text or " on ix_orders" in text
        detail = after_orders and text.startswith(("Index Cond", "Filter", "Heap Fetches"))
        timing = text.startswith(("Planning Time", "Execution Time"))
        top = i < 6 and ("Sort Key" in text or "Aggregate" in text)
        if reads_orders or detail or timing or top:
            keep.append("  " + text)
        after_orders = reads_orders or (after_orders and detail)
    return keep


def explain_pool(
    database_url: str, world: World, page_size: int, *, full: bool = False
) -> tuple[str, int]:
    """EXPLAIN ANALYZE what `technician_pool` issues; returns the plans and the row count."""
    db = Database(database_url, pool_size=1, max_overflow=0)
    captured: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM orders" in statement:
            captured.append((statement, params))

    with db.transaction() as uow:
        tech = technician(uow.session, org_id=world.org_id, staff_id=world.sample_staff_id)
        assert tech is not None
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            technician_pool(
                uow.session,
                org_id=tech.org_id,
                staff_id=tech.staff_id,
                page=1,
                page_size=page_size,
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        conn = uow.session.connection().connection.driver_connection
        assert conn is not None
        plans = []
        for statement, params in captured:
            if "WHERE orders.assignee_id" in statement:
                continue  # the held count: served by ix_orders_held, not the pool
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).fetchall()
            lines = [str(r[0]) for r in rows]
            plans.append("\n".join(lines if full else _excerpt(lines)))
        total = conn.execute("SELECT count(*) FROM orders").fetchone()
    db.dispose()
    return "\n\n".join(plans), int(total[0] if total else 0)


# -- report --------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(api: Tally, direct: Tally, *, clients: int, workers: str) -> str:
    ratio = api.rate / direct.rate if direct.rate else float("nan")
    lines = [
        f"clients: {clients}   gunicorn workers: {workers}   phase: {api.elapsed:.1f} s",
        "",
        f"{'':28}{'API':>12}{'direct':>12}",
        f"{'grabs/s':28}{api.rate:12.1f}{direct.rate:12.1f}",
        f"{'grab p50 / p99 (ms)':28}"
        f"{_pct(api.grab_ms, 50):6.1f} /{_pct(api.grab_ms, 99):5.1f}"
        f"{_pct(direct.grab_ms, 50):6.1f} /{_pct(direct.grab_ms, 99):5.1f}",
        f"{'pool list p50 / p99 (ms)':28}"
        f"{_pct(api.pool_ms, 50):6.1f} /{_pct(api.pool_ms, 99):5.1f}"
        f"{_pct(direct.pool_ms, 50):6.1f} /{_pct(direct.pool_ms, 99):5.1f}",
        "",
        f"ratio grabs/s API / direct: {ratio:.2f}   (aim ≥ 0.5; grab p99 aim < 100 ms)",
        f"answers API:    {dict(sorted(api.answers.items()))}",
        f"answers direct: {dict(sorted(direct.answers.items()))}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.grab", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clients", type=int, default=32, help="client threads per phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--history", type=int, default=100_000, help="historical orders")
    parser.add_argument("--pool-size", type=int, default=200, help="pending orders kept")
    parser.add_argument("--page-size", type=int, default=5, help="pool page size")
    parser.add_argument("--techs-per-client", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--full-plans", action="store_true", help="print whole query plans")
    args = parser.parse_args(argv)

    base = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(base.instance_dir)
    redis_url = os.environ.get("REDIS_URL") or runtime.embedded_redis_url(base.instance_dir)
    print("preparing a fresh database …", flush=True)
    database_url = fresh_database(server_url)
    try:
        env = {
            **os.environ,
            "BAOXIU_ENV": "dev",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warning"),
        }
        settings = Settings.from_env(env)
        tokens = TokenIssuer(
            settings.secret_key, settings.jwt_access_minutes, settings.jwt_refresh_days
        )
        t0 = time.perf_counter()
        world = seed(
            database_url, tokens, clients=args.clients, techs_per_client=args.techs_per_client
        )
        maker = OrderMaker(world)
        with psycopg.connect(database_url) as conn:
            insert_history(conn, maker, count=args.history)
            conn.execute("ANALYZE")
            conn.commit()
        print(f"seeded {args.history} historical orders in {time.perf_counter() - t0:.1f} s")

        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "gunicorn.log"
            with gunicorn(env, args.workers, log) as api_base:
                print(f"API phase: {args.clients} clients for {args.seconds:.0f} s …", flush=True)
                with Refiller(database_url, maker, args.pool_size):
                    api = api_phase(
                        api_base,
                        world,
                        clients=args.clients,
                        seconds=args.seconds,
                        page_size=args.page_size,
                    )
        print(f"direct phase: {args.clients} clients for {args.seconds:.0f} s …", flush=True)
        with Refiller(database_url, maker, args.pool_size):
            direct = direct_phase(
                database_url,
                world,
                clients=args.clients,
                seconds=args.seconds,
                page_size=args.page_size,
            )
        plans, total = explain_pool(database_url, world, args.page_size, full=args.full_plans)
        workers = str(args.workers or f"config default ({os.cpu_count() or 1} cpus)")
        print()
        print(report(api, direct, clients=args.clients, workers=workers))
        print()
        print(f"pool query plans with {total} rows in orders (EXPLAIN ANALYZE):")
        print(plans)
    finally:
        if not args.keep:
            drop_database(server_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
