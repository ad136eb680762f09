"""全能搜索 on a large organisation: each query kind against the same lookup by primary key.

    python -m bench.search [--customers 1000000] [--orders 1000000] [--repeat 21] [--keep]

One run:

1. Creates a fresh database `baoxiu_bench_search` (on `DATABASE_URL`'s server if set, else the
   embedded PostgreSQL), migrates it (0023: pg_trgm and the search indexes), seeds one
   organisation like `bench.grab` and a second one whose rows must never be read, then, each
   in one `INSERT … SELECT generate_series`: 20,000 rooms (codes `<building>-<floor><nn>`),
   `--customers` customers (names from 40 surnames × 30 × 30 given characters, unique phones
   and ID numbers; their names' pinyin initials and full pinyin) with one contact each (their
   own phone), a vehicle for every tenth customer (distinct plates 粤B00161 …), a tenth as
   many customers (and vehicles) of the second organisation with the same names, phones, ID
   numbers and plates, and `--orders` orders
   numbered `BX<day>-<nnnn>` over 400 days (2,500 a day) whose contact phones are the
   customers'. `VACUUM ANALYZE`.
2. Measures `--repeat` times each, on its own read-only unit of work as a request runs it:
   the **baselines**, a customer and an order read by primary key (`SELECT … WHERE id = …`),
   then `search.omni.search` (every group, its capped count and its first 20 hits loaded) for
   each query kind: a full phone, a phone's last four digits, an order number, an order
   number's day prefix (2,500 matches), an ID number, a full name (3 characters: equal,
   substring, similarity), a surname and given name (2 characters: equal and prefix), a room
   code, pinyin initials (3 and 2 letters) and a full pinyin, a whole plate, a plate's
   province and letter (粤B), a plate without its province (B00161: substring).
3. Prints p50 per kind, **ratio = primary-key p50 ÷ kind p50**, and p50 against the 100 ms aim.
   Drops the database unless `--keep`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from bench.grab import _with_database, seed
from server import runtime
from server.accounts.tokens import TokenIssuer
from server.config import Settings
from server.db import migrate
from server.db.session import Database
from server.directory.rules import pinyin_keys
from server.search import omni

BENCH_DB = "baoxiu_bench_search"
ORDERS_PER_DAY = 2500
ROOMS = 20_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
GIVEN_1 = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂文华建国志海"
GIVEN_2 = "红玉春梅林波斌宇浩凯鹏飞鑫晨阳琳雪峰龙辉宁欣怡嘉慧婷倩颖晶"

_ROOMS = """
INSERT INTO rooms (org_id, community_id, building_id, code, floor, layout, created_at,
    updated_at)
SELECT %(org)s, %(community)s, %(building)s,
       (1 + i / 1000)::text || '-' || (1 + i %% 1000 / 10)::text || lpad((i %% 10)::text, 2, '0'),
       1 + i %% 1000 / 10, '', now(), now()
FROM generate_series(0, %(rooms)s - 1) AS i
"""

# Customer i: a name from the three character lists (GIVEN_2 has 29: one name in 30 has two
# characters), phone 139 + i, ID 11 + i (18 digits).
_CUSTOMERS = """
INSERT INTO customers (org_id, kind, name, phone, id_number, remark, name_initials,
    name_pinyin, created_at, updated_at)
SELECT %(org)s, 'person',
       substr(%(s)s, 1 + i %% 40, 1) || substr(%(g1)s, 1 + i / 40 %% 30, 1)
           || substr(%(g2)s, 1 + i / 1200 %% 30, 1),
       '139' || lpad(i::text, 8, '0'), '11' || lpad(i::text, 16, '0'), '',
       (%(s_i)s::text[])[1 + i %% 40] || (%(g1_i)s::text[])[1 + i / 40 %% 30]
           || coalesce((%(g2_i)s::text[])[1 + i / 1200 %% 30], ''),
       (%(s_p)s::text[])[1 + i %% 40] || (%(g1_p)s::text[])[1 + i / 40 %% 30]
           || coalesce((%(g2_p)s::text[])[1 + i / 1200 %% 30], ''),
       now(), now()
FROM generate_series(1, %(n)s) AS i
"""

# A vehicle for every tenth customer: plate n = province (n mod 31), letter (n / 31 mod 10),
# five digits (n / 310): 粤B00161 …, all distinct.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJK"
_VEHICLES = """
INSERT INTO vehicles (org_id, plate, plate_kind, model, colour, customer_id, remark,
    remove_reason, created_at, updated_at)
SELECT org_id,
       substr(%(provinces)s, 1 + n %% 31, 1) || substr(%(letters)s, 1 + n / 31 %% 10, 1)
           || lpad((n / 310)::text, 5, '0'),
       'ordinary', '', '', id, '', '', now(), now()
FROM (
    SELECT org_id, id, (row_number() OVER (ORDER BY id))::int AS n
    FROM customers WHERE org_id = %(org)s AND id %% 10 = 0
) AS c
"""


def plate_of(n: int) -> str:
    """The plate the seed gives vehicle n (as `_VEHICLES` spells it)."""
    return PROVINCES[n % 31] + LETTERS[n // 31 % 10] + f"{n // 310:05d}"


def _pinyin(chars: str) -> tuple[list[str], list[str]]:
    """Each character's (initial, full pinyin), as the model keeps a name's."""
    keys = [pinyin_keys(c) for c in chars]
    return [k[0] for k in keys], [k[1] for k in keys]


_CONTACTS = """
INSERT INTO contacts (org_id, customer_id, name, phone, relation, created_at, updated_at)
SELECT org_id, id, name, phone, 'self', now(), now() FROM customers
"""

_ORDERS = """
INSERT INTO orders (org_id, number, status, priority, community_id, building_id, room_id,
    order_type_id, subtype_id, description, contact_name, contact_phone, reporter_user_id,
    channel, payer, due_at, result, payable_fen, payment_status, rating_comment,
    follow_up_required,
    reopen_count, created_at, updated_at)
SELECT %(org)s,
       'BX' || to_char(date '2025-10-01' + i / %(per_day)s, 'YYYYMMDD') || '-'
           || lpad((1 + i %% %(per_day)s)::text, 4, '0'),
       'closed', 'normal', %(community)s, %(building)s, %(room)s, %(type)s, %(subtype)s, '压测',
       '住户', '139' || lpad((1 + (i::bigint * 7919) %% %(customers)s)::text, 8, '0'),
       %(reporter)s, 'tenant', 'tenant', t + interval '1 day', '', 0, 'none', '', false, 0,
       t, t
FROM (
    SELECT i, timestamptz '2025-10-01 09:00+08' + (i / %(per_day)s) * interval '1 day' AS t
    FROM generate_series(0, %(n)s - 1) AS i
) AS g
"""


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


def seed_rows(database_url: str, settings: Settings, *, customers: int, orders: int) -> int:
    tokens = TokenIssuer(
        settings.secret_key, settings.jwt_access_minutes, settings.jwt_refresh_days
    )
    world = seed(database_url, tokens, clients=1, techs_per_client=1)
    params = {
        "org": world.org_id,
        "community": world.community_id,
        "building": world.building_id,
        "room": world.room_id,
        "type": world.order_type_id,
        "subtype": world.subtype_id,
        "reporter": world.reporter_id,
        "rooms": ROOMS,
        "customers": customers,
        "n": customers,
        "per_day": ORDERS_PER_DAY,
        "s": SURNAMES,
        "g1": GIVEN_1,
        "g2": GIVEN_2,
        "provinces": PROVINCES,
        "letters": LETTERS,
    }
    for key, chars in (("s", SURNAMES), ("g1", GIVEN_1), ("g2", GIVEN_2)):
        params[f"{key}_i"], params[f"{key}_p"] = _pinyin(chars)
    other = {**params, "org": world.other_org_id, "n": max(customers // 10, 1)}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("rooms", _ROOMS, params),
        ("customers", _CUSTOMERS, params),
        ("other organisation's customers", _CUSTOMERS, other),
        ("contacts", _CONTACTS, params),
        ("vehicles", _VEHICLES, params),
        ("other organisation's vehicles", _VEHICLES, other),
        ("orders", _ORDERS, {**params, "n": orders}),
    ]
    with psycopg.connect(database_url) as conn:
        # The room's code "101" is taken by the seed: the generated codes never are (x-y0z).
        for label, statement, values in steps:
            began = time.perf_counter()
            conn.execute(statement, values)  # type: ignore[arg-type]
            conn.commit()
            print(f"  {label}: {time.perf_counter() - began:.1f} s", flush=True)
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


def queries(customers: int) -> dict[str, str]:
    """One query per kind, each naming rows that exist (customer i = 1 + customers / 2)."""
    i = 1 + customers // 2
    name = SURNAMES[i % 40] + GIVEN_1[i // 40 % 30] + GIVEN_2[i // 1200 % 30]
    return {
        "phone": f"139{i:08d}",
        "phone_tail": f"{i % 10_000:04d}",
        "order_number": "BX20260301-1234",
        "order_prefix": "BX20260301",
        "id_number": f"11{i:016d}",
        "name (3 chars)": name,
        "name (2 chars)": name[:2],
        "room code": "7-505",
        "pinyin (3)": "".join(pinyin_keys(c)[0] for c in name),
        "pinyin (2)": "".join(pinyin_keys(c)[0] for c in name[:2]),
        "pinyin full": pinyin_keys(name[:2])[1],
        "plate": plate_of(customers // 20),
        "plate prefix": plate_of(customers // 20)[:2],
        "plate fragment": plate_of(customers // 20)[1:],
    }


def plan_nodes(session: Any, org_id: int, q: str) -> set[str]:
    """The scans of every statement `q` runs: index names, and `Seq Scan on <table>`."""
    found: set[str] = set()
    for stmt in omni.statements(org_id=org_id, q=q):
        sql = str(
            stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        )
        for (line,) in session.execute(text("EXPLAIN " + sql.replace("%%", "%"))):
            if " using " in line or "Bitmap Index Scan on " in line:
                name = line.split(" on ")[-1] if "Bitmap" in line else line.split(" using ")[1]
                found.add(name.split()[0])
            elif "Seq Scan on " in line:
                found.add("Seq Scan on " + line.split("Seq Scan on ")[1].split()[0])
    return found


def measure(db: Database, org_id: int, *, customers: int, repeat: int) -> None:
    def read(work: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            uow = db.unit_of_work(read_only=True)
            try:
                return work(uow.session)
            finally:
                uow.close()

        return run

    customer_id = int(
        read(
            lambda s: s.scalar(
                text("SELECT id FROM customers WHERE org_id = :o ORDER BY id OFFSET :n LIMIT 1"),
                {"o": org_id, "n": customers // 2},
            )
        )()
    )
    order_id = int(read(lambda s: s.scalar(text("SELECT max(id) FROM orders")))())
    baselines: dict[str, Callable[[], Any]] = {
        "customer by id": read(
            lambda s: s.execute(
                text("SELECT * FROM customers WHERE id = :id"), {"id": customer_id}
            ).all()
        ),
        "order by id": read(
            lambda s: s.execute(text("SELECT * FROM orders WHERE id = :id"), {"id": order_id}).all()
        ),
    }
    kinds: dict[str, Callable[[], Any]] = {}
    found: dict[str, str] = {}
    for label, q in queries(customers).items():
        kinds[label] = read(lambda s, q=q: omni.search(s, org_id=org_id, q=q, limit=20))
        result = kinds[label]()
        found[label] = (
            f"{q}: {result.query.kind.value}; rooms {result.rooms.total}, customers "
            f"{result.customers.total}{'' if result.customers.total_exact else '+'}, orders "
            f"{result.orders.total}{'' if result.orders.total_exact else '+'}, vehicles "
            f"{result.vehicles.total}{'' if result.vehicles.total_exact else '+'}"
        )
    print()
    print("indexes each kind's statements read (EXPLAIN; a Seq Scan would be named):")
    for label, q in queries(customers).items():
        print(f"  {label:16} {', '.join(sorted(read(lambda s, q=q: plan_nodes(s, org_id, q))()))}")
    for run in (*baselines.values(), *kinds.values()):
        run()  # warm: plans, caches
    base = {name: p50(run, repeat) for name, run in baselines.items()}
    baseline = statistics.mean(base.values())
    print()
    for label, line in found.items():
        print(f"  {label:16} {line}")
    print()
    print(f"{'query':18}{'p50 ms':>10}{'ratio':>8}   aim: p50 < 100 ms")
    for name, seconds in base.items():
        print(f"{name:18}{seconds * 1000:10.2f}{'':>8}")
    for name, run in kinds.items():
        seconds = p50(run, repeat)
        mark = "  ok" if seconds < 0.1 else "  SLOW"
        print(f"{name:18}{seconds * 1000:10.2f}{baseline / seconds:8.3f}{mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)

    base = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(base.instance_dir)
    redis_url = os.environ.get("REDIS_URL") or runtime.embedded_redis_url(base.instance_dir)
    print(
        f"preparing a fresh database with {args.customers:,} customers and "
        f"{args.orders:,} orders …",
        flush=True,
    )
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
        org_id = seed_rows(database_url, settings, customers=args.customers, orders=args.orders)
        measure(db, org_id, customers=args.customers, repeat=args.repeat)
    finally:
        db.dispose()
        if not args.keep:
            drop_database(server_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
