"""The console's pages: server time per page, against the JSON API's same answer, and what a
browser downloads.

    python -m bench.console [--orders 1000000] [--repeat 15] [--no-large]   # or: make bench-console

1. **Demo data** (`seed_demo`: two communities, 60 days of history) on a fresh database
   `baoxiu_bench_console`: each console page, signed in as the demo dispatcher, p50 of
   `--repeat` requests through the WSGI application (Flask's test client: the server's whole
   time — session check, use cases, SQL, templates — without a network). Aim: p50 < 50 ms.
2. **1,000,000 orders** (the data of `bench.dashboard`) on `baoxiu_bench_console_large`: the
   board, the workbench and the dashboard against the JSON API's answer of the same figures,
   in the same run; **ratio = page p50 ÷ API p50** (aim ≤ 1.5). The dashboard page shows the
   overview, the trends, the technicians and the departments: its API figure is the sum of
   those four calls.
3. **Downloads**: per page, the scripts and stylesheets it names, as the browser gets them
   (gzip), summed: aim ≤ 600 KB on first load; each is fingerprinted and `immutable`, so a
   second load downloads nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from bench.dashboard import build_rollup, seed_orders
from bench.grab import _with_database
from server import runtime
from server.accounts.models import User
from server.accounts.passwords import hash_password
from server.app import create_app
from server.config import Settings
from server.db import migrate
from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE, seed_demo
from server.kernel.clock import LOCAL_TZ
from server.kernel.roles import Role
from server.staff.models import Staff

DEMO_DB = "baoxiu_bench_console"
LARGE_DB = "baoxiu_bench_console_large"
PAGE_AIM_MS = 50.0
RATIO_AIM = 1.5
DOWNLOAD_AIM_BYTES = 600 * 1024
LARGE_PHONE = "13600000000"


def fresh_database(server_url: str, name: str) -> str:
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    migrate.upgrade(url)
    return url


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(database_url: str, redis_url: str) -> Settings:
    return Settings.from_env(
        {
            **os.environ,
            "BAOXIU_ENV": "dev",
            "SECRET_KEY": "bench-console-" + "x" * 40,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
        }
    )


def p50_ms(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm: plans, caches, templates
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


class Desk:
    """One dispatcher, signed in to the console (cookie) and to the API (token)."""

    def __init__(self, app: Flask, phone: str, org: str | None) -> None:
        self.console: FlaskClient = app.test_client()
        signed = self.console.post(
            "/console/login", data={"phone": phone, "password": DEMO_PASSWORD, "org": org or ""}
        )
        assert signed.status_code == 303, signed.get_data(as_text=True)[:500]
        body: dict[str, Any] = {"phone": phone, "password": DEMO_PASSWORD}
        if org:
            body["org"] = org
        answer = app.test_client().post("/api/v1/auth/login", json=body)
        assert answer.status_code == 200, answer.json
        self.api = app.test_client()
        self.headers = {"Authorization": f"Bearer {answer.json['access_token']}"}

    def page(self, path: str) -> Callable[[], Any]:
        def run() -> Any:
            answer = self.console.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            return answer

        return run

    def api_calls(self, *paths: str) -> Callable[[], Any]:
        def run() -> Any:
            for path in paths:
                answer = self.api.get(path, headers=self.headers)
                assert answer.status_code == 200, (path, answer.status_code)

        return run


def dashboard_query(days: int) -> str:
    last = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    first = last - timedelta(days=days - 1)
    return f"from={first.isoformat()}&to={last.isoformat()}"


def demo_pages(app: Flask, repeat: int) -> None:
    desk = Desk(app, DISPATCHER_PHONE, DEMO_ORG_CODE)
    order_id = desk.api.get("/api/v1/admin/orders?page_size=1", headers=desk.headers).json["items"][
        0
    ]["id"]
    month = dashboard_query(30)
    pages = {
        "workbench": "/console/workbench",
        "orders board": "/console/orders",
        "order": f"/console/orders/{order_id}",
        "new order": "/console/orders/new",
        "dashboard (30 d)": f"/console/dashboard?{month}",
        "visits": "/console/visits",
        "complaints": "/console/complaints",
        "notices": "/console/notices",
        "surveys": "/console/surveys",
    }
    print("\n1. demo data: server time per page (p50, aim < 50 ms)")
    print(f"{'page':22}{'p50 ms':>9}")
    for name, path in pages.items():
        ms = p50_ms(desk.page(path), repeat)
        print(f"{name:22}{ms:9.1f}{'  ok' if ms < PAGE_AIM_MS else '  SLOW'}")
    downloads(desk, pages)


def downloads(desk: Desk, pages: dict[str, str]) -> None:
    print(f"\n3. what a browser downloads per page (gzip; aim ≤ {DOWNLOAD_AIM_BYTES // 1024} KB)")
    print(f"{'page':22}{'files':>6}{'KB':>9}  cached after")
    for name, path in pages.items():
        html = desk.console.get(path).get_data(as_text=True)
        urls = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(/console/static/[^"]+)"', html)
        total, cached = 0, True
        for url in urls:
            answer = desk.console.get(url, headers={"Accept-Encoding": "gzip"})
            total += len(answer.data)
            cached = cached and "immutable" in answer.headers.get("Cache-Control", "")
        mark = "ok" if total <= DOWNLOAD_AIM_BYTES else "TOO BIG"
        print(f"{name:22}{len(urls):6}{total / 1024:9.1f}  {'yes' if cached else 'NO'}  {mark}")


def add_dispatcher(app: Flask) -> None:
    """The large organisation's dispatcher (the bench's seed makes technicians only)."""
    with app.extensions["baoxiu"].db.transaction() as uow:
        session = uow.session
        org_id = session.execute(text("SELECT org_id FROM orders ORDER BY id LIMIT 1")).scalar_one()
        user = User(
            org_id=org_id,
            phone=LARGE_PHONE,
            name="调度",
            password_hash=hash_password(DEMO_PASSWORD),
            roles=[Role.DISPATCHER.value, Role.ADMIN.value],
        )
        session.add(user)
        session.flush()
        session.add(Staff(org_id=org_id, user_id=user.id, employee_no="D-BENCH"))


def large_pages(app: Flask, repeat: int) -> None:
    desk = Desk(app, LARGE_PHONE, None)
    month = dashboard_query(30)
    figures = {
        "workbench": ("/console/workbench", ("/api/v1/admin/workbench?page_size=20",)),
        "orders board": (
            "/console/orders?page_size=20",
            ("/api/v1/admin/orders?page_size=20",),
        ),
        "orders, overdue": (
            "/console/orders?overdue=true&page_size=20",
            ("/api/v1/admin/orders?overdue=true&page_size=20",),
        ),
        "dashboard (30 d)": (
            f"/console/dashboard?{month}",
            (
                f"/api/v1/admin/dashboard?{month}",
                f"/api/v1/admin/dashboard/trends?{month}",
                f"/api/v1/admin/dashboard/technicians?{month}",
                f"/api/v1/admin/dashboard/departments?{month}",
            ),
        ),
    }
    print("\n2. 1,000,000 orders: page against the JSON API's same answer (aim ratio ≤ 1.5)")
    print(f"{'page':22}{'page ms':>9}{'API ms':>9}{'ratio':>8}")
    for name, (page, apis) in figures.items():
        page_ms = p50_ms(desk.page(page), repeat)
        api_ms = p50_ms(desk.api_calls(*apis), repeat)
        ratio = page_ms / api_ms if api_ms else 0.0
        mark = "  ok" if ratio <= RATIO_AIM else "  SLOW"
        print(f"{name:22}{page_ms:9.1f}{api_ms:9.1f}{ratio:8.2f}{mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-large", action="store_true", help="demo data only")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    args = parser.parse_args(argv)

    base = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(base.instance_dir)
    redis_url = os.environ.get("REDIS_URL") or runtime.embedded_redis_url(base.instance_dir)
    try:
        demo_url = fresh_database(server_url, DEMO_DB)
        app = create_app(settings_for(demo_url, redis_url))
        with app.extensions["baoxiu"].db.transaction() as uow:
            seed_demo(uow.session)
            org_id = uow.session.execute(
                text("SELECT id FROM organisations WHERE code = :code"), {"code": DEMO_ORG_CODE}
            ).scalar_one()
        # As `make run` a minute after starting: the dashboard's job has built the past days.
        build_rollup(app.extensions["baoxiu"].db, org_id, demo_url)
        demo_pages(app, args.repeat)
        app.extensions["baoxiu"].db.dispose()
        if not args.no_large:
            print(f"\npreparing {args.orders:,} orders …", flush=True)
            large_url = fresh_database(server_url, LARGE_DB)
            settings = settings_for(large_url, redis_url)
            org_id = seed_orders(large_url, settings, orders=args.orders)
            app = create_app(settings)
            # As in production: the per-minute job has built the past days (today is live).
            build_rollup(app.extensions["baoxiu"].db, org_id, large_url)
            add_dispatcher(app)
            large_pages(app, args.repeat)
            app.extensions["baoxiu"].db.dispose()
    finally:
        if not args.keep:
            drop_database(server_url, DEMO_DB)
            drop_database(server_url, LARGE_DB)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
