"""The dashboard's daily rollup against the fully live answer, and its periodic job.

The reference is the live statements (`overview.live_overview`, `trends.live_days`,
`people._live`): every figure computed from the orders alone, percentiles exact. Through the
rollup every figure is the same except the percentiles, which are estimates within 10 %.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.charges.models import LedgerEntry, OrderCharge
from server.dashboard import overview, people, rollup, trends
from server.dashboard.cohort import Filters, Scope
from server.dashboard.rules import DAY, local_range
from server.jobs import PERIODIC
from server.kernel.clock import LOCAL_TZ
from server.orders.models import Order, OrderEvent
from tests.dashboard.test_dashboard import bj
from tests.factories import Factory
from workers import main as worker_main

STATUSES = (
    "pending",
    "assigned",
    "in_progress",
    "on_hold",
    "completed",
    "closed",
    "cancelled",
    "awaiting_payment",
)
CANCELS = (("cancel_by_tenant", "不修了"), ("cancel_by_desk", "重复报修"), ("hold_expired", ""))


def write_orders(
    s: Session, *, org, rooms, types, techs, tenant, count: int, statuses=STATUSES, month=11
):
    """`count` orders over the month (Beijing time), every shape the dashboard counts: each
    status, desk and staff filings, unpaid filings, holds (some still on), escalations,
    reopenings, ratings of every score, ledgers of every kind, charge lines by several staff,
    cancellations by everyone with reasons, overdue ones."""
    orders = []
    for i in range(count):
        status = statuses[i % len(statuses)]
        created = bj(2026, month, 1 + i % 30, (i * 7) % 24, (i * 13) % 60)
        room = rooms[i % len(rooms)]
        order_type, subtype = types[(i // 3) % len(types)]
        held = status not in ("pending", "cancelled", "awaiting_payment")
        accepted = (
            created + timedelta(minutes=10 * (1 + i % 5))
            if status in ("in_progress", "on_hold", "completed", "closed")
            else None
        )
        completed = (
            accepted + timedelta(hours=1 + i % 7)
            if accepted and status in ("completed", "closed")
            else None
        )
        unpaid = status == "awaiting_payment" or (status == "closed" and i % 3 == 0)
        order = Order(
            org_id=org.id,
            number=f"V{org.id}-{i:05d}",
            status=status,
            priority="urgent" if i % 4 == 0 else "normal",
            community_id=room.building.community_id,
            building_id=room.building_id,
            room_id=room.id,
            order_type_id=order_type.id,
            subtype_id=subtype.id,
            description="测试",
            contact_phone="13800000001",
            reporter_user_id=tenant.id,
            channel="staff" if i % 3 == 0 else "tenant",
            assignee_id=techs[i % len(techs)].id if held else None,
            accepted_at=accepted,
            completed_at=completed,
            closed_at=completed + timedelta(days=1) if status == "closed" else None,
            cancelled_at=created + timedelta(minutes=5) if status == "cancelled" else None,
            rating_score=1 + i % 5 if status == "closed" else None,
            reopen_count=(i % 3) if i % 6 == 0 and accepted else 0,
            due_at=created + timedelta(hours=2 if i % 3 == 0 else 48),
            created_at=created,
        )
        s.add(order)
        s.flush()
        orders.append(order)
        role = ("dispatcher" if i % 2 == 0 else "technician") if i % 3 == 0 else "tenant"

        def event(action, frm, to, at, *, who="technician", reason="", o=order):
            s.add(
                OrderEvent(
                    org_id=org.id,
                    order_id=o.id,
                    action=action,
                    from_status=frm,
                    to_status=to,
                    actor_role=who,
                    reason=reason,
                    created_at=at,
                    data={},
                )
            )

        if unpaid:
            event("file_unpaid", None, "awaiting_payment", created, who=role)
            if status != "awaiting_payment":
                event("payment_received", "awaiting_payment", "pending", created, who="system")
        else:
            event("file", None, "pending", created, who=role)
        if accepted:
            event("grab", "pending", "in_progress", accepted)
            if status == "on_hold" or i % 4 == 1:
                event("hold", "in_progress", "on_hold", accepted + timedelta(minutes=20))
                if status != "on_hold":
                    event("resume", "on_hold", "in_progress", accepted + timedelta(minutes=50))
        if completed:
            event("complete", "in_progress", "completed", completed)
        if status == "cancelled":
            action, reason = CANCELS[(i // 8) % 3]
            event(action, "pending", "cancelled", created + timedelta(minutes=5), reason=reason)
        if i % 7 == 0 and status in ("pending", "assigned", "in_progress", "on_hold"):
            event("escalate", status, status, order.due_at, who="system")
        if i % 2 == 0:
            fen = 1000 * (1 + i % 5)
            for kind, amount, channel in (
                ("charge", fen, ""),
                ("payment", -fen, "wechat" if i % 4 == 0 else "alipay"),
                ("refund", 500, "wechat"),
                ("waive", -300, ""),
                ("company_cost", -200, ""),
                ("cancel", -fen, ""),
            )[: 1 + i % 6]:
                s.add(
                    LedgerEntry(
                        org_id=org.id,
                        order_id=order.id,
                        kind=kind,
                        amount_fen=amount,
                        channel=channel,
                        created_at=created + timedelta(hours=1),
                    )
                )
        if i % 3 == 0 and held:
            staff = techs[(i // 3) % len(techs)]
            s.add(
                OrderCharge(
                    org_id=org.id,
                    order_id=order.id,
                    kind=("labor", "material", "service")[i % 3],
                    item_id=1,
                    name="项目",
                    unit="次",
                    unit_price_fen=100 * (1 + i % 9),
                    quantity=1,
                    amount_fen=100 * (1 + i % 9),
                    staff_id=staff.id,
                    department_id=staff.department_id,
                    created_at=created + timedelta(hours=2),
                )
            )
    s.flush()
    return orders


class Varied:
    def __init__(self, world, make, db_session):
        other_community = make.community(world.org, name="翠湖苑")
        other_room = make.room(make.building(other_community, name="2栋"), code="201")
        other_type = make.order_type(world.org, name="门窗")
        self.types = [(world.order_type, world.subtype), (other_type, make.subtype(other_type))]
        self.community = other_community
        self.orders = write_orders(
            db_session,
            org=world.org,
            rooms=[world.room, other_room, world.other_room],
            types=self.types,
            techs=[*world.techs, world.outsider],
            tenant=world.tenant,
            count=120,
        )


@pytest.fixture
def varied(world, make, db_session):
    return Varied(world, make, db_session)


NOVEMBER = local_range(bj(2026, 11, 1).date(), bj(2026, 11, 30).date(), LOCAL_TZ)
_PERCENTILES = ("p50_seconds", "p90_seconds")


def _strip(value: Any, estimates: list[tuple[Any, Any]], path: str = "") -> Any:
    """The answer without its percentiles (collected by path), lists in a stable order."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _PERCENTILES:
                estimates.append((f"{path}.{k}", v))
            else:
                out[k] = _strip(v, estimates, f"{path}.{k}")
        return out
    if isinstance(value, list):
        items = [
            _strip(v, estimates, f"{path}[{v.get('key') if isinstance(v, dict) else ''}]")
            for v in value
        ]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def assert_same_as_live(session: Session, scope: Scope, filters: Filters, now: datetime) -> None:
    live = overview.live_overview(session, scope=scope, filters=filters, now=now)
    rolled = overview.overview(session, scope=scope, filters=filters, now=now)
    rolled.pop("return_visits")
    rolled.pop("complaints")
    exact: list[tuple[Any, Any]] = []
    estimated: list[tuple[Any, Any]] = []
    assert _strip(rolled, estimated) == _strip(live, exact)
    assert [p for p, _ in sorted(estimated)] == [p for p, _ in sorted(exact)]
    for (path, estimate), (_, value) in zip(sorted(estimated), sorted(exact), strict=True):
        if value is None:
            assert estimate is None, path
        else:
            assert abs(estimate - value) <= 0.1 * abs(value) + 1, (path, estimate, value)

    def nonzero(days):
        return {d: {k: v for k, v in f.items() if v} for d, f in days.items() if any(f.values())}

    live_days = trends.live_days(session, scope=scope, filters=filters, now=now)
    rolled_days = trends._rollup_days(session, scope=scope, filters=filters, now=now)
    assert nonzero(rolled_days) == nonzero(live_days)

    keys = ("orders", "completed", "finished", "reopened", "handling_n", "rated", "rating_sum")

    def per_technician(figures):
        per, revenue = figures
        return (
            {k: {f: int(getattr(r, f)) for f in keys} for k, r in per.items() if k is not None},
            {k: round(float(r.handling_sum)) for k, r in per.items() if k is not None},
            revenue,
        )

    assert per_technician(
        people._rolled(session, scope=scope, filters=filters, now=now)
    ) == per_technician(people._live(session, scope=scope, filters=filters, now=now))


def test_rollup_and_live_agree_before_between_and_after_the_job(world, varied, db_session):
    scope, now = Scope(org_id=world.org.id), datetime.now(UTC)
    filters = Filters(range=NOVEMBER)
    # Before any run: every day through the builder, live.
    assert_same_as_live(db_session, scope, filters, now)
    # A run on 15 November: the days before it from the rollup, the rest live.
    assert rollup.refresh(db_session, org_id=world.org.id, now=bj(2026, 11, 15, 12)) is not None
    assert_same_as_live(db_session, scope, filters, now)
    # Today's run: every November day from the rollup, with each filter the rollup keys.
    report = rollup.refresh(db_session, org_id=world.org.id, now=now)
    assert report is not None and report.days >= 16 and report.rows > 0
    assert_same_as_live(db_session, scope, filters, now)
    other_type = varied.types[1][0].id
    for narrowed in (
        Filters(range=NOVEMBER, community_id=varied.community.id),
        Filters(range=NOVEMBER, order_type_id=other_type),
        Filters(range=local_range(bj(2026, 11, 10).date(), bj(2026, 11, 12).date(), LOCAL_TZ)),
        # A range ending inside a month and one with whole months inside it (month rows).
        Filters(range=local_range(bj(2026, 10, 20).date(), bj(2026, 11, 29).date(), LOCAL_TZ)),
        Filters(range=local_range(bj(2026, 9, 30).date(), bj(2026, 12, 6).date(), LOCAL_TZ)),
        Filters(range=NOVEMBER, community_id=varied.community.id, order_type_id=other_type),
    ):
        assert_same_as_live(db_session, scope, narrowed, now)
    # A scope of some communities only narrows the rollup's rows too.
    assert_same_as_live(
        db_session,
        Scope(org_id=world.org.id, community_ids=frozenset({varied.community.id})),
        filters,
        now,
    )


def test_a_change_to_a_past_order_shows_after_the_next_run(world, varied, db_session):
    scope, filters = Scope(org_id=world.org.id), Filters(range=NOVEMBER)
    first = datetime.now(UTC)
    rollup.refresh(db_session, org_id=world.org.id, now=first)
    before = overview.overview(db_session, scope=scope, filters=filters, now=first)
    # An order filed on 3 November, in progress, is completed and rated 5 now (the ORM
    # bumps its updated_at), with its timeline step.
    order = next(o for o in varied.orders if o.status == "in_progress")
    now = datetime.now(UTC)
    order.status, order.completed_at, order.closed_at, order.rating_score = ("closed", now, now, 5)
    db_session.add(
        OrderEvent(
            org_id=world.org.id,
            order_id=order.id,
            action="complete",
            from_status="in_progress",
            to_status="completed",
            actor_role="technician",
            created_at=now,
            data={},
        )
    )
    db_session.flush()
    stale = overview.overview(db_session, scope=scope, filters=filters, now=now)
    # Until the job's next run (a minute at most) the rolled-up counts stand; overdue now is
    # always live, so the order no longer counts as overdue at once.
    assert stale["counts"] == {
        **before["counts"],
        "overdue_now": before["counts"]["overdue_now"] - 1,
    }
    report = rollup.refresh(db_session, org_id=world.org.id, now=now + timedelta(seconds=1))
    assert report is not None and not report.full and report.days >= 1
    after = overview.overview(db_session, scope=scope, filters=filters, now=now)
    assert after["counts"]["completed"] == before["counts"]["completed"] + 1
    assert after["counts"]["closed"] == before["counts"]["closed"] + 1
    assert after["satisfaction"]["rated"] == before["satisfaction"]["rated"] + 1
    assert_same_as_live(db_session, scope, filters, now)
    # A charge line removed (no timeline row; the order's updated_at moves) is seen too.
    charge = db_session.scalars(
        text("SELECT id FROM order_charges WHERE org_id = :org ORDER BY id LIMIT 1"),
        {"org": world.org.id},
    ).first()
    removed = db_session.get(OrderCharge, charge)
    db_session.get(Order, removed.order_id).updated_at = datetime.now(UTC)  # as remove_charge
    db_session.delete(removed)
    db_session.flush()
    rollup.refresh(db_session, org_id=world.org.id, now=datetime.now(UTC) + timedelta(seconds=2))
    assert_same_as_live(db_session, scope, filters, now)


def test_a_department_filter_answers_live(client, world, varied, db_session):
    rollup.refresh(db_session, org_id=world.org.id, now=datetime.now(UTC))
    query = {"from": "2026-11-01", "to": "2026-11-30"}
    headers = world.headers(world.dispatcher)
    url = "/api/v1/admin/dashboard"
    by_department = {**query, "department_id": world.department.id}
    honest = client.get(url, query_string=by_department, headers=headers).json
    # Spoil the rollup: the answers that read it move, the department's does not.
    db_session.execute(
        text("UPDATE dashboard_days SET filed = filed + 1000 WHERE org_id = :org"),
        {"org": world.org.id},
    )
    db_session.flush()
    spoiled = client.get(url, query_string=query, headers=headers).json
    assert spoiled["counts"]["filed"] > 1000
    assert client.get(url, query_string=by_department, headers=headers).json == honest
    for table in ("/trends", "/technicians", "/departments"):
        assert (
            client.get(url + table, query_string=by_department, headers=headers).status_code == 200
        )


# --- the job on committed data ---------------------------------------------------------------


@pytest.fixture
def committed_org(app):
    """An organisation with orders, committed (the job's runs use their own transactions)."""
    db = app.extensions["baoxiu"].db
    with Session(db.engine, expire_on_commit=False) as s:
        make = Factory(s, app.extensions["baoxiu"].tokens)
        org = make.org()
        community = make.community(org)
        room = make.room(make.building(community))
        department = make.department(org)
        techs = [make.staff(org, department_id=department.id) for _ in range(2)]
        order_type = make.order_type(org)
        write_orders(
            s,
            org=org,
            rooms=[room],
            types=[(order_type, make.subtype(order_type))],
            techs=techs,
            tenant=make.tenant(org),
            count=40,
            # Only finished orders: the other areas' tests run their jobs over every
            # organisation (auto-close, unpaid holds) and count what they find.
            statuses=("closed", "cancelled"),
        )
        s.commit()
    return db, org.id


def _filed(db, org_id: int) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "SELECT coalesce(sum(filed), 0) FROM dashboard_days"
                    " WHERE org_id = :org AND kind = 'base' AND span = 'day'"
                ),
                {"org": org_id},
            )
        )


def test_two_runs_at_once_count_each_order_once(committed_org):
    db, org_id = committed_org
    now = datetime.now(UTC)
    barrier = threading.Barrier(2)
    reports: list[Any] = []

    def run() -> None:
        barrier.wait()
        with db.transaction() as uow:
            reports.append(rollup.refresh(uow.session, org_id=org_id, now=now))

    for _ in range(2):  # the first build at once, then a refresh at once
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _filed(db, org_id) == 40
    assert any(r is not None for r in reports)


@pytest.mark.usefixtures("database_url")
def test_the_job_is_scheduled_and_runs_in_a_real_worker(
    committed_org, redis_url, database_url, monkeypatch
):
    import redis

    from workers import runtime

    db, org_id = committed_org
    scheduled = {p.name: p for p in PERIODIC}["refresh-dashboard"]
    assert scheduled.job.func == "workers.tasks.refresh_dashboard" and scheduled.cron == "* * * * *"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    runtime.settings.cache_clear()
    runtime.database.cache_clear()
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("test-jobs", connection=connection)
    job = queue.enqueue(worker_main._resolve(scheduled.job.func))
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert job.return_value()["organisations"] >= 1
    assert _filed(db, org_id) == 40
    runtime.database().dispose()
    runtime.settings.cache_clear()
    runtime.database.cache_clear()


def test_a_fresh_database_answers_live_and_the_same(world, varied, db_session):
    """No run yet for this organisation: the overview, trends and people answer anyway."""
    scope, filters, now = Scope(org_id=world.org.id), Filters(range=NOVEMBER), datetime.now(UTC)
    assert (
        overview.overview(db_session, scope=scope, filters=filters, now=now)["counts"]["filed"]
        == 120
    )
    answer = trends.trends(db_session, scope=scope, filters=filters, granularity=DAY, now=now)
    filed = next(s for s in answer["series"] if s["key"] == "filed")["values"]
    assert sum(filed) == 120
    rows = people.technicians(db_session, scope=scope, filters=filters, now=now)
    assert sum(r["orders"] for r in rows) == sum(1 for o in varied.orders if o.assignee_id)


def test_a_range_is_cut_into_whole_months_weeks_and_days():
    from datetime import date

    for first, last in (
        (date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 10, 20), date(2026, 11, 29)),
        (date(2025, 12, 6), date(2026, 12, 6)),
        (date(2026, 11, 10), date(2026, 11, 12)),
        (date(2026, 11, 7), date(2026, 12, 6)),
    ):
        parts = rollup.pieces(first, last + timedelta(days=1))
        covered = []
        for span, since, until in parts:
            assert since < until
            if span == "month":
                assert since.day == 1 and until.day == 1
            if span == "week":
                assert since.weekday() == 0 and until.weekday() == 0
            covered.extend(since + timedelta(days=i) for i in range((until - since).days))
        assert sorted(covered) == [
            first + timedelta(days=i) for i in range((last - first).days + 1)
        ]
    # A year: eleven whole months, then whole weeks and a few days at each end.
    spans = [s for s, _, _ in rollup.pieces(date(2025, 12, 6), date(2026, 12, 7))]
    assert spans == ["month", "week", "day", "day", "day"]
