"""Two `baoxiu serve` and two `baoxiu worker` processes on one PostgreSQL and one Redis: the
races of tests/concurrency, paying and notices, with the clients spread over both servers and
the deliveries raced by both workers, end as they do on one process."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

import pytest
import requests
from flask import Flask
from rq import Queue
from rq.job import Job
from sqlalchemy import text

from server.jobs import DELIVER_NOTIFICATIONS, NOTICE_FAN_OUT_PART
from server.notices import fanout
from server.sandbox.fcm import FakeFCM
from tests.concurrency.conftest import Call, RaceOrg, race, tally
from tests.concurrency.test_booking_races import BookingOrg
from tests.factories import Factory
from tests.fakes.wechatpay import FakeWeChatPay
from tests.notices.conftest import ADMIN as NOTICES
from tests.notices.races import Estate
from tests.paying.conftest import NOTIFY_WECHAT, Shop
from tests.paying.helpers import TENANT
from tests.scaleout.conftest import Cluster, wait_for

pytestmark = [pytest.mark.scaleout, pytest.mark.concurrency, pytest.mark.timeout(90)]


def spread(org: RaceOrg, cluster: Cluster, build: list[Any]) -> list[Call]:
    """Build each call against the servers in turn (RaceOrg's calls bind their URL when built)."""
    calls = []
    for index, make in enumerate(build):
        org.base_url = cluster.url(index)
        calls.append(make())
    org.base_url = cluster.url(0)
    return calls


def test_forty_grabs_of_one_order_over_two_servers_have_one_winner(
    app: Flask, cluster: Cluster
) -> None:
    org = RaceOrg(app, cluster.url(0), technicians=40, cap=3)
    [order_id] = org.file(1)

    answers = race(spread(org, cluster, [lambda t=t: org.grab(t, order_id) for t in org.techs]))

    assert tally(answers) == {(200, None): 1, (409, "order_taken"): 39}
    [winner] = [org.techs[a.who] for a in answers if a.status == 200]
    assert org.held() == {winner.staff_id: 1}
    assert org.events("grab") == 1


def test_one_technician_grabbing_over_two_servers_stops_at_the_cap(
    app: Flask, cluster: Cluster
) -> None:
    org = RaceOrg(app, cluster.url(0), technicians=1, cap=3)
    [tech] = org.techs
    order_ids = org.file(12)

    answers = race(spread(org, cluster, [lambda o=o: org.grab(tech, o) for o in order_ids]))

    assert tally(answers) == {(200, None): 3, (409, "grab_limit_reached"): 9}
    assert org.held() == {tech.staff_id: 3}
    assert org.events("grab") == 3


def test_a_storm_of_grabs_over_two_servers_keeps_every_cap(app: Flask, cluster: Cluster) -> None:
    org = RaceOrg(app, cluster.url(0), technicians=5, cap=2)
    order_ids = org.file(8)
    grabs = [lambda t=t, o=o: org.grab(t, o) for t in org.techs for o in order_ids]

    answers = race(spread(org, cluster, grabs))

    counts = tally(answers)
    # 5 technicians × 2 places > 8 orders: every order is taken, once, and nobody holds 3.
    assert counts[(200, None)] == 8
    held = org.held()
    assert all(n <= 2 for n in held.values()), held
    assert sum(held.values()) == 8
    assert org.events("grab") == 8


def test_fifty_bookings_of_a_five_place_slot_over_two_servers_make_five(
    app: Flask, cluster: Cluster
) -> None:
    org = BookingOrg(app, cluster.url(0), tenants=50, quota=5)
    slot = org.slots[0]
    body = {
        "subtype_id": org.subtype_id,
        "room_id": org.room_id,
        "description": "洗衣机不转",
        "slot_start": slot,
    }

    def book(index: int) -> Call:
        url, headers = cluster.url(index) + TENANT, org.tenants[index].headers

        def call(http: requests.Session) -> requests.Response:
            return http.post(url, json=body, headers=headers, timeout=60)

        return call

    answers = race([book(index) for index in range(len(org.tenants))])

    assert Counter((a.status, a.error) for a in answers) == {(201, None): 5, (409, "slot_full"): 45}
    assert org.scalar("SELECT count(*) FROM orders WHERE org_id = :org_id") == 5
    assert org.scalar("SELECT used FROM slot_counters WHERE org_id = :org_id") == 5


def test_ten_identical_payment_notifications_over_two_servers_book_one_payment(
    app: Flask, cluster: Cluster, wxpay: FakeWeChatPay
) -> None:
    container = app.extensions["baoxiu"]
    with container.db.transaction() as uow:
        shop = Shop(Factory(uow.session, container.tokens))
        org_id, room_id, subtype_id = shop.org.id, shop.room.id, shop.deposit.id
        tenant = shop.headers(shop.tenant)

    def rows(sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with container.db.engine.connect() as conn:
            found = conn.execute(text(sql), {"org_id": org_id, **params}).all()
            return [tuple(row) for row in found]

    r = requests.post(
        cluster.url(0) + TENANT,
        json={"subtype_id": subtype_id, "room_id": room_id, "description": "换锁"},
        headers=tenant,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    r = requests.post(
        f"{cluster.url(1)}{TENANT}/{order_id}/payments",
        json={"channel": "wechat"},
        headers=tenant,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    out_trade_no = r.json()["out_trade_no"]
    wxpay.pay(out_trade_no)
    body, headers = wxpay.payment_notification(out_trade_no)
    sent = {**headers, "Content-Type": "application/json"}

    def notify(index: int) -> Call:
        url = cluster.url(index) + NOTIFY_WECHAT

        def call(http: requests.Session) -> requests.Response:
            return http.post(url, data=body, headers=sent, timeout=30)

        return call

    answers = race([notify(index) for index in range(10)])

    assert Counter(a.status for a in answers) == {204: 10}
    payments = "SELECT status, amount_fen FROM payments WHERE org_id = :org_id AND order_id = :id"
    assert rows(payments, id=order_id) == [("paid", 3000)]
    assert rows(
        "SELECT amount_fen, reference FROM ledger_entries"
        " WHERE org_id = :org_id AND order_id = :id AND kind = 'payment'",
        id=order_id,
    ) == [(-3000, out_trade_no)]
    assert rows(
        "SELECT count(*) FROM order_events WHERE order_id = :id AND action = 'payment_received'",
        id=order_id,
    ) == [(1,)]
    assert rows(
        "SELECT coalesce(sum(amount_fen), 0) FROM ledger_entries WHERE order_id = :id", id=order_id
    ) == [(0,)]


def _outbox_settled(db: Any, org_id: int) -> bool:
    with db.engine.connect() as conn:
        left = conn.execute(
            text(
                "SELECT count(*) FROM outbox WHERE org_id = :org_id"
                " AND status IN ('pending', 'delivering')"
            ),
            {"org_id": org_id},
        ).scalar()
    return left == 0


def _enqueue_copies(app: Flask, queue: str, items: list[tuple[int, str]], copies: int) -> list[str]:
    """More deliveries of the same items, as a duplicated enqueue or the sweeper would make."""
    rq_queue = Queue(queue, connection=app.extensions["baoxiu"].redis)
    return [
        rq_queue.enqueue("workers.tasks.deliver_outbox", outbox_id, job).id
        for _ in range(copies)
        for outbox_id, job in items
    ]


def _workers_of(app: Flask, job_ids: list[str]) -> set[str]:
    """The workers that ran these RQ jobs."""
    jobs = Job.fetch_many(job_ids, connection=app.extensions["baoxiu"].redis)
    return {job.worker_name for job in jobs if job is not None and job.worker_name}


def test_each_push_is_sent_once_with_two_workers_racing(
    app: Flask, cluster: Cluster, fcm: FakeFCM
) -> None:
    org = RaceOrg(app, cluster.url(0), technicians=4, cap=3)
    phones = []
    for index, tech in enumerate(org.techs):
        token = f"scaleout-{org.org_id}-{index}"
        r = requests.post(
            f"{cluster.url(index)}/api/v1/me/devices",
            json={"platform": "android", "token": token},
            headers=tech.headers,
            timeout=10,
        )
        assert r.status_code == 201, r.text
        phones.append(token)

    org.file(6)  # committed: each filing's delivery is enqueued for the workers
    items = [
        (int(outbox_id), str(job))
        for outbox_id, job in org.rows(
            "SELECT id, job FROM outbox WHERE org_id = :org_id AND job = :job",
            job=DELIVER_NOTIFICATIONS.name,
        )
    ]
    assert len(items) == 6
    copies = _enqueue_copies(app, DELIVER_NOTIFICATIONS.queue, items, copies=3)

    db = app.extensions["baoxiu"].db
    wait_for("the deliveries", lambda: _outbox_settled(db, org.org_id), timeout=60)
    wait_for("the pushes", lambda: all(len(fcm.sent_to(t)) >= 6 for t in phones), timeout=30)
    wait_for("the copies to be worked", lambda: _queue_drained(app, DELIVER_NOTIFICATIONS.queue))
    for token in phones:
        titles = [m["notification"]["title"] for m in fcm.sent_to(token)]
        assert titles == ["抢单池有新工单"] * 6, (token, titles)
    statuses = org.rows("SELECT DISTINCT status FROM outbox WHERE org_id = :org_id")
    assert [tuple(row) for row in statuses] == [("delivered",)]
    # Both workers normally share the copies; on a loaded machine one may take them all, which
    # proves less but is no failure of the product (each push was still sent once).
    _report_workers(_workers_of(app, copies), "push copies")


def _report_workers(workers: set[str], what: str) -> None:
    assert workers, f"no worker ran the {what}"
    if len(workers) < 2:
        logging.getLogger(__name__).info("one worker ran all the %s this time (busy machine)", what)


def _queue_drained(app: Flask, queue: str) -> bool:
    rq_queue = Queue(queue, connection=app.extensions["baoxiu"].redis)
    return rq_queue.count == 0 and rq_queue.started_job_registry.count == 0


def test_a_notice_fan_out_split_over_two_workers_writes_each_inbox_row_once(
    app: Flask, cluster: Cluster
) -> None:
    estate = Estate(app, cluster.url(1), rooms=20)
    r = requests.post(
        cluster.url(1) + NOTICES,
        json={
            "title": "停水通知",
            "body": f"明日 9:00 检修 {uuid.uuid4().hex[:6]}",
            "scope": "org",
        },
        headers=estate.desk,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    notice_id = r.json()["id"]
    # Besides the fan-out the server queued, the same rooms cut in parts of 4, each part
    # delivered three times over, and one part covering every room: overlapping work.
    db = app.extensions["baoxiu"].db
    with db.transaction() as uow:
        fanout.split(uow.session, notice_id=notice_id, per_part=4)
        uow.session.execute(
            text(
                "INSERT INTO outbox (org_id, job, kwargs, status, attempts, max_attempts,"
                " next_attempt_at, created_at, updated_at)"
                " VALUES (:org_id, :job, CAST(:kwargs AS jsonb), 'pending', 0, 7, now(), now(),"
                " now())"
            ),
            {
                "org_id": estate.org_id,
                "job": NOTICE_FAN_OUT_PART.name,
                "kwargs": (
                    f'{{"notice_id": {notice_id}, "first": {min(estate.room_ids)},'
                    f' "last": {max(estate.room_ids)}}}'
                ),
            },
        )
    with db.engine.connect() as conn:
        parts = [
            (int(outbox_id), NOTICE_FAN_OUT_PART.name)
            for (outbox_id,) in conn.execute(
                text("SELECT id FROM outbox WHERE org_id = :org_id AND job = :job"),
                {"org_id": estate.org_id, "job": NOTICE_FAN_OUT_PART.name},
            )
        ]
    assert len(parts) >= 6
    copies = _enqueue_copies(app, NOTICE_FAN_OUT_PART.queue, parts, copies=2)

    wait_for("the fan-out", lambda: _outbox_settled(db, estate.org_id), timeout=60)
    wait_for("the copies to be worked", lambda: _queue_drained(app, NOTICE_FAN_OUT_PART.queue))
    assert (
        estate.scalar("SELECT count(*) FROM notice_recipients WHERE notice_id = :n", n=notice_id)
        == 20
    )
    key = f"notice:{notice_id}"
    assert estate.scalar("SELECT count(*) FROM notifications WHERE dedupe_key = :k", k=key) == 20
    assert (
        estate.scalar(
            "SELECT count(DISTINCT user_id) FROM notifications WHERE dedupe_key = :k", k=key
        )
        == 20
    )
    _report_workers(_workers_of(app, copies), "fan-out parts")
