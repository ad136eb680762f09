"""Races on committed rows: one Idempotency-Key publishes one notice; the fan-out's parts,
duplicated and run on parallel workers, write each recipient and inbox row once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from server.jobs import NOTICE_FAN_OUT_PART
from server.notices import fanout
from server.outbox import delivery
from tests.notices.conftest import ADMIN
from tests.notices.races import race


def test_one_idempotency_key_publishes_one_notice(estate):
    org = estate(rooms=2)
    body = {"title": "停电通知", "body": "今晚 22:00 检修", "scope": "org"}
    headers = {**org.desk, "Idempotency-Key": "notice-once-1"}
    answers = race([org.post(ADMIN, body, headers) for _ in range(8)])
    assert {a.status for a in answers} == {201}, answers
    assert len({a.body["id"] for a in answers}) == 1
    assert org.scalar("SELECT count(*) FROM notices WHERE org_id = :org_id") == 1
    assert (
        org.scalar("SELECT count(*) FROM outbox WHERE org_id = :org_id AND job = 'notices.fan_out'")
        == 1
    )


def test_duplicated_parts_on_parallel_workers_write_each_row_once(estate, app):
    org = estate(rooms=12)
    r = race([org.post(ADMIN, {"title": "通知", "body": "内容", "scope": "org"}, org.desk)])
    notice_id = r[0].body["id"]
    db = app.extensions["baoxiu"].db
    with db.transaction() as uow:
        assert fanout.split(uow.session, notice_id=notice_id, per_part=5) == 3
    # Every part twice more, as a duplicated or retried job would be, plus one part covering
    # every room: overlapping work for the workers.
    with db.transaction() as uow:
        conn = uow.session.connection()
        parts = (
            conn.exec_driver_sql(
                "SELECT kwargs FROM outbox WHERE job = %s AND org_id = %s",
                (NOTICE_FAN_OUT_PART.name, org.org_id),
            )
            .scalars()
            .all()
        )
        extra = [
            *parts,
            *parts,
            {"notice_id": notice_id, "first": min(org.room_ids), "last": max(org.room_ids)},
        ]
        for kwargs in extra:
            conn.exec_driver_sql(
                "INSERT INTO outbox (org_id, job, kwargs, status, attempts, max_attempts,"
                " next_attempt_at, created_at, updated_at)"
                " VALUES (%s, %s, %s::jsonb, 'pending', 0, 7, now(), now(), now())",
                (org.org_id, NOTICE_FAN_OUT_PART.name, json.dumps(kwargs)),
            )
    items = (
        org.db.engine.connect()
        .exec_driver_sql(
            "SELECT id FROM outbox WHERE job = %s AND org_id = %s AND status = 'pending'",
            (NOTICE_FAN_OUT_PART.name, org.org_id),
        )
        .scalars()
        .all()
    )
    assert len(items) == 10

    def deliver(outbox_id: int) -> str:
        return delivery.deliver(db, outbox_id=outbox_id, job=NOTICE_FAN_OUT_PART.name).value

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(deliver, items))
    assert set(outcomes) == {"delivered"}, outcomes
    assert (
        org.scalar("SELECT count(*) FROM notice_recipients WHERE notice_id = :n", n=notice_id) == 12
    )
    assert (
        org.scalar(
            "SELECT count(*), count(DISTINCT user_id) FROM notifications WHERE dedupe_key = :k",
            k=f"notice:{notice_id}",
        )
        == 12
    )
    assert (
        org.scalar(
            "SELECT count(DISTINCT user_id) FROM notifications WHERE dedupe_key = :k",
            k=f"notice:{notice_id}",
        )
        == 12
    )
