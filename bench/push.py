"""Push fan-out: one pool order reaching 1,000 technicians' phones through the outbox, an RQ
worker and firebase-admin, against sending the same pushes straight from a script.

    python -m bench.push [--technicians 1000] [--rounds 3]

One run, the same loopback FCM and the same messages in both phases:

- Setup: a fresh database of its own (`baoxiu_bench_push`, migrated), one organisation, one
  department, an order type bound to it, `--technicians` technicians on duty there (one
  android device each), a tenant with a room. A loopback FCM (`server.sandbox.fcm.FakeFCM`
  with its OAuth endpoint, in a process of its own, under werkzeug) and one real worker
  (`baoxiu worker` in a subprocess, on Redis db `--redis-db` of 127.0.0.1:6379, flushed
  first), with a service account generated for the run.
1. System — the tenant files one pool order through `server.orders.filing.file_order` in one
   transaction; the clock starts just before its commit (which writes an inbox row per eligible
   technician and one outbox job, then enqueues it on RQ) and stops when the fake has answered
   the last of the pushes (the fake stamps each answer with CLOCK_MONOTONIC, the clock of
   `time.monotonic()` here, so no polling delay is counted).
2. Baseline — the same pushes (title, body, data, collapse key of the notifications just
   delivered) sent straight from this script with `PushSender.send_each` (a fresh sender, as a
   worker's job has: firebase-admin app, OAuth token), timed the same way.

After each phase: exactly one push per device, none elsewhere; for the system also every
delivery row `sent` and the outbox item `delivered`. Prints both times per round, the median of
each and the ratio baseline / system (1.0: the system costs nothing on top of the sends).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rq import Worker
from sqlalchemy import insert, select

import server.outbox.registry  # noqa: F401  (handlers, and the listener that writes notifications)
from bench.grab import _free_port, _with_database
from server import runtime
from server.config import Settings
from server.db import migrate
from server.db.session import Database
from server.integrations.fcm import Push, PushSender
from server.jobs import DELIVER_NOTIFICATIONS
from server.kernel.clock import local_date
from server.kernel.roles import Role
from server.models import (
    Building,
    Community,
    Contact,
    Customer,
    CustomerRoom,
    Department,
    Device,
    Notification,
    OrderSubtype,
    OrderType,
    Organisation,
    Room,
    Staff,
    User,
)
from server.notifications.models import Delivery
from server.orders.actors import Actor
from server.orders.filing import NewOrder, file_order
from server.outbox.dispatch import attach_dispatcher
from server.outbox.models import OutboxItem

BENCH_DB = "baoxiu_bench_push"
PROJECT = "baoxiu-bench"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
KIND = "pool_order"
TIMEOUT = 120.0  # seconds a phase may take before the run fails


def _clock() -> float:
    """System-wide monotonic seconds: the same clock in this process and in the fake's."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


# -- database ------------------------------------------------------------------------------


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
class World:
    org_id: int
    tenant_id: int
    room_id: int
    subtype_id: int
    tokens: dict[str, int]  # device token → technician's user id


def seed(database_url: str, *, technicians: int) -> World:
    """The organisation, its tenant and room, and `technicians` on duty with a phone each."""
    db = Database(database_url, pool_size=1, max_overflow=0)
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
        department = add(Department(org_id=org.id, name="工程部"))
        order_type = add(OrderType(org_id=org.id, name="水电维修", department_id=department.id))
        subtype = add(OrderSubtype(org_id=org.id, order_type_id=order_type.id, name="水管漏水"))
        phone = "13800000001"
        customer = add(Customer(org_id=org.id, kind="person", name="住户"))
        add(
            Contact(
                org_id=org.id, customer_id=customer.id, phone=phone, name="住户", relation="self"
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
        tenant = add(User(org_id=org.id, phone=phone, name="住户", roles=[Role.TENANT.value]))

        # The technicians in three bulk statements: users, their staff rows, their phones.
        user_ids = list(
            s.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {
                        "org_id": org.id,
                        "phone": str(13700000000 + i),
                        "name": f"师傅{i}",
                        "roles": [Role.TECHNICIAN.value],
                    }
                    for i in range(technicians)
                ],
            )
        )
        s.execute(
            insert(Staff),
            [
                {"org_id": org.id, "user_id": u, "department_id": department.id, "on_duty": True}
                for u in user_ids
            ],
        )
        tokens = {f"bench-{i:05d}-{secrets.token_hex(20)}": u for i, u in enumerate(user_ids)}
        s.execute(
            insert(Device),
            [
                {"org_id": org.id, "user_id": u, "platform": "android", "token": t}
                for t, u in tokens.items()
            ],
        )
        world = World(org.id, tenant.id, room.id, subtype.id, tokens)
    db.dispose()
    return world


# -- the loopback FCM, in a process of its own ---------------------------------------------


def _serve_fake(public_pem: bytes, port: int) -> None:
    """The child process: FakeFCM's app plus two bench-only routes, under werkzeug."""
    from flask import Response, jsonify, request
    from werkzeug.serving import run_simple

    from server.sandbox.fcm import FakeFCM

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, rsa.RSAPublicKey)
    fake = FakeFCM(project_id=PROJECT, account_key=key)
    app = fake.app()
    stamps = {"first": 0.0, "last": 0.0}

    @app.after_request
    def stamp(response: Response) -> Response:
        if response.status_code == 200 and request.path.endswith("messages:send"):
            now = _clock()
            with fake.lock:
                stamps["first"] = stamps["first"] or now
                stamps["last"] = max(stamps["last"], now)
        return response

    @app.get("/_count")
    def count() -> Response:
        with fake.lock:
            answer: dict[str, Any] = {"count": len(fake.messages), **stamps}
            if request.args.get("targets"):
                answer["targets"] = Counter(m.get("token") or m.get("fid") for m in fake.messages)
        return jsonify(answer)

    @app.post("/_reset")
    def reset() -> Response:
        fake.reset()
        with fake.lock:
            stamps.update(first=0.0, last=0.0)
        return jsonify({})

    run_simple("127.0.0.1", port, app, threaded=True)


@contextmanager
def fake_fcm(public_pem: bytes) -> Iterator[str]:
    port = _free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_fake, args=(public_pem, port), daemon=True
    )
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/_count", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake FCM did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.join(timeout=10)


# -- the worker ----------------------------------------------------------------------------


@contextmanager
def worker(env: dict[str, str], connection: redis.Redis, log: Path) -> Iterator[None]:
    """`baoxiu worker` in a subprocess, once it has registered with Redis."""
    command = [str(Path(sys.executable).parent / "baoxiu"), "worker"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while not Worker.all(connection=connection):
                if proc.poll() is not None:
                    raise RuntimeError(f"the worker exited ({proc.returncode}); see {log}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the worker did not register within 60 s; see {log}")
                time.sleep(0.1)
            yield
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
class Timing:
    total: float  # seconds from the start to the fake's last answer
    first: float  # … to its first answer
    commit: float = 0.0  # … to the end of the commit (system phase)


def _wait_for(fcm: str, expected: int) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        state: dict[str, Any] = requests.get(f"{fcm}/_count", timeout=5).json()
        if state["count"] >= expected:
            return state
        if time.monotonic() > deadline:
            raise SystemExit(f"only {state['count']} of {expected} pushes arrived")
        time.sleep(0.02)


def check_arrivals(fcm: str, world: World, phase: str) -> str:
    """Exactly one push per device, none elsewhere (a short grace for late duplicates)."""
    time.sleep(0.5)
    targets: dict[str, int] = requests.get(f"{fcm}/_count?targets=1", timeout=10).json()["targets"]
    total = sum(targets.values())
    twice = sum(1 for n in targets.values() if n > 1)
    missing = len(set(world.tokens) - set(targets))
    strangers = len(set(targets) - set(world.tokens))
    if total != len(world.tokens) or twice or missing or strangers:
        raise SystemExit(
            f"{phase}: {total} pushes, {missing} devices without, {twice} with more than one,"
            f" {strangers} to unknown tokens"
        )
    return f"{total} pushes, each of {len(targets)} devices exactly once"


def system_phase(db: Database, world: World, fcm: str, *, number: int) -> tuple[Timing, int]:
    """File one pool order; time from just before its commit to the last push at the fake."""
    requests.post(f"{fcm}/_reset", timeout=5)
    now = datetime.now(UTC)
    actor = Actor(user_id=world.tenant_id, org_id=world.org_id, role=Role.TENANT.value)
    new = NewOrder(
        subtype_id=world.subtype_id, room_id=world.room_id, description=f"水管漏水 {number}"
    )
    with db.transaction() as uow:
        order = file_order(uow.session, actor=actor, new=new, now=now, today=local_date(now))
        order_id = order.id
        started = _clock()  # the commit: inbox rows + the outbox job, then the enqueue
    committed = _clock()
    state = _wait_for(fcm, len(world.tokens))
    return Timing(state["last"] - started, state["first"] - started, committed - started), order_id


def check_records(db: Database, order_id: int, expected: int) -> str:
    """The worker's bookkeeping: every delivery `sent`, the outbox item `delivered`."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        with db.transaction() as uow:
            s = uow.session
            ids = list(
                s.scalars(
                    select(Notification.id).where(
                        Notification.order_id == order_id, Notification.kind == KIND
                    )
                )
            )
            sent = Counter(
                s.scalars(select(Delivery.status).where(Delivery.notification_id.in_(ids)))
            )
            outbox = Counter(
                s.scalars(
                    select(OutboxItem.status).where(OutboxItem.job == DELIVER_NOTIFICATIONS.name)
                )
            )
        if outbox.get("pending", 0) + outbox.get("delivering", 0) == 0:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if len(ids) != expected or dict(sent) != {"sent": expected}:
        raise SystemExit(f"system: {len(ids)} notifications, deliveries {dict(sent)}")
    return f"{len(ids)} inbox rows, deliveries {dict(sent)}, outbox {dict(outbox)}"


def same_pushes(db: Database, order_id: int) -> list[Push]:
    """The pushes the worker sent for this order (as `notifications.delivery` builds them)."""
    with db.transaction() as uow:
        rows = uow.session.execute(
            select(Notification, Device.token)
            .join(Device, Device.user_id == Notification.user_id)
            .where(Notification.order_id == order_id, Notification.kind == KIND)
            .order_by(Notification.id)
        ).all()
        return [
            Push(
                token=token,
                title=n.title,
                body=n.body,
                data={"type": n.kind, "notification_id": str(n.id), "order_id": str(order_id)},
                urgent=n.urgent,
                collapse_key=f"n{n.id}",
            )
            for n, token in rows
        ]


def baseline_phase(pushes: list[Push], credentials: Path, fcm: str, *, number: int) -> Timing:
    """The same pushes straight from here, through a fresh firebase-admin app and token."""
    requests.post(f"{fcm}/_reset", timeout=5)
    # PushSender keeps one firebase-admin app per credentials path: a copy makes it a new one.
    fresh = credentials.with_name(f"baseline-{number}.json")
    shutil.copyfile(credentials, fresh)
    started = _clock()
    results = PushSender(credentials_path=str(fresh), api_base=fcm).send_each(pushes)
    state = _wait_for(fcm, len(pushes))
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"baseline: {len(failed)} failed, e.g. {failed[0]}")
    return Timing(state["last"] - started, state["first"] - started)


# -- report --------------------------------------------------------------------------------


def report(system: list[Timing], baseline: list[Timing], checks: list[str], n: int) -> str:
    lines = [
        f"technicians: {n}   rounds: {len(system)}",
        "",
        f"{'round':<7}{'system (s)':>12}{'commit':>10}{'1st push':>10}"
        f"{'baseline (s)':>14}{'1st push':>10}{'ratio':>8}",
    ]
    for i, (s, b) in enumerate(zip(system, baseline, strict=True), 1):
        lines.append(
            f"{i:<7}{s.total:12.3f}{s.commit:10.3f}{s.first:10.3f}"
            f"{b.total:14.3f}{b.first:10.3f}{b.total / s.total:8.2f}"
        )
    sys_med = statistics.median(t.total for t in system)
    base_med = statistics.median(t.total for t in baseline)
    lines += [
        "",
        f"median: system {sys_med:.3f} s (aim < 2 s)   baseline {base_med:.3f} s",
        f"ratio baseline / system (medians): {base_med / sys_med:.2f}",
        *checks,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.push", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--technicians", type=int, default=1000, help="eligible technicians")
    parser.add_argument("--rounds", type=int, default=3, help="pool orders filed (one a round)")
    parser.add_argument("--redis-db", type=int, default=13, help="db of 127.0.0.1:6379, flushed")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--worker-log", type=Path, help="keep the worker's output in this file")
    args = parser.parse_args(argv)
    if args.technicians < 1 or args.rounds < 1:
        parser.error("--technicians and --rounds must be at least 1")

    # send_each runs 100 threads on firebase-admin's pool of 10 connections: urllib3 warns for
    # each connection it cannot keep (the worker's log shows them; here they would drown the
    # report).
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
        world = seed(database_url, technicians=args.technicians)
        print(f"seeded {args.technicians} technicians in {time.perf_counter() - t0:.1f} s")
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
            baseline: list[Timing] = []
            checks: list[str] = []
            with worker(env, connection, args.worker_log or Path(tmp) / "worker.log"):
                for number in range(1, args.rounds + 1):
                    print(f"round {number}: system …", flush=True)
                    timing, order_id = system_phase(db, world, fcm, number=number)
                    system.append(timing)
                    arrived = check_arrivals(fcm, world, "system")
                    records = check_records(db, order_id, args.technicians)
                    print(f"round {number}: baseline …", flush=True)
                    pushes = same_pushes(db, order_id)
                    baseline.append(baseline_phase(pushes, credentials, fcm, number=number))
                    checks += [
                        f"round {number} system:   {arrived}; {records}",
                        f"round {number} baseline: {check_arrivals(fcm, world, 'baseline')}",
                    ]
        print()
        print(report(system, baseline, checks, args.technicians))
    finally:
        if db is not None:
            db.dispose()
        connection.flushdb()
        if not args.keep:
            drop_database(server_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
