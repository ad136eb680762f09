"""The data dashboard (数据看板) on a large organisation: each table against a plain count(*).

    python -m bench.dashboard [--orders 1000000] [--days 30,366] [--repeat 7] [--keep]

One run:

1. Creates a fresh database `baoxiu_bench_dashboard` (on `DATABASE_URL`'s server if set, else
   the embedded PostgreSQL), migrates it, seeds one organisation (and a second one, whose rows
   must not be read) like `bench.grab`, with 40 technicians, then writes `--orders` orders
   spread over the last 400 days in one `INSERT … SELECT generate_series` (statuses, sources,
   priorities, ratings, reopenings, overdue ones mixed in), their timeline (a filing step for
   each, a hold and a resume for one in ten, the desk's cancellations, an escalation for each
   open order past its deadline), ledgers and charge lines for one in three. `VACUUM ANALYZE`.
   Then the rollup job's first run (`dashboard.rollup.refresh`) builds every day before
   today: its time is printed. `VACUUM ANALYZE` again (autovacuum's part on a live database).
2. For each range (`--days`: ending yesterday, Beijing time), measures `--repeat` times each:
   the **baseline**, `SELECT count(*) FROM orders WHERE org_id = … AND created_at` in the
   range (the least any dashboard must read), then the overview, the trends (per day), the
   technicians and the departments, each through its use case on its own read-only unit of
   work, as the console's request runs it.
3. Prints p50 per figure and **ratio = baseline p50 ÷ figure p50** (aim ≥ 0.2), and p50 against
   the 300 ms aim.
4. One incremental run of the job after touching `--touch` old orders (completed and rated
   now), filed over the last 30 days, then over the last year: its time and the days rebuilt.
   Drops the database unless `--keep`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import text

from bench.grab import _with_database, seed
from server import runtime
from server.accounts.tokens import TokenIssuer
from server.config import Settings
from server.dashboard import overview, people, rollup, trends
from server.dashboard.cohort import Filters, Scope
from server.dashboard.rules import DAY, local_range
from server.db import migrate
from server.db.session import Database
from server.kernel.clock import LOCAL_TZ

BENCH_DB = "baoxiu_bench_dashboard"
HISTORY_DAYS = 400


def fresh_database(server_url: str) -> str:
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    url = _with_database(server_url, BENCH_DB)
    migrate.upgrade(url)
    return url


def drop_database(server_url: str) -> None:
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


# One order per row of generate_series(1, :n); `i` picks its shape. Created over the last
# HISTORY_DAYS days; instants relative to filing.
_ORDERS = """
INSERT INTO orders (org_id, number, status, priority, community_id, building_id, room_id,
    order_type_id, subtype_id, description, contact_name, contact_phone, reporter_user_id,
    channel, payer, assignee_id, assigned_at, accepted_at, completed_at, closed_at,
    cancelled_at, due_at, result, payable_fen, payment_status, rating_score, rating_comment,
    follow_up_required, reopen_count, created_at, updated_at)
SELECT %(org)s, 'D' || lpad(i::text, 12, '0'), st, CASE WHEN i %% 10 = 0 THEN 'urgent' ELSE
    'normal' END, %(community)s, %(building)s, %(room)s, %(type)s, %(subtype)s, '压测', '',
    '13800000001', %(reporter)s, CASE WHEN i %% 4 = 0 THEN 'staff' ELSE 'tenant' END, 'tenant',
    CASE WHEN st IN ('pending', 'cancelled') THEN NULL
         ELSE (%(techs)s::bigint[])[1 + i %% %(tech_count)s] END,
    CASE WHEN st IN ('pending', 'cancelled') THEN NULL ELSE t + interval '40 minutes' END,
    CASE WHEN st IN ('pending', 'cancelled', 'assigned') THEN NULL
         ELSE t + interval '1 hour' END,
    CASE WHEN st IN ('completed', 'closed') THEN t + interval '1 hour' * (2 + i %% 20) END,
    CASE WHEN st = 'closed' THEN t + interval '1 day' END,
    CASE WHEN st = 'cancelled' THEN t + interval '30 minutes' END,
    t + interval '1 day', '', 0, 'none',
    CASE WHEN st = 'closed' THEN 1 + (i * 7) %% 5 END, '', false,
    CASE WHEN st IN ('completed', 'closed') AND i %% 25 = 0 THEN 1 ELSE 0 END, t, t
FROM (
    SELECT i,
           now() - interval '1 second' * (i::bigint * %(spread)s / %(n)s)
               - interval '1 hour' AS t,
           CASE WHEN i %% 100 < 55 THEN 'closed' WHEN i %% 100 < 70 THEN 'completed'
                WHEN i %% 100 < 78 THEN 'cancelled' WHEN i %% 100 < 84 THEN 'in_progress'
                WHEN i %% 100 < 88 THEN 'on_hold' WHEN i %% 100 < 94 THEN 'assigned'
                ELSE 'pending' END AS st
    FROM generate_series(1, %(n)s) AS i
) AS g
"""

_EVENTS = """
INSERT INTO order_events (org_id, order_id, action, from_status, to_status, actor_role,
    reason, data, created_at)
SELECT org_id, id, 'file', NULL, 'pending',
       CASE WHEN channel = 'staff' AND id %% 8 = 0 THEN 'dispatcher'
            WHEN channel = 'staff' THEN 'technician' ELSE 'tenant' END, '', '{}'::jsonb, created_at
FROM orders WHERE org_id = %(org)s
UNION ALL
SELECT org_id, id, 'hold', 'in_progress', 'on_hold', 'technician', '', '{}',
       created_at + interval '90 minutes'
FROM orders WHERE org_id = %(org)s AND id %% 10 = 0 AND accepted_at IS NOT NULL
UNION ALL
SELECT org_id, id, 'resume', 'on_hold', 'in_progress', 'technician', '', '{}',
       created_at + interval '110 minutes'
FROM orders WHERE org_id = %(org)s AND id %% 10 = 0 AND accepted_at IS NOT NULL
    AND status <> 'on_hold'
UNION ALL
SELECT org_id, id, 'cancel_by_desk', 'pending', 'cancelled', 'dispatcher',
       (ARRAY['重复报修', '住户自行处理', '无法联系住户'])[1 + id %% 3], '{}'::jsonb, cancelled_at
FROM orders WHERE org_id = %(org)s AND status = 'cancelled';
INSERT INTO order_events (org_id, order_id, action, from_status, to_status, actor_role,
    reason, data, created_at)
SELECT org_id, id, 'escalate', status, status, 'system', '', '{}'::jsonb, due_at
FROM orders
WHERE org_id = %(org)s AND status NOT IN ('cancelled', 'completed', 'closed') AND due_at < now()
"""

_MONEY = """
INSERT INTO ledger_entries (org_id, order_id, kind, amount_fen, channel, note, created_at)
SELECT org_id, id, 'charge', 5000 + id %% 7 * 1000, '', '', created_at + interval '2 hours'
FROM orders WHERE org_id = %(org)s AND id %% 3 = 0 AND completed_at IS NOT NULL
UNION ALL
SELECT org_id, id, 'payment', -(5000 + id %% 7 * 1000),
       CASE WHEN id %% 2 = 0 THEN 'wechat' ELSE 'alipay' END, '', created_at + interval '3 hours'
FROM orders WHERE org_id = %(org)s AND id %% 3 = 0 AND completed_at IS NOT NULL AND id %% 5 <> 0;
INSERT INTO order_charges (org_id, order_id, kind, item_id, name, unit, unit_price_fen,
    quantity, amount_fen, staff_id, created_at)
SELECT org_id, id, (ARRAY['labor', 'material', 'service'])[1 + id %% 3], 1, '项目', '次',
       5000 + id %% 7 * 1000, 1, 5000 + id %% 7 * 1000, assignee_id, created_at
FROM orders WHERE org_id = %(org)s AND id %% 3 = 0 AND completed_at IS NOT NULL
"""


def seed_orders(database_url: str, settings: Settings, *, orders: int) -> int:
    tokens = TokenIssuer(
        settings.secret_key, settings.jwt_access_minutes, settings.jwt_refresh_days
    )
    world = seed(database_url, tokens, clients=2, techs_per_client=20)
    techs = [staff_id for group in world.direct_techs for staff_id, _ in group]
    params = {
        "org": world.org_id,
        "community": world.community_id,
        "building": world.building_id,
        "room": world.room_id,
        "type": world.order_type_id,
        "subtype": world.subtype_id,
        "reporter": world.reporter_id,
        "techs": techs,
        "tech_count": len(techs),
        "n": orders,
        "spread": HISTORY_DAYS * 86_400,
    }
    with psycopg.connect(database_url) as conn:
        for label, statement in (("orders", _ORDERS), ("timeline", _EVENTS), ("money", _MONEY)):
            began = time.perf_counter()
            for part in statement.split(";"):
                conn.execute(part, params)  # type: ignore[arg-type]
            conn.commit()
            print(f"  {label}: {time.perf_counter() - began:.1f} s", flush=True)
    # A live database is vacuumed by autovacuum: the visibility map lets the held-orders count
    # (the grab cap's partial index) answer from the index alone.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return world.org_id


def p50(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


COUNT_SQL = text(
    "SELECT count(*) FROM orders WHERE org_id = :org AND created_at >= :start AND created_at < :end"
)


def measure_range(
    db: Database, scope: Scope, filters: Filters, *, now: datetime, repeat: int
) -> None:
    """The baseline and every dashboard table on one range, each on its own read-only unit of
    work (as a request runs it); prints p50 and the ratios."""
    r = filters.range
    bounds = {"org": scope.org_id, "start": r.start, "end": r.end}

    def read(work: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            uow = db.unit_of_work(read_only=True)
            try:
                return work(uow.session)
            finally:
                uow.close()

        return run

    figures: dict[str, Callable[[], Any]] = {
        "count(*)": read(lambda s: s.scalar(COUNT_SQL, bounds)),
        "overview": read(lambda s: overview.overview(s, scope=scope, filters=filters, now=now)),
        "trends": read(
            lambda s: trends.trends(s, scope=scope, filters=filters, granularity=DAY, now=now)
        ),
        "technicians": read(lambda s: people.technicians(s, scope=scope, filters=filters, now=now)),
        "departments": read(lambda s: people.departments(s, scope=scope, filters=filters, now=now)),
    }
    matched = figures["count(*)"]()
    for run in figures.values():
        run()  # warm: plans, caches
    results = {name: p50(run, repeat) for name, run in figures.items()}
    baseline = results["count(*)"]
    print()
    print(f"range {r.first} … {r.last} ({r.days} days): {matched:,} orders in range")
    print(f"{'figure':14}{'p50 ms':>10}{'ratio':>8}   aim: ratio ≥ 0.2, p50 < 300 ms")
    for name, seconds in results.items():
        ratio = baseline / seconds if seconds else 0.0
        mark = "" if name == "count(*)" else ("  ok" if seconds < 0.3 else "  SLOW")
        print(f"{name:14}{seconds * 1000:10.1f}{ratio:8.2f}{mark}")


def build_rollup(db: Database, org_id: int, database_url: str) -> None:
    """The job's first run for the organisation: every day before today."""
    began = time.perf_counter()
    with db.transaction() as uow:
        report = rollup.refresh(uow.session, org_id=org_id, now=datetime.now(UTC))
    assert report is not None
    print(
        f"  rollup, full build: {time.perf_counter() - began:.1f} s"
        f" ({report.days} days, {report.rows:,} rows)",
        flush=True,
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# Orders filed in the last :days days (ending yesterday), spread evenly: completed and rated
# now, as a busy minute's writes would touch old orders.
_TOUCH = """
UPDATE orders SET status = 'closed', completed_at = coalesce(completed_at, now()),
    closed_at = now(), rating_score = 4, updated_at = now()
WHERE id IN (
    SELECT id FROM orders
    WHERE org_id = %(org)s AND created_at < date_trunc('day', now()) - interval '1 hour'
      AND created_at >= now() - interval '1 day' * %(days)s
    ORDER BY random() LIMIT %(n)s
)
"""


def measure_incremental(db: Database, org_id: int, database_url: str, *, touch: int) -> None:
    print()
    for days in (30, 366):
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(_TOUCH, {"org": org_id, "days": days, "n": touch})
        began = time.perf_counter()
        with db.transaction() as uow:
            report = rollup.refresh(uow.session, org_id=org_id, now=datetime.now(UTC))
        assert report is not None
        print(
            f"rollup, one job run after touching {touch} orders of the last {days} days:"
            f" {(time.perf_counter() - began) * 1000:.0f} ms"
            f" ({report.days} days rebuilt, {report.rows:,} rows)",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", default="30,366", help="range lengths, comma-separated")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--touch", type=int, default=300, help="orders the incremental run sees")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)

    base = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(base.instance_dir)
    redis_url = os.environ.get("REDIS_URL") or runtime.embedded_redis_url(base.instance_dir)
    print(f"preparing a fresh database with {args.orders:,} orders …", flush=True)
    database_url = fresh_database(server_url)
    settings = Settings.from_env(
        {
            **os.environ,
            "BAOXIU_ENV": "dev",
            "SECRET_KEY": "bench-" + "x" * 48,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
        }
    )
    db = Database(database_url, pool_size=2, max_overflow=0)
    try:
        org_id = seed_orders(database_url, settings, orders=args.orders)
        build_rollup(db, org_id, database_url)
        scope = Scope(org_id=org_id)
        now = datetime.now(UTC)
        last = now.astimezone(LOCAL_TZ).date() - timedelta(days=1)
        for days in (int(d) for d in args.days.split(",")):
            filters = Filters(range=local_range(last - timedelta(days=days - 1), last, LOCAL_TZ))
            measure_range(db, scope, filters, now=now, repeat=args.repeat)
        measure_incremental(db, org_id, database_url, touch=args.touch)
    finally:
        db.dispose()
        if not args.keep:
            drop_database(server_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
