"""Hot paths under wrk: every request path a phone or the console polls, and the grab.

    python -m bench.hotpaths [--seconds 10] [--connections 32] [--history 100000]
                             [--server-root DIR] [--scale 100000,1000000] [--json FILE]

One run, on a fresh database (`--db-name`, default `baoxiu_hot`, dropped at the end unless
`--keep`) on DATABASE_URL's server if set, else the embedded PostgreSQL; Redis likewise.
`baoxiu serve` (gunicorn, deploy/gunicorn.conf.py as configured, access log on) runs from
`--server-root` (default: this checkout), so an older commit checked out in a worktree can be
measured with the same harness. The load comes from wrk (`-t N -c N`: one connection per wrk
thread, so each thread's Lua state is one technician), driven by bench/wrk/*.lua.

Scenarios, back to back, each `--seconds`: floor (healthz), pool, detail, tenant_list,
console_list, grab (pool then grab, a refiller keeps ~200 pending orders) and direct_grab (the
grab request's own SQL, captured once from a real grab and replayed on psycopg from N Python
threads). Per scenario: rate, p50/p99, non-2xx answers, and CPU seconds of the server (gunicorn
master + workers), of PostgreSQL and of the client (wrk), from /proc.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import random
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.grab import (
    MAX_CAP,
    ORDER_COLUMNS,
    PROJECT_ROOT,
    OrderMaker,
    Refiller,
    World,
    _copy_orders,
    _with_database,
    gunicorn_process,
    insert_history,
    seed,
)
from server import runtime
from server.accounts.tokens import TokenIssuer
from server.config import Settings
from server.db.session import Database
from server.kernel.roles import Role
from server.models import Staff, User

WRK_DIR = Path(__file__).resolve().parent / "wrk"
TICKS = os.sysconf("SC_CLK_TCK")
HELD_PER_READER = 3
TENANT_ORDERS = 50
# Ids of the rows the capture grab touches start here, so a captured value is recognisable.
CAPTURE_ID_BASE = 70_000_000
READ_SCENARIOS = ("floor", "pool", "detail", "tenant_list", "console_list")
SCALE_SCENARIOS = ("pool", "tenant_list", "console_list")


# -- database --------------------------------------------------------------------------------


def _in_root(root: Path, code: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run `code` with the server package of `root` (a checkout) and return its stdout."""
    run_env = {**(env or os.environ), "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=root,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"in {root}: {done.stderr[-3000:]}")
    return done.stdout


def fresh_database(server_url: str, name: str, root: Path) -> str:
    """Drop and recreate `name`, migrate it with `root`'s migrations, and return its URL."""
    drop_database(server_url, name)
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    _in_root(root, "import sys; from server.db import migrate; migrate.upgrade(sys.argv[1])", url)
    return url


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class People:
    """Who the scenarios act as, besides bench.grab's World (its api/direct technicians)."""

    readers: list[tuple[int, str]] = field(default_factory=list)  # (staff id, token)
    held: dict[int, list[int]] = field(default_factory=dict)  # staff id -> in_progress orders
    tenant_id: int = 0
    tenant_token: str = ""
    admin_token: str = ""
    capture_staff: int = 0
    capture_user: int = 0
    capture_token: str = ""


def _add_user(s: Any, world: World, phone: str, role: Role) -> User:
    user = User(org_id=world.org_id, phone=phone, name="压测", roles=[role.value])
    s.add(user)
    s.flush()
    return user


def seed_people(database_url: str, world: World, tokens: TokenIssuer, *, readers: int) -> People:
    """Reader technicians (pool, detail), a tenant, an admin; tokens for each."""
    people = People()
    db = Database(database_url, pool_size=1, max_overflow=0)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        s = uow.session
        sample = s.get(Staff, world.sample_staff_id)
        assert sample is not None
        phones = iter(range(13600000000, 13700000000))
        for _ in range(readers):
            user = _add_user(s, world, str(next(phones)), Role.TECHNICIAN)
            staff = Staff(
                org_id=world.org_id,
                user_id=user.id,
                department_id=sample.department_id,
                post_id=sample.post_id,
                grab_cap=MAX_CAP,
            )
            s.add(staff)
            s.flush()
            people.readers.append((staff.id, tokens.issue(s, user=user, now=now).access_token))
        tenant = _add_user(s, world, "13500000001", Role.TENANT)
        people.tenant_id = tenant.id
        people.tenant_token = tokens.issue(s, user=tenant, now=now).access_token
        admin = _add_user(s, world, "13500000002", Role.ADMIN)
        people.admin_token = tokens.issue(s, user=admin, now=now).access_token
    db.dispose()
    return people


def seed_orders(conn: psycopg.Connection[Any], maker: OrderMaker, people: People) -> None:
    """Each reader holds a few in_progress orders; the tenant has its own among the history."""
    start = datetime.now(UTC) - timedelta(days=400)
    rows = []
    for staff_id, _token in people.readers:
        for i in range(HELD_PER_READER):
            row = maker.row(
                status="in_progress", created_at=start + timedelta(hours=i), assignee_id=staff_id
            )
            rows.append(row)
    reporter = ORDER_COLUMNS.index("reporter_user_id")
    for i in range(TENANT_ORDERS):
        status = ("closed", "completed", "cancelled")[i % 3]
        cells = list(maker.row(status=status, created_at=start + timedelta(days=i * 7)))
        cells[reporter] = people.tenant_id
        rows.append(tuple(cells))
    _copy_orders(conn, rows)
    conn.commit()
    for staff_id, _token in people.readers:
        found = conn.execute(
            "SELECT id FROM orders WHERE assignee_id = %s AND status = 'in_progress' ORDER BY id",
            (staff_id,),
        ).fetchall()
        people.held[staff_id] = [int(r[0]) for r in found]


def fast_history(conn: psycopg.Connection[Any], maker: OrderMaker, *, count: int) -> float:
    """COPY `count` more historical orders, rows written as COPY text (no per-row objects)."""
    t0 = time.perf_counter()
    w = maker.world
    holder = w.direct_techs[0][0][0]
    base = datetime.now(UTC) - timedelta(days=3650)
    statuses = ("closed", "closed", "completed", "cancelled")
    common = (
        f"{w.community_id}\t{w.building_id}\t{w.room_id}\t{w.order_type_id}\t{w.subtype_id}"
        f"\t厨房水管漏水\t张三\t13800000001\t{w.reporter_id}\ttenant\ttenant"
    )
    statement = f"COPY orders ({', '.join(ORDER_COLUMNS)}) FROM STDIN"
    with conn.cursor() as cur, cur.copy(statement) as copy:
        buf = io.StringIO()
        with maker.lock:
            first = maker.seq + 1
            maker.seq += count
        for i in range(count):
            seq = first + i
            created = base + timedelta(minutes=i * 3)
            done = created + timedelta(hours=5)
            c, d = created.isoformat(), done.isoformat()
            if i % 10 < 3:
                org, status, assignee, assigned = w.other_org_id, "closed", r"\N", r"\N"
            else:
                org, status = w.org_id, statuses[i % 4]
                assignee = str(holder) if status != "cancelled" else r"\N"
                assigned = (
                    (created + timedelta(hours=1)).isoformat() if assignee != r"\N" else r"\N"
                )
            finished = d if status in ("completed", "closed") else r"\N"
            buf.write(
                f"{org}\tBX{seq:010d}\t{status}\t{'urgent' if seq % 10 == 0 else 'normal'}"
                f"\t{common}\t{assignee}\t{assigned}\t{finished}"
                f"\t{d if status == 'closed' else chr(92) + 'N'}"
                f"\t{d if status == 'cancelled' else chr(92) + 'N'}"
                f"\t{(created + timedelta(hours=24)).isoformat()}"
                f"\t{'已修好' if finished != chr(92) + 'N' else ''}\t0\tnone\t\tf\t0\t{c}\t{c}\n"
            )
            if i % 20000 == 19999:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())
    conn.commit()
    conn.execute("ANALYZE orders")
    conn.commit()
    return time.perf_counter() - t0


# -- CPU from /proc --------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(comm, ppid, own ticks, reaped children's ticks) of a process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    rest = text[text.rindex(")") + 2 :].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return comm, int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def _all_stats() -> dict[int, tuple[str, int, int, int]]:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                stats[int(entry)] = st
    return stats


def _pg_client_database(pid: int) -> str | None:
    """The database a PostgreSQL client backend serves (from its title), None for the rest."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    # "postgres: 15/main: USER DATABASE HOST(PORT) STATE" (or "postgres: USER DATABASE …")
    match = re.search(r"postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])", title)
    return match.group(1) if match else None


def cpu_sample(server_pid: int | None) -> dict[str, float]:
    """CPU seconds so far: the server's process tree (live + reaped), PostgreSQL's processes.

    `pg` is every process named postgres, with what the postmaster reaped: all databases on the
    server, other people's too (PgMeter counts this database's alone).
    """
    stats = _all_stats()
    server = 0
    if server_pid is not None:
        tree = {server_pid}
        grew = True
        while grew:
            grew = False
            for pid, (_c, ppid, _o, _r) in stats.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        server = sum(stats[p][2] + stats[p][3] for p in tree if p in stats)
    pg = sum(own + reaped for comm, _p, own, reaped in stats.values() if comm == "postgres")
    return {"server": server / TICKS, "pg": pg / TICKS}


class PgMeter:
    """CPU of PostgreSQL's background processes and of this database's backends alone.

    Sampled every 0.2 s, so a backend that exits meanwhile (gunicorn recycles its workers
    every ~5,000 requests, closing their connections) still counts up to its last sample.
    """

    def __init__(self, database: str | None) -> None:
        self.database = database
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.mine: dict[int, bool] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, into: dict[int, int]) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            st = _stat(pid)
            if st is None or st[0] != "postgres":
                continue
            if pid not in self.mine:
                self.mine[pid] = _pg_client_database(pid) in (None, self.database)
            if self.mine[pid]:
                into[pid] = st[2]

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self._sample(self.last)

    def __enter__(self) -> PgMeter:
        self._sample(self.first)
        self.thread.start()
        return self

    def seconds(self) -> float:
        self.stop.set()
        self.thread.join()
        self._sample(self.last)
        ticks = sum(v - self.first.get(pid, 0) for pid, v in self.last.items())
        return max(0, ticks) / TICKS

    def __exit__(self, *exc: object) -> None:
        self.stop.set()


# -- wrk -------------------------------------------------------------------------------------


def run_wrk(
    script: str, base: str, lines: list[str], *, connections: int, seconds: float
) -> dict[str, Any]:
    """Run wrk with `script` (one line of `lines` per wrk thread); returns its BENCHJSON."""
    with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        tokens_file = f.name
    try:
        command = [
            "wrk",
            f"-t{connections}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(WRK_DIR / script),
            base,
        ]
        env = {**os.environ, "BENCH_TOKENS": tokens_file}
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # communicate() reaps wrk, so its CPU lands in RUSAGE_CHILDREN (see measure()).
        out, err = proc.communicate(timeout=seconds + 120)
    finally:
        os.unlink(tokens_file)
    text = out.decode()
    for line in text.splitlines():
        if line.startswith("BENCHJSON "):
            figures: dict[str, Any] = json.loads(line.removeprefix("BENCHJSON "))
            return figures
    raise RuntimeError(f"wrk printed no BENCHJSON line:\n{text}\n{err.decode()}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    requests: int = 0
    rate: float = 0.0  # requests/s (grab, direct_grab: successful grabs/s)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    non_2xx: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    cpu_server: float = 0.0
    cpu_pg: float = 0.0
    cpu_pg_db: float = 0.0
    cpu_client: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def error_share(self) -> float:
        bad = sum(self.non_2xx.values()) + sum(self.errors.values())
        return bad / self.requests if self.requests else 1.0

    @property
    def server_ms_per_request(self) -> float:
        return 1000 * self.cpu_server / self.requests if self.requests else float("nan")

    @property
    def db_share(self) -> float:
        total = self.cpu_pg + self.cpu_server
        return self.cpu_pg / total if total else float("nan")


LEFTOVER: list[psycopg.Connection[Any]] = []  # closed after the CPU sample (see measure)


def measure(name: str, server_pid: int | None, work: Any, database: str | None = None) -> Result:
    """Run `work()` (returns a Result) between two CPU samples."""
    before, children = cpu_sample(server_pid), _children_cpu()
    with PgMeter(database) as meter:
        t0 = time.perf_counter()
        result: Result = work()
        result.seconds = time.perf_counter() - t0
        time.sleep(0.3)  # closed connections' backends exit and are reaped (their CPU is counted)
        after = cpu_sample(server_pid)
        result.cpu_pg_db = meter.seconds()
    while LEFTOVER:
        LEFTOVER.pop().close()
    result.name = name
    result.cpu_server = after["server"] - before["server"]
    result.cpu_pg = after["pg"] - before["pg"]
    if not result.cpu_client:
        result.cpu_client = _children_cpu() - children
    return result


def read_scenario(base: str, lines: list[str], *, connections: int, seconds: float) -> Result:
    figures = run_wrk("read.lua", base, lines, connections=connections, seconds=seconds)
    statuses = {k: int(v) for k, v in figures["statuses"].items()}
    seconds_run = figures["duration_us"] / 1e6
    errors = {k: int(v) for k, v in figures["errors"].items() if v and k != "status"}
    return Result(
        name="",
        requests=int(figures["requests"]),
        rate=figures["requests"] / seconds_run if seconds_run else 0.0,
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        non_2xx={k: v for k, v in statuses.items() if not k.startswith("2")},
        errors=errors,
        extra={"statuses": statuses},
    )


def grab_scenario(base: str, world: World, *, connections: int, seconds: float) -> Result:
    lines = [",".join(token for _staff, token in techs) for techs in world.api_techs]
    figures = run_wrk("grab.lua", base, lines, connections=connections, seconds=seconds)
    seconds_run = figures["duration_us"] / 1e6
    counts = {k: int(v) for k, v in figures["counts"].items()}
    other = {k: int(v) for k, v in figures["other"].items()}
    errors = {k: int(v) for k, v in figures["errors"].items() if v and k != "status"}
    non_2xx = {k: v for k, v in other.items()}
    return Result(
        name="",
        requests=int(figures["requests"]),
        rate=counts.get("grabbed", 0) / seconds_run if seconds_run else 0.0,
        p50_ms=figures["grab_p50_ms"],
        p99_ms=figures["grab_p99_ms"],
        non_2xx=non_2xx,
        errors=errors,
        extra={
            "answers": counts,
            "requests_per_s": figures["requests"] / seconds_run if seconds_run else 0.0,
            "pool_p50_ms": figures["pool_p50_ms"],
            "pool_p99_ms": figures["pool_p99_ms"],
            "pool_requests": figures["pool_n"],
            "grab_requests": figures["grab_n"],
        },
    )


# -- direct_grab: the grab request's own SQL, captured once, replayed on psycopg ------------

CAPTURE_CODE = r"""
import pickle, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from server.app import create_app
from server.config import Settings

out, order_id, token, pool_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
app = create_app(Settings.from_env())
log = []

def before(conn, cursor, statement, params, context, many):
    log.append([statement, params, None, many])

def after(conn, cursor, statement, params, context, many):
    if cursor.description is not None and not many:
        rows = cursor.fetchall()
        cursor.scroll(0, mode="absolute")
        log[-1][2] = [tuple(r) for r in rows]

client = app.test_client()
headers = {"Authorization": "Bearer " + token}
client.get(pool_path, headers=headers)  # warm up: first connection, caches
event.listen(Engine, "before_cursor_execute", before)
event.listen(Engine, "after_cursor_execute", after)
mark = len(log)
pool = client.get(pool_path, headers=headers)
pool_log = log[mark:]
mark = len(log)
grab = client.post(f"/api/v1/tech/orders/{order_id}/grab", headers=headers)
grab_log = log[mark:]
with open(out, "wb") as f:
    pickle.dump(
        {
            "pool": pool_log,
            "pool_status": pool.status_code,
            "pool_body": pool.get_json(),
            "grab": grab_log,
            "grab_status": grab.status_code,
            "grab_body": grab.get_data(as_text=True)[:300],
        },
        f,
    )
"""


def prepare_capture(
    database_url: str, world: World, maker: OrderMaker, tokens: TokenIssuer, people: People
) -> int:
    """Move every id sequence to its own far range, then add the capture technician and order.

    The rows the capture grab reads and writes then have ids nothing else has, so the replay can
    recognise them in the captured parameters and results and put its own in their place.
    """
    with psycopg.connect(database_url) as conn:
        seqs = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'S' AND n.nspname = 'public' ORDER BY 1"
        ).fetchall()
        for i, (seq,) in enumerate(seqs):
            conn.execute("SELECT setval(%s, %s)", (seq, CAPTURE_ID_BASE + i * 1_000_000))
        conn.commit()
    db = Database(database_url, pool_size=1, max_overflow=0)
    with db.transaction() as uow:
        s = uow.session
        sample = s.get(Staff, world.sample_staff_id)
        assert sample is not None
        user = _add_user(s, world, "13400000001", Role.TECHNICIAN)
        staff = Staff(
            org_id=world.org_id,
            user_id=user.id,
            department_id=sample.department_id,
            post_id=sample.post_id,
            grab_cap=MAX_CAP,
        )
        s.add(staff)
        s.flush()
        people.capture_staff, people.capture_user = staff.id, user.id
        people.capture_token = tokens.issue(s, user=user, now=datetime.now(UTC)).access_token
    db.dispose()
    with psycopg.connect(database_url) as conn:
        _copy_orders(conn, [maker.row(status="pending", created_at=datetime.now(UTC))])
        conn.commit()
        row = conn.execute("SELECT max(id) FROM orders").fetchone()
    assert row is not None
    return int(row[0])


def capture(
    root: Path, env: dict[str, str], order_id: int, token: str, page_size: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "capture.pickle"
        pool_path = f"/api/v1/tech/pool?page_size={page_size}"
        _in_root(root, CAPTURE_CODE, str(out), str(order_id), token, pool_path, env=env)
        with out.open("rb") as f:
            data: dict[str, Any] = pickle.load(f)
    if data["grab_status"] != 200:
        raise RuntimeError(f"the capture grab answered {data['grab_status']}: {data['grab_body']}")
    return data


def _distinct(value: Any) -> bool:
    """A captured value the replay should put its own in place of."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= CAPTURE_ID_BASE
    if isinstance(value, str):
        return bool(re.fullmatch(r"BX\d{10}", value))
    return False


class Replay:
    """One technician's copy of the captured statements, with its own ids and clock."""

    def __init__(self, captured: dict[str, Any], staff_id: int, user_id: int) -> None:
        self.captured = captured
        self.mapping: dict[Any, Any] = {}
        self.staff_id, self.user_id = staff_id, user_id
        self.t0 = captured["t0"]

    def start(self, captured_ids: dict[str, int]) -> None:
        self.mapping = {
            captured_ids["staff"]: self.staff_id,
            captured_ids["user"]: self.user_id,
        }
        self.now = datetime.now(UTC)

    def sub(self, value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return self.mapping.get(value, value)
        if isinstance(value, datetime):
            if value.tzinfo is not None and abs(value - self.t0) < timedelta(hours=1):
                return self.now + (value - self.t0)
            return value
        if isinstance(value, str):
            for old, new in self.mapping.items():
                if isinstance(old, int | str) and str(old) in value:
                    value = value.replace(str(old), str(new))
            return value
        if isinstance(value, dict):
            return {k: self.sub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.sub(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.sub(v) for v in value)
        if hasattr(value, "obj") and hasattr(value, "dumps"):  # psycopg Json/Jsonb
            return type(value)(self.sub(value.obj))
        return value

    def learn(self, captured_rows: list[tuple[Any, ...]] | None, rows: list[Any]) -> None:
        for old_row, new_row in zip(captured_rows or [], rows, strict=False):
            for old, new in zip(old_row, new_row, strict=False):
                if _distinct(old) and old != new:
                    self.mapping[old] = new


def _first_ts(entries: list[list[Any]]) -> datetime:
    """The capture's clock: the first timezone-aware timestamp among the grab's parameters."""
    found: list[datetime] = []

    def walk(v: Any) -> None:
        if isinstance(v, datetime) and v.tzinfo is not None:
            found.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)

    for _stmt, params, _rows, _many in entries:
        walk(params)
    return min(found) if found else datetime.now(UTC)


def _pick_column(captured: dict[str, Any]) -> tuple[int, int]:
    """(statement index, column) of the pool statement whose rows are the listed ids."""
    ids = {item["id"] for item in captured["pool_body"]["items"]}
    for index, (_stmt, _params, rows, _many) in enumerate(captured["pool"]):
        for col in range(len(rows[0]) if rows else 0):
            values = {r[col] for r in rows if isinstance(r[col], int | str)}
            if ids and ids <= values:
                return index, col
    raise RuntimeError("no pool statement returned the listed ids")


def abbreviate(statement: str, width: int = 150) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _execute(conn: psycopg.Connection[Any], stmt: str, params: Any, many: bool) -> list[Any]:
    if many:
        with conn.cursor() as cur:
            cur.executemany(stmt, params)
        return []
    cur = conn.execute(stmt, params)
    return cur.fetchall() if cur.description is not None else []


def direct_grab(
    database_url: str,
    world: World,
    captured: dict[str, Any],
    ids: dict[str, int],
    *,
    connections: int,
    seconds: float,
) -> Result:
    pick_index, pick_col = _pick_column(captured)
    claim_index = next(
        i
        for i, (stmt, _p, rows, _m) in enumerate(captured["grab"])
        if stmt.lstrip().upper().startswith("UPDATE ORDERS") and rows
    )
    answers: Counter[str] = Counter()
    pool_ms: list[float] = []
    grab_ms: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(connections + 1)
    clock: dict[str, float] = {}
    failures: list[str] = []

    def run(index: int) -> None:
        techs = [(staff, user) for staff, user in world.direct_techs[index]]
        grabbed_by = 0
        rng = random.Random(index)
        mine: Counter[str] = Counter()
        my_pool: list[float] = []
        my_grab: list[float] = []
        conn = psycopg.connect(database_url)
        try:
            barrier.wait()
            while time.perf_counter() < clock["deadline"] and techs:
                replay = Replay(captured, *techs[0])
                replay.start(ids)
                t0 = time.perf_counter()
                listed: list[Any] = []
                for i, (stmt, params, rows, many) in enumerate(captured["pool"]):
                    got = _execute(conn, stmt, replay.sub(params), many)
                    replay.learn(rows, got)
                    if i == pick_index:
                        listed = [r[pick_col] for r in got]
                conn.commit()
                my_pool.append((time.perf_counter() - t0) * 1000)
                if not listed:
                    mine["pool empty"] += 1
                    continue
                replay.mapping[ids["order"]] = rng.choice(listed)
                t0 = time.perf_counter()
                taken = False
                for i, (stmt, params, rows, many) in enumerate(captured["grab"]):
                    got = _execute(conn, stmt, replay.sub(params), many)
                    if i == claim_index and not got:
                        taken = True
                        break
                    replay.learn(rows, got)
                if taken:
                    conn.rollback()
                    mine["409 order_taken"] += 1
                else:
                    conn.commit()
                    mine["200"] += 1
                    grabbed_by += 1
                    if grabbed_by >= MAX_CAP:  # the service would answer grab_limit_reached
                        mine["409 grab_limit_reached"] += 1
                        techs.pop(0)
                        grabbed_by = 0
                my_grab.append((time.perf_counter() - t0) * 1000)
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            LEFTOVER.append(conn)  # open until measure() has read its backend's CPU
            with lock:
                answers.update(mine)
                pool_ms.extend(my_pool)
                grab_ms.extend(my_grab)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    cpu0 = time.process_time()
    clock["started"] = time.perf_counter()
    clock["deadline"] = clock["started"] + seconds
    barrier.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - clock["started"]
    if failures:
        print(f"  direct_grab: {len(failures)} thread(s) failed, first: {failures[0]}")
    grab_ms.sort()
    pool_ms.sort()
    return Result(
        name="",
        requests=len(grab_ms) + len(pool_ms),
        rate=answers["200"] / elapsed,
        p50_ms=_pct(grab_ms, 50),
        p99_ms=_pct(grab_ms, 99),
        cpu_client=time.process_time() - cpu0,
        extra={
            "answers": dict(answers),
            "pool_p50_ms": _pct(pool_ms, 50),
            "pool_p99_ms": _pct(pool_ms, 99),
            "thread_failures": len(failures),
        },
    )


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = max(0, min(len(sorted_values) - 1, int(len(sorted_values) * q / 100 + 0.999999) - 1))
    return sorted_values[i]


# -- report ----------------------------------------------------------------------------------


def report(results: dict[str, Result]) -> str:
    floor = results.get("floor")
    direct = results.get("direct_grab")
    head = (
        f"{'scenario':13}{'rate/s':>9}{'×floor':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU s srv':>10}{'pg':>7}{'pg db':>7}{'client':>8}{'srv ms/req':>11}{'db share':>9}"
        "  non-2xx"
    )
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        rate = r.extra["requests_per_s"] if name == "grab" else r.rate
        ratio = rate / floor.rate if floor and floor.rate and name != "direct_grab" else None
        bad = dict(r.non_2xx)
        bad.update({f"socket {k}": v for k, v in r.errors.items()})
        flag = "  ** >1 % errors **" if r.error_share > 0.01 else ""
        lines.append(
            f"{name:13}{r.rate:9.1f}{(f'{ratio:.2f}' if ratio else '—'):>8}"
            f"{r.p50_ms:9.1f}{r.p99_ms:9.1f}{r.cpu_server:10.1f}{r.cpu_pg:7.1f}{r.cpu_pg_db:7.1f}"
            f"{r.cpu_client:8.1f}"
            f"{(f'{r.server_ms_per_request:.2f}' if r.cpu_server else '—'):>11}"
            f"{(f'{r.db_share:.2f}' if r.cpu_server else '—'):>9}  {bad or ''}{flag}"
        )
    lines.append("")
    grab = results.get("grab")
    if grab:
        g = grab.extra
        lines.append(
            f"grab: {grab.rate:.1f} successful grabs/s in {g['requests_per_s']:.0f} requests/s"
            f" (pool p50/p99 {g['pool_p50_ms']:.1f}/{g['pool_p99_ms']:.1f} ms,"
            f" grab p50/p99 {grab.p50_ms:.1f}/{grab.p99_ms:.1f} ms); answers {g['answers']}"
        )
    if direct:
        d = direct.extra
        lines.append(
            f"direct_grab: {direct.rate:.1f} grabs/s (pick p50/p99 {d['pool_p50_ms']:.1f}/"
            f"{d['pool_p99_ms']:.1f} ms, grab p50/p99 {direct.p50_ms:.1f}/{direct.p99_ms:.1f} ms);"
            f" answers {d['answers']}; client column = this Python process"
        )
    lines.append(
        "CPU s: srv = gunicorn master + workers; pg = every postgres process (+ reaped);"
        " pg db = background + this database's backends only; client = wrk"
    )
    lines.append("db share = pg / (pg + srv); srv ms/req = server CPU per request")
    lines.append("")
    lines.append("aims:")
    pool = results.get("pool")
    if pool and floor and floor.rate:
        lines.append(f"  pool ≥ 0.4 × floor:      {pool.rate / floor.rate:.2f}")
    if grab and direct and direct.rate:
        lines.append(f"  grab ≥ 0.5 × direct_grab: {grab.rate / direct.rate:.2f}")
    if grab:
        lines.append(f"  grab p99 < 50 ms:        {grab.p99_ms:.1f} ms")
    return "\n".join(lines)


def scale_report(scale: dict[int, dict[str, Result]]) -> str:
    sizes = sorted(scale)
    head = f"{'history':>10}" + "".join(f"{n + ' /s':>18}{'p50 ms':>9}" for n in SCALE_SCENARIOS)
    lines = [head]
    for size in sizes:
        row = f"{size:10,}"
        for n in SCALE_SCENARIOS:
            r = scale[size].get(n)
            row += f"{r.rate:18.1f}{r.p50_ms:9.1f}" if r else f"{'—':>18}{'—':>9}"
        lines.append(row)
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        parts = []
        for n in SCALE_SCENARIOS:
            a, b = scale[lo].get(n), scale[hi].get(n)
            if a and b and a.p50_ms:
                parts.append(f"{n} {b.p50_ms / a.p50_ms:.2f}×")
        lines.append(f"p50 {hi:,} / {lo:,} (aim ≤ 1.5×): " + ", ".join(parts))
    return "\n".join(lines)


def _as_json(r: Result) -> dict[str, Any]:
    return {
        "rate": r.rate,
        "seconds": r.seconds,
        "requests": r.requests,
        "p50_ms": r.p50_ms,
        "p99_ms": r.p99_ms,
        "non_2xx": r.non_2xx,
        "socket_errors": r.errors,
        "cpu_server_s": r.cpu_server,
        "cpu_pg_s": r.cpu_pg,
        "cpu_pg_this_db_s": r.cpu_pg_db,
        "cpu_client_s": r.cpu_client,
        "server_ms_per_request": r.server_ms_per_request if r.cpu_server else None,
        "db_share": r.db_share if r.cpu_server else None,
        **r.extra,
    }


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hotpaths", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each scenario")
    parser.add_argument("--connections", type=int, default=32, help="wrk threads = connections")
    parser.add_argument("--history", type=int, default=100_000, help="historical orders")
    parser.add_argument("--pool-size", type=int, default=200, help="pending orders kept (grab)")
    parser.add_argument("--page-size", type=int, default=5, help="pool page size (grab)")
    parser.add_argument("--techs-per-connection", type=int, default=10, help="grab technicians")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (config)")
    parser.add_argument("--db-name", default="baoxiu_hot", help="the bench database's name")
    parser.add_argument(
        "--server",
        choices=("gunicorn", "granian"),
        default="gunicorn",
        help="serve with `baoxiu serve` (gunicorn) or, for comparison, granian",
    )
    parser.add_argument("--server-root", type=Path, default=PROJECT_ROOT, help="checkout to serve")
    parser.add_argument("--scale", default="", help="history sizes, e.g. 100000,1000000")
    parser.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk 未安装 / wrk is not installed: apt-get install wrk (Debian) or brew install wrk")
        return 2
    root = args.server_root.resolve()
    only = set(filter(None, args.only.split(",")))
    sizes = sorted(int(s) for s in args.scale.split(",") if s) if args.scale else []
    history = sizes[0] if sizes else args.history
    n = args.connections

    base_settings = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(
        base_settings.instance_dir
    )
    redis_url = os.environ.get("REDIS_URL") or runtime.embedded_redis_url(
        base_settings.instance_dir
    )
    commit = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(f"server root: {root}  ({commit[:90]})")
    print(
        f"connections: {n} (wrk -t{n} -c{n})   seconds per scenario: {args.seconds:g}"
        f"   cpus: {os.cpu_count()}   load: {os.getloadavg()[0]:.1f}"
    )
    print(f"preparing a fresh database {args.db_name} …", flush=True)
    database_url = fresh_database(server_url, args.db_name, root)
    results: dict[str, Result] = {}
    scale: dict[int, dict[str, Result]] = {}
    try:
        env = {
            **os.environ,
            "BAOXIU_ENV": "dev",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warning"),
            "PYTHONPATH": str(root),
        }
        settings = Settings.from_env(env)
        tokens = TokenIssuer(
            settings.secret_key, settings.jwt_access_minutes, settings.jwt_refresh_days
        )
        t0 = time.perf_counter()
        world = seed(database_url, tokens, clients=n, techs_per_client=args.techs_per_connection)
        people = seed_people(database_url, world, tokens, readers=n)
        maker = OrderMaker(world)
        with psycopg.connect(database_url) as conn:
            insert_history(conn, maker, count=history)
            seed_orders(conn, maker, people)
            conn.execute("ANALYZE")
            conn.commit()
        capture_order = prepare_capture(database_url, world, maker, tokens, people)
        print(f"seeded {history:,} historical orders in {time.perf_counter() - t0:.1f} s")

        captured: dict[str, Any] | None = None
        try:
            captured = capture(root, env, capture_order, people.capture_token, args.page_size)
            captured["t0"] = _first_ts(captured["grab"])
        except Exception as exc:
            print(f"could not capture the grab's SQL, direct_grab skipped: {exc}")
        capture_ids = {
            "staff": people.capture_staff,
            "user": people.capture_user,
            "order": capture_order,
        }
        if captured:
            print("\ndirect_grab replays what one real grab request issued (captured once):")
            print("  pool pick:")
            for stmt, *_ in captured["pool"]:
                print("    " + abbreviate(stmt))
            print("  grab (one transaction; stops and rolls back when the claim matches no row):")
            for stmt, *_ in captured["grab"]:
                print("    " + abbreviate(stmt))
            print()

        readers = people.readers
        read_lines = {
            "floor": ["/api/v1/healthz\t"],
            "pool": [f"/api/v1/tech/pool?page_size=5\t{token}" for _s, token in readers],
            "detail": [
                f"/api/v1/tech/orders/{people.held[staff][i % HELD_PER_READER]}\t{token}"
                for i, (staff, token) in enumerate(readers)
            ],
            "tenant_list": [f"/api/v1/tenant/orders?page_size=20\t{people.tenant_token}"],
            "console_list": [f"/api/v1/admin/orders?page_size=20\t{people.admin_token}"],
        }

        def wanted(name: str) -> bool:
            return not only or name in only

        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "gunicorn.log"
            with gunicorn_process(env, args.workers, log, root=root, server=args.server) as (
                base,
                proc,
            ):
                pid = proc.pid
                with psycopg.connect(database_url) as conn:
                    Refiller(database_url, maker, args.pool_size).fill(conn)
                for name in READ_SCENARIOS:
                    if not wanted(name):
                        continue
                    print(f"{name} …", flush=True)
                    lines = read_lines[name]
                    results[name] = measure(
                        name,
                        pid,
                        lambda lines=lines: read_scenario(
                            base, lines, connections=n, seconds=args.seconds
                        ),
                        args.db_name,
                    )
                if wanted("grab"):
                    print("grab …", flush=True)
                    with Refiller(database_url, maker, args.pool_size):
                        results["grab"] = measure(
                            "grab",
                            pid,
                            lambda: grab_scenario(base, world, connections=n, seconds=args.seconds),
                            args.db_name,
                        )
                if captured and wanted("direct_grab"):
                    print("direct_grab …", flush=True)
                    with Refiller(database_url, maker, args.pool_size):
                        results["direct_grab"] = measure(
                            "direct_grab",
                            None,
                            lambda: direct_grab(
                                database_url,
                                world,
                                captured,
                                capture_ids,
                                connections=n,
                                seconds=args.seconds,
                            ),
                            args.db_name,
                        )
                if sizes:
                    scale[history] = {k: results[k] for k in SCALE_SCENARIOS if k in results}
                    for size in sizes[1:]:
                        with psycopg.connect(database_url) as conn:
                            took = fast_history(conn, maker, count=size - history)
                            total = conn.execute("SELECT count(*) FROM orders").fetchone()
                        print(
                            f"history {history:,} → {size:,}: COPY + ANALYZE {took:.1f} s"
                            f" ({total[0] if total else '?':,} rows in orders)",
                            flush=True,
                        )
                        history = size
                        scale[size] = {}
                        for name in SCALE_SCENARIOS:
                            print(f"{name} at {size:,} …", flush=True)
                            lines = read_lines[name]
                            scale[size][name] = measure(
                                name,
                                pid,
                                lambda lines=lines: read_scenario(
                                    base, lines, connections=n, seconds=args.seconds
                                ),
                                args.db_name,
                            )
            tail = log.read_text(errors="replace").splitlines()
            problems = [x for x in tail if " ERROR " in x or "Traceback" in x]
            raised = [x for x in tail if re.match(r"^[\w.]+(Error|Exception)\b", x)]
        print()
        print(report(results))
        if scale:
            print()
            print(scale_report(scale))
        if problems:
            print(f"\nserver log: {len(problems)} error line(s), first: {problems[0][:200]}")
            for line, count in Counter(raised).most_common(3):
                print(f"  {count} × {line[:200]}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "server_root": str(root),
                        "commit": commit,
                        "connections": n,
                        "seconds": args.seconds,
                        "scenarios": {k: _as_json(v) for k, v in results.items()},
                        "scale": {
                            str(size): {k: _as_json(v) for k, v in rs.items()}
                            for size, rs in scale.items()
                        },
                        "statements": {
                            "pool": [s for s, *_ in captured["pool"]] if captured else [],
                            "grab": [s for s, *_ in captured["grab"]] if captured else [],
                        },
                    },
                    indent=2,
                    ensure_ascii=False,
                    default=str,
                )
            )
    finally:
        if not args.keep:
            drop_database(server_url, args.db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
