"""What one repair costs the database: statements, CPU, rows and WAL per step of its life.

    python -m bench.capacity [--orders 200] [--json FILE]

Seeds the demo organisation on a fresh database (`--db-name`, dropped at the end unless
`--keep`) on DATABASE_URL's server if set, else the embedded PostgreSQL, then walks
`--orders` orders through the real API, in process (the app's WSGI callable, one thread):
the resident files → the desk assigns → the technician accepts → completes → the resident
rates. Per step it prints requests, SQL statements per request and CPU ms per request (this
process: Flask, the use cases, SQLAlchemy, psycopg); per order, the WAL PostgreSQL wrote
(`pg_current_wal_lsn`), the rows and bytes each table grew by, and the outbox rows the life
of an order leaves. `docs/capacity.md` builds the capacity plan from these figures and the
hot paths' (bench/hotpaths.py).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import event

from bench.grab import PROJECT_ROOT
from bench.hotpaths import drop_database, fresh_database
from server import runtime
from server.config import Settings
from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE

RESIDENT = "13800000001"
TECHNICIAN = "13900000001"
STEPS = ("file", "assign", "accept", "complete", "rate")
# The tables an order's life writes to (the rest do not grow per order).
TABLES = (
    "orders",
    "order_events",
    "sla_clocks",
    "outbox",
    "notifications",
    "audit_log",
    "return_visits",
    "order_fees",
    "ledger_entries",
)


@dataclass
class Step:
    requests: int = 0
    statements: int = 0
    cpu: float = 0.0


@dataclass
class Counted:
    statements: int = 0
    steps: dict[str, Step] = field(default_factory=dict)


def _sizes(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, int]]:
    """(rows, bytes with indexes and TOAST) per table."""
    found = {}
    for table in TABLES:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not exists or not exists[0]:
            continue
        rows = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        size = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
        assert rows is not None and size is not None
        found[table] = (int(rows[0]), int(size[0]))
    return found


def _wal(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    assert row is not None
    return int(row[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--orders", type=int, default=200, help="orders walked through")
    parser.add_argument("--db-name", default="baoxiu_capacity", help="the bench database")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args(argv)

    base = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(base.instance_dir)
    redis_url = os.environ.get("REDIS_URL") or runtime.embedded_redis_url(base.instance_dir)
    database_url = fresh_database(server_url, args.db_name, PROJECT_ROOT)
    try:
        env = {
            "BAOXIU_ENV": "dev",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "warning",
        }
        settings = Settings.from_env({**os.environ, **env})
        from server.app import create_app
        from server.demo_data import seed_demo

        app = create_app(settings)
        db = app.extensions["baoxiu"].db
        with db.transaction() as unit:
            seed_demo(unit.session, history=False)
        figures = _walk(app, database_url, args.orders)
    finally:
        if not args.keep:
            drop_database(server_url, args.db_name)
    print(_report(figures, args.orders))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, ensure_ascii=False, indent=2)
    return 0


def _walk(app: Any, database_url: str, orders: int) -> dict[str, Any]:
    client = app.test_client()

    def login(phone: str) -> dict[str, str]:
        r = client.post(
            "/api/v1/auth/login",
            json={"phone": phone, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
        )
        assert r.status_code == 200, r.json
        return {"Authorization": f"Bearer {r.json['access_token']}"}

    resident, desk, tech = login(RESIDENT), login(DISPATCHER_PHONE), login(TECHNICIAN)
    me = client.get("/api/v1/me", headers=tech).json
    staff_id = me["staff"]["id"]
    rooms = client.get("/api/v1/tenant/rooms", headers=resident).json
    room_id = (rooms["items"] if isinstance(rooms, dict) else rooms)[0]["room"]["id"]
    catalog = client.get("/api/v1/catalog/order-types", headers=resident).json
    subtype_id = _free_subtype(catalog)

    counted = Counted(steps={name: Step() for name in STEPS})
    engine = app.extensions["baoxiu"].db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        counted.statements += 1

    def call(step: str, method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        before, cpu = counted.statements, time.process_time()
        r = client.open(path, method=method, json=body, headers=headers)
        spent = time.process_time() - cpu
        assert r.status_code < 300, (step, r.status_code, r.json)
        s = counted.steps[step]
        s.requests += 1
        s.statements += counted.statements - before
        s.cpu += spent
        return r.json

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        sizes_before, wal_before = _sizes(conn), _wal(conn)
        for index in range(orders):
            order = call(
                "file",
                "POST",
                "/api/v1/tenant/orders",
                resident,
                {"subtype_id": subtype_id, "room_id": room_id, "description": f"漏水 {index}"},
            )
            oid = order["id"]
            call(
                "assign", "POST", f"/api/v1/admin/orders/{oid}/assign", desk, {"staff_id": staff_id}
            )
            call("accept", "POST", f"/api/v1/tech/orders/{oid}/accept", tech, None)
            call(
                "complete",
                "POST",
                f"/api/v1/tech/orders/{oid}/complete",
                tech,
                {"result": "已更换密封圈"},
            )
            call("rate", "POST", f"/api/v1/tenant/orders/{oid}/rating", resident, {"score": 5})
        wal_after = _wal(conn)
        sizes_after = _sizes(conn)
        outbox = Counter(
            dict(conn.execute("SELECT job, count(*) FROM outbox GROUP BY job").fetchall())
        )
    return {
        "steps": {
            name: {
                "requests": s.requests,
                "statements_per_request": s.statements / max(s.requests, 1),
                "cpu_ms_per_request": s.cpu / max(s.requests, 1) * 1000,
            }
            for name, s in counted.steps.items()
        },
        "wal_bytes_per_order": (wal_after - wal_before) / orders,
        "tables_per_order": {
            table: {
                "rows": (sizes_after[table][0] - sizes_before.get(table, (0, 0))[0]) / orders,
                "bytes": (sizes_after[table][1] - sizes_before.get(table, (0, 0))[1]) / orders,
            }
            for table in sizes_after
        },
        "outbox_rows_per_order": {job: n / orders for job, n in sorted(outbox.items())},
    }


def _free_subtype(catalog: Any) -> int:
    """A subtype with no fee and no booking: an order's plain life."""
    types = catalog["items"] if isinstance(catalog, dict) else catalog
    for order_type in types:
        for sub in order_type.get("subtypes", []):
            if sub.get("fee_mode") == "none" and not sub.get("booking_enabled"):
                return int(sub["id"])
    raise RuntimeError("the demo catalogue has no free subtype without booking")


def _report(figures: dict[str, Any], orders: int) -> str:
    lines = [f"{orders} orders, each filed → assigned → accepted → completed → rated", ""]
    lines.append(f"{'step':10}{'requests':>10}{'SQL/req':>10}{'CPU ms/req':>12}")
    for name, s in figures["steps"].items():
        lines.append(
            f"{name:10}{s['requests']:>10}{s['statements_per_request']:>10.1f}"
            f"{s['cpu_ms_per_request']:>12.2f}"
        )
    total_sql = sum(s["statements_per_request"] for s in figures["steps"].values())
    total_cpu = sum(s["cpu_ms_per_request"] for s in figures["steps"].values())
    lines.append(f"{'one life':10}{len(STEPS):>10}{total_sql:>10.1f}{total_cpu:>12.2f}")
    lines.append("")
    lines.append(f"WAL per order: {figures['wal_bytes_per_order'] / 1024:.1f} KiB")
    lines.append(f"{'table':16}{'rows/order':>12}{'KiB/order':>12}")
    for table, t in figures["tables_per_order"].items():
        lines.append(f"{table:16}{t['rows']:>12.2f}{t['bytes'] / 1024:>12.2f}")
    lines.append(
        "outbox rows per order: "
        + ", ".join(f"{job} {n:.2f}" for job, n in figures["outbox_rows_per_order"].items())
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
