"""Booking throughput: tenants filing into the same few slots through the API, against the
same conditional UPDATE on the slot counter run directly with psycopg — and zero overbooking.

    python -m bench.booking [--clients 32] [--seconds 10] [--slots 4] [--quota 1500]

One run, two phases, the same number of client threads and the same database (the harness of
`bench.grab`: a fresh database of its own, `baoxiu serve` under gunicorn, clients released
together by a barrier):

1. API — each client is a tenant with a keep-alive connection filing
   `POST /api/v1/tenant/orders {subtype_id, room_id, description, slot_start}` into one of
   `--slots` slots picked at random (the whole filing: validation, the place, the order number,
   the order, its timeline row, one commit).
2. Direct — each client holds a psycopg connection and runs only what takes the place:
   `INSERT … ON CONFLICT DO NOTHING` on the counter row, then
   `UPDATE … SET used = used + 1 WHERE used < limit RETURNING`, committed.

Each phase books its own slots (the API the day after tomorrow, direct the day after) and
stops when its time is up or every slot is full. After each phase the counters are checked:
no slot took more than its quota, and (API) every counter equals the orders booked into it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from bench.grab import Tally, _Client, _pct, _run_clients, _with_database, gunicorn
from server import runtime
from server.accounts.tokens import TokenIssuer
from server.booking.models import BookingSettings
from server.config import Settings
from server.db import migrate
from server.db.session import Database
from server.kernel.clock import LOCAL_TZ
from server.kernel.roles import Role
from server.models import (
    Building,
    Community,
    Contact,
    Customer,
    CustomerRoom,
    OrderSubtype,
    OrderType,
    Organisation,
    Room,
    User,
)

# Its own database, so that it never drops the one a `bench.grab` run is using.
BENCH_DB = "baoxiu_bench_booking"

TAKE_SQL = """
INSERT INTO slot_counters (subtype_id, community_id, slot_start, org_id, capacity, used)
VALUES (%(subtype)s, %(community)s, %(start)s, %(org)s, %(capacity)s, 0)
ON CONFLICT (subtype_id, community_id, slot_start) DO NOTHING
"""
UPDATE_SQL = """
UPDATE slot_counters SET used = used + 1, capacity = %(capacity)s
WHERE subtype_id = %(subtype)s AND community_id = %(community)s AND slot_start = %(start)s
  AND used < %(capacity)s
RETURNING used
"""


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
    community_id: int
    room_id: int
    subtype_id: int
    tokens: list[str]


def seed(database_url: str, tokens: TokenIssuer, *, clients: int, quota: int) -> World:
    """One organisation, one room, `clients` tenants of it, and a booking subtype."""
    db = Database(database_url, pool_size=1, max_overflow=0)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        s = uow.session

        def add(obj: Any) -> Any:
            s.add(obj)
            s.flush()
            return obj

        org = add(Organisation(code="bench", name="压测物业"))
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
        order_type = add(OrderType(org_id=org.id, name="家电维修"))
        subtype = add(
            OrderSubtype(
                org_id=org.id, order_type_id=order_type.id, name="洗衣机", booking_enabled=True
            )
        )
        add(
            BookingSettings(
                org_id=org.id,
                subtype_id=subtype.id,
                slot_minutes=60,
                windows=[["09:00", "17:00"]],
                weekdays=[1, 2, 3, 4, 5, 6, 7],
                quota=quota,
                desk_reserve=0,
                days_ahead=14,
                lead_minutes=60,
                hold_minutes=15,
            )
        )
        access: list[str] = []
        for i in range(clients):
            phone = str(13700000000 + i)
            customer = add(Customer(org_id=org.id, kind="person", name=f"住户{i}"))
            add(
                Contact(
                    org_id=org.id,
                    customer_id=customer.id,
                    phone=phone,
                    name="住户",
                    relation="self",
                )
            )
            add(
                CustomerRoom(
                    org_id=org.id,
                    customer_id=customer.id,
                    room_id=room.id,
                    relation="owner",
                    start_date=date(2020, 1, 1),
                )
            )
            user = add(User(org_id=org.id, phone=phone, name="住户", roles=[Role.TENANT.value]))
            access.append(tokens.issue(s, user=user, now=now).access_token)
        world = World(org.id, community.id, room.id, subtype.id, access)
    db.dispose()
    return world


def slot_starts(day: date, count: int) -> list[datetime]:
    return [datetime.combine(day, dtime(9 + i, 0), tzinfo=LOCAL_TZ) for i in range(count)]


class _PostClient(_Client):
    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        self.conn.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={**headers, "Content-Type": "application/json"},
        )
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None


def api_phase(
    base: str, world: World, starts: list[datetime], *, clients: int, seconds: float
) -> Tally:
    def prepare(index: int) -> dict[str, Any]:
        client = _PostClient(base)
        headers = {"Authorization": f"Bearer {world.tokens[index]}"}
        client.request("GET", "/api/v1/me", headers)  # open the connection, warm the worker
        return {"client": client, "headers": headers, "rng": random.Random(index)}

    def work(state: dict[str, Any], deadline: float, tally: Tally) -> None:
        client, headers, rng = state["client"], state["headers"], state["rng"]
        open_slots = list(starts)
        while open_slots and time.perf_counter() < deadline:
            start = rng.choice(open_slots)
            body = {
                "subtype_id": world.subtype_id,
                "room_id": world.room_id,
                "description": "洗衣机不转",
                "slot_start": start.isoformat(),
            }
            t0 = time.perf_counter()
            status, answer = client.post("/api/v1/tenant/orders", body, headers)
            tally.grab_ms.append((time.perf_counter() - t0) * 1000)
            if status == 201:
                tally.grabbed += 1
                tally.answers["201"] += 1
                continue
            error = answer.get("error") if answer else None
            tally.answers[f"{status} {error}"] += 1
            if error == "slot_full":
                open_slots.remove(start)

    return _run_clients(
        clients, seconds, work, prepare, cleanup=lambda state: state["client"].close()
    )


def direct_phase(
    database_url: str,
    world: World,
    starts: list[datetime],
    *,
    clients: int,
    seconds: float,
    quota: int,
) -> Tally:
    def prepare(index: int) -> dict[str, Any]:
        conn = psycopg.connect(database_url, autocommit=True)
        return {"conn": conn, "rng": random.Random(index)}

    def work(state: dict[str, Any], deadline: float, tally: Tally) -> None:
        conn, rng = state["conn"], state["rng"]
        open_slots = list(starts)
        while open_slots and time.perf_counter() < deadline:
            start = rng.choice(open_slots)
            params = {
                "subtype": world.subtype_id,
                "community": world.community_id,
                "start": start,
                "org": world.org_id,
                "capacity": quota,
            }
            t0 = time.perf_counter()
            with conn.transaction():
                conn.execute(TAKE_SQL, params)
                taken = conn.execute(UPDATE_SQL, params).fetchone()
            tally.grab_ms.append((time.perf_counter() - t0) * 1000)
            if taken is not None:
                tally.grabbed += 1
                tally.answers["booked"] += 1
            else:
                tally.answers["slot_full"] += 1
                open_slots.remove(start)

    return _run_clients(
        clients, seconds, work, prepare, cleanup=lambda state: state["conn"].close()
    )


def overbooking(database_url: str, world: World, starts: list[datetime], *, orders: bool) -> str:
    """Check the counters of `starts`: none over its capacity and, for the API, equal to the
    orders booked into it. Returns a one-line summary; raises on any overbooking."""
    with psycopg.connect(database_url) as conn:
        counters = {
            row[0]: (row[1], row[2])
            for row in conn.execute(
                "SELECT slot_start, used, capacity FROM slot_counters"
                " WHERE subtype_id = %s AND slot_start = ANY(%s)",
                (world.subtype_id, starts),
            )
        }
        booked: dict[datetime, int] = dict(
            conn.execute(
                "SELECT slot_start, count(*) FROM orders WHERE org_id = %s"
                " AND slot_start = ANY(%s) AND status <> 'cancelled' GROUP BY slot_start",
                (world.org_id, starts),
            ).fetchall()
        )
    over = {k: v for k, v in counters.items() if v[0] > v[1]}
    if over:
        raise SystemExit(f"OVERBOOKED: {over}")
    if orders and {k: v[0] for k, v in counters.items()} != booked:
        raise SystemExit(f"counters and orders disagree: {counters} vs {booked}")
    used = sum(v[0] for v in counters.values())
    places = sum(v[1] for v in counters.values())
    return f"{used}/{places} places taken, 0 overbooked" + (
        f", {sum(booked.values())} orders" if orders else ""
    )


def report(api: Tally, direct: Tally, checks: tuple[str, str], *, clients: int) -> str:
    ratio = api.rate / direct.rate if direct.rate else float("nan")
    return "\n".join(
        [
            f"clients: {clients}   API phase: {api.elapsed:.1f} s   direct: {direct.elapsed:.1f} s",
            "",
            f"{'':28}{'API':>14}{'direct':>14}",
            f"{'bookings/s':28}{api.rate:14.1f}{direct.rate:14.1f}",
            f"{'booking p50 / p99 (ms)':28}"
            f"{_pct(api.grab_ms, 50):7.1f} /{_pct(api.grab_ms, 99):6.1f}"
            f"{_pct(direct.grab_ms, 50):7.1f} /{_pct(direct.grab_ms, 99):6.1f}",
            "",
            f"ratio bookings/s API / direct: {ratio:.3f}",
            f"answers API:    {dict(sorted(api.answers.items()))}",
            f"answers direct: {dict(sorted(direct.answers.items()))}",
            f"overbooking API:    {checks[0]}",
            f"overbooking direct: {checks[1]}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.booking", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--clients", type=int, default=32, help="client threads per phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="longest phase")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--slots", type=int, default=4, help="slots every client books into")
    parser.add_argument("--quota", type=int, default=1000, help="places per slot (max 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    if not 1 <= args.slots <= 8 or not 1 <= args.quota <= 1000:
        parser.error("--slots 1..8, --quota 1..1000")

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
        world = seed(database_url, tokens, clients=args.clients, quota=args.quota)
        today = datetime.now(UTC).astimezone(LOCAL_TZ).date()
        api_slots = slot_starts(today + timedelta(days=2), args.slots)
        direct_slots = slot_starts(today + timedelta(days=3), args.slots)

        with (
            tempfile.TemporaryDirectory() as tmp,
            gunicorn(env, args.workers, Path(tmp) / "gunicorn.log") as api_base,
        ):
            print(f"API phase: {args.clients} clients, up to {args.seconds:.0f} s …", flush=True)
            api = api_phase(api_base, world, api_slots, clients=args.clients, seconds=args.seconds)
        api_check = overbooking(database_url, world, api_slots, orders=True)
        print(f"direct phase: {args.clients} clients, up to {args.seconds:.0f} s …", flush=True)
        direct = direct_phase(
            database_url,
            world,
            direct_slots,
            clients=args.clients,
            seconds=args.seconds,
            quota=args.quota,
        )
        direct_check = overbooking(database_url, world, direct_slots, orders=False)
        print()
        print(report(api, direct, (api_check, direct_check), clients=args.clients))
    finally:
        if not args.keep:
            drop_database(server_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
