"""Notice fan-out: one notice to 10,000 rooms, through the outbox, RQ workers and firebase-admin,
against writing the same inbox rows in one hand-written statement and sending the same pushes
straight from a script.

    python -m bench.notices [--rooms 10000] [--workers 2] [--rounds 1]

One run, the same database, loopback FCM and messages in every phase:

- Setup: a fresh database of its own (`baoxiu_bench_notices`, migrated), one organisation, one
  community of 100 buildings, `--rooms` rooms, each with its owner (customer, contact, tenant
  login, one android device), written in bulk. A loopback FCM (`bench.push`'s, in a process of
  its own) and `--workers` real workers (`baoxiu worker` subprocesses, Redis db `--redis-db`,
  flushed first).
1. System — the desk publishes one notice to the whole organisation through
   `server.notices.publishing.publish` in one transaction; the clock starts just before its
   commit (the notice and one outbox job). Measured: the commit (what the desk waits for), the
   moment the last of the `--rooms` inbox rows is committed (polled every 20 ms), and the
   fake's answer to the last push (stamped with CLOCK_MONOTONIC by the fake).
2. Baselines — (a) the same inbox rows written by one `INSERT … SELECT` over the tenants (the
   least any fan-out must do; rolled back), (b) the same pushes sent straight from this script
   with `PushSender.send_each` (a fresh sender, as in `bench.push`).

Checks: exactly one recipient row and one inbox row per tenant, one push per device, none
elsewhere; every outbox item delivered. Prints the times and the ratios baseline / system
(1.0: the system costs nothing on top of the bare work).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import redis
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, insert, select, text

import server.outbox.registry  # noqa: F401  (every handler)
from bench.grab import _with_database
from bench.push import PROJECT, _clock, fake_fcm, worker
from server import runtime
from server.config import Settings
from server.db import migrate
from server.db.session import Database
from server.integrations.fcm import Push, PushSender
from server.kernel.roles import Role
from server.models import (
    Building,
    Community,
    Contact,
    Customer,
    CustomerRoom,
    Device,
    Notification,
    Organisation,
    Room,
    User,
)
from server.notices import publishing
from server.notices.models import NoticeRecipient
from server.outbox.dispatch import attach_dispatcher
from server.outbox.models import OutboxItem

BENCH_DB = "baoxiu_bench_notices"
TIMEOUT = 300.0  # seconds a phase may take before the run fails
BUILDINGS = 100


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


@dataclass
class Estate:
    org_id: int
    desk_id: int
    tokens: dict[str, int]  # device token → tenant's user id


def seed(database_url: str, *, rooms: int) -> Estate:
    """`rooms` rooms in bulk statements, each with an owner who has a login and a phone."""
    db = Database(database_url, pool_size=1, max_overflow=0)
    with db.transaction() as uow:
        s = uow.session
        org = Organisation(code="bench", name="压测物业")
        s.add(org)
        s.flush()
        community = Community(org_id=org.id, code="C1", name="压测小区")
        s.add(community)
        s.flush()
        building_ids = list(
            s.scalars(
                insert(Building).returning(Building.id, sort_by_parameter_order=True),
                [
                    {"org_id": org.id, "community_id": community.id, "name": f"{b + 1}栋"}
                    for b in range(BUILDINGS)
                ],
            )
        )
        room_ids = list(
            s.scalars(
                insert(Room).returning(Room.id, sort_by_parameter_order=True),
                [
                    {
                        "org_id": org.id,
                        "community_id": community.id,
                        "building_id": building_ids[i % BUILDINGS],
                        "code": f"{i % BUILDINGS + 1}-{i // BUILDINGS + 101}",
                        "floor": 1,
                        "building_area": Decimal("88.50"),
                    }
                    for i in range(rooms)
                ],
            )
        )
        customer_ids = list(
            s.scalars(
                insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
                [{"org_id": org.id, "kind": "person", "name": f"业主{i}"} for i in range(rooms)],
            )
        )
        phones = [str(13600000000 + i) for i in range(rooms)]
        s.execute(
            insert(Contact),
            [
                {
                    "org_id": org.id,
                    "customer_id": c,
                    "phone": p,
                    "name": "业主",
                    "relation": "self",
                }
                for c, p in zip(customer_ids, phones, strict=True)
            ],
        )
        s.execute(
            insert(CustomerRoom),
            [
                {
                    "org_id": org.id,
                    "customer_id": c,
                    "room_id": r,
                    "relation": "owner",
                    "start_date": date(2020, 1, 1),
                }
                for c, r in zip(customer_ids, room_ids, strict=True)
            ],
        )
        user_ids = list(
            s.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {"org_id": org.id, "phone": p, "name": "业主", "roles": [Role.TENANT.value]}
                    for p in phones
                ],
            )
        )
        tokens = {f"notice-{i:05d}-{secrets.token_hex(16)}": u for i, u in enumerate(user_ids)}
        s.execute(
            insert(Device),
            [
                {"org_id": org.id, "user_id": u, "platform": "android", "token": t}
                for t, u in tokens.items()
            ],
        )
        desk = User(
            org_id=org.id,
            phone="13900000000",
            name="前台",
            roles=[Role.ADMIN.value, Role.DISPATCHER.value],
        )
        s.add(desk)
        s.flush()
        estate = Estate(org.id, desk.id, tokens)
    # Statistics, as a live database has them (autovacuum would gather them soon enough).
    with psycopg.connect(
        database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute("ANALYZE")
    db.dispose()
    return estate


@dataclass
class Timing:
    commit: float  # seconds from just before the commit to its end
    inbox: float  # … to the last inbox row committed
    pushes: float  # … to the fake's answer to the last push


def _count(db: Database, stmt: object) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(stmt).scalar() or 0)  # type: ignore[call-overload]


def system_phase(db: Database, estate: Estate, fcm: str, *, number: int) -> tuple[Timing, int]:
    requests.post(f"{fcm}/_reset", timeout=5)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        notice = publishing.publish(
            uow.session,
            org_id=estate.org_id,
            user_id=estate.desk_id,
            new=publishing.NewNotice(
                audience="tenant", title=f"停水通知 {number}", body="明日停水", scope="org"
            ),
            now=now,
        )
        notice_id = notice.id
        started = _clock()
    committed = _clock()
    expected = len(estate.tokens)
    inbox_stmt = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.dedupe_key == f"notice:{notice_id}")
    )
    deadline = time.monotonic() + TIMEOUT
    while _count(db, inbox_stmt) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {_count(db, inbox_stmt)} of {expected} inbox rows")
        time.sleep(0.02)
    inbox_done = _clock()
    while True:
        state = requests.get(f"{fcm}/_count", timeout=5).json()
        if state["count"] >= expected:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"only {state['count']} of {expected} pushes arrived")
        time.sleep(0.02)
    return Timing(committed - started, inbox_done - started, state["last"] - started), notice_id


def baseline_inbox(db: Database, estate: Estate) -> float:
    """The same rows in one hand-written statement (rolled back): the floor of any fan-out."""
    sql = text(
        "INSERT INTO notifications (org_id, user_id, kind, title, body, data, urgent,"
        " dedupe_key, created_at)"
        " SELECT :org_id, id, 'notice', '物业通知', '停水通知', '{}'::jsonb, false,"
        " 'baseline', now() FROM users"
        " WHERE org_id = :org_id AND roles @> ARRAY['tenant']::varchar[]"
    )
    with db.engine.connect() as conn:
        started = _clock()
        with conn.begin() as tx:
            written = conn.execute(sql, {"org_id": estate.org_id}).rowcount
            finished = _clock()
            tx.rollback()
    if written != len(estate.tokens):
        raise SystemExit(f"baseline inbox: {written} rows")
    return finished - started


def baseline_pushes(
    db: Database, notice_id: int, credentials: Path, fcm: str, *, number: int
) -> float:
    with db.transaction() as uow:
        rows = uow.session.execute(
            select(Notification, Device.token)
            .join(Device, Device.user_id == Notification.user_id)
            .where(Notification.dedupe_key == f"notice:{notice_id}")
            .order_by(Notification.id)
        ).all()
        pushes = [
            Push(
                token=token,
                title=n.title,
                body=n.body,
                data={"type": n.kind, "notification_id": str(n.id)},
                urgent=n.urgent,
                collapse_key=f"n{n.id}",
            )
            for n, token in rows
        ]
    requests.post(f"{fcm}/_reset", timeout=5)
    fresh = credentials.with_name(f"baseline-{number}.json")
    shutil.copyfile(credentials, fresh)
    started = _clock()
    results = PushSender(credentials_path=str(fresh), api_base=fcm).send_each(pushes)
    deadline = time.monotonic() + TIMEOUT
    while True:
        state = requests.get(f"{fcm}/_count", timeout=5).json()
        if state["count"] >= len(pushes):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"baseline: only {state['count']} pushes arrived")
        time.sleep(0.02)
    if any(not r.ok for r in results):
        raise SystemExit("baseline: some pushes failed")
    return float(state["last"]) - started


def check(db: Database, estate: Estate, fcm: str, notice_id: int) -> str:
    """One recipient and one inbox row per tenant, one push per device, the outbox drained."""
    time.sleep(0.5)
    expected = len(estate.tokens)
    recipients = _count(
        db,
        select(func.count(func.distinct(NoticeRecipient.user_id))).where(
            NoticeRecipient.notice_id == notice_id
        ),
    )
    rows = _count(
        db,
        select(func.count())
        .select_from(NoticeRecipient)
        .where(NoticeRecipient.notice_id == notice_id),
    )
    inbox = _count(
        db,
        select(func.count())
        .select_from(Notification)
        .where(Notification.dedupe_key == f"notice:{notice_id}"),
    )
    targets: dict[str, int] = requests.get(f"{fcm}/_count?targets=1", timeout=10).json()["targets"]
    twice = sum(1 for n in targets.values() if n > 1)
    missing = len(set(estate.tokens) - set(targets))
    deadline = time.monotonic() + TIMEOUT
    while True:
        with db.engine.connect() as conn:
            outbox = Counter(
                dict(
                    conn.execute(
                        select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
                    ).all()
                )
            )
        if not outbox.get("pending") and not outbox.get("delivering"):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if (recipients, rows, inbox) != (expected, expected, expected) or twice or missing:
        raise SystemExit(
            f"recipients {recipients}/{rows}, inbox {inbox}, pushes twice {twice},"
            f" missing {missing} (expected {expected})"
        )
    with db.engine.connect() as conn:
        attempts = dict(
            conn.execute(
                select(OutboxItem.job, func.sum(OutboxItem.attempts)).group_by(OutboxItem.job)
            ).all()
        )
    return (
        f"{rows} recipients, {inbox} inbox rows, {sum(targets.values())} pushes (each device"
        f" once), outbox {dict(outbox)}, attempts by job {attempts}"
    )


def report(
    system: list[Timing],
    inbox: list[float],
    pushes: list[float],
    checks: list[str],
    rooms: int,
    workers: int,
) -> str:
    lines = [
        f"rooms: {rooms}   workers: {workers}   rounds: {len(system)}",
        "",
        f"{'round':<7}{'commit':>9}{'→ inbox':>10}{'→ pushes':>10}"
        f"{'inbox SQL':>11}{'send_each':>11}{'inbox r.':>10}{'push r.':>9}",
    ]
    for i, (s, b_in, b_push) in enumerate(zip(system, inbox, pushes, strict=True), 1):
        lines.append(
            f"{i:<7}{s.commit:9.3f}{s.inbox:10.3f}{s.pushes:10.3f}"
            f"{b_in:11.3f}{b_push:11.3f}{b_in / s.inbox:10.3f}{b_push / s.pushes:9.2f}"
        )
    med = statistics.median
    lines += [
        "",
        f"median: publish commit {med(t.commit for t in system):.3f} s,"
        f" → every inbox row {med(t.inbox for t in system):.3f} s,"
        f" → every push {med(t.pushes for t in system):.3f} s",
        f"ratio inbox SQL / system inbox (medians): "
        f"{med(inbox) / med(t.inbox for t in system):.3f}",
        f"ratio send_each / system pushes (medians): "
        f"{med(pushes) / med(t.pushes for t in system):.2f}",
        *checks,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.notices", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--rooms", type=int, default=10_000, help="rooms the notice reaches")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers sharing the fan-out")
    parser.add_argument("--rounds", type=int, default=1, help="notices published (one a round)")
    parser.add_argument("--redis-db", type=int, default=12, help="db of 127.0.0.1:6379, flushed")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    if args.rooms < 1 or args.rounds < 1 or args.workers < 1:
        parser.error("--rooms, --workers and --rounds must be at least 1")

    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    base = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(base.instance_dir)
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    print("preparing a fresh database …", flush=True)
    database_url = fresh_database(server_url)
    db: Database | None = None
    try:
        t0 = time.perf_counter()
        estate = seed(database_url, rooms=args.rooms)
        print(f"seeded {args.rooms} rooms and tenants in {time.perf_counter() - t0:.1f} s")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with tempfile.TemporaryDirectory() as tmp, fake_fcm(public_pem) as fcm:
            from server.sandbox.fcm import service_account

            credentials = Path(tmp) / "fcm-service-account.json"
            account = service_account(project_id=PROJECT, token_uri=f"{fcm}/token", key=key)
            credentials.write_text(json.dumps(account))
            env = {
                **os.environ,
                "BAOXIU_ENV": "dev",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "FIREBASE_CREDENTIALS": str(credentials),
                "FCM_API_BASE": fcm,
                "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warning"),
            }
            db = Database(database_url, pool_size=2, max_overflow=0)
            attach_dispatcher(db, connection)
            system: list[Timing] = []
            inbox: list[float] = []
            pushes: list[float] = []
            checks: list[str] = []
            with ExitStack() as stack:
                for n in range(args.workers):
                    stack.enter_context(worker(env, connection, Path(tmp) / f"worker-{n}.log"))
                for number in range(1, args.rounds + 1):
                    print(f"round {number}: system …", flush=True)
                    timing, notice_id = system_phase(db, estate, fcm, number=number)
                    system.append(timing)
                    checks.append(f"round {number}: {check(db, estate, fcm, notice_id)}")
                    print(f"round {number}: baselines …", flush=True)
                    inbox.append(baseline_inbox(db, estate))
                    pushes.append(baseline_pushes(db, notice_id, credentials, fcm, number=number))
        print()
        print(report(system, inbox, pushes, checks, args.rooms, args.workers))
    finally:
        if db is not None:
            db.dispose()
        connection.flushdb()
        if not args.keep:
            drop_database(server_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
