"""The workbench (工作台): every queue's exact count and first page in one call, each queue paged
on its own, thresholds from the organisation's settings, index-backed counts, isolation, roles;
and the order records' (订单记录) filters on the console list and its export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from server.workbench import queues
from server.workbench.rules import QUEUES

WORKBENCH = "/api/v1/admin/workbench"
ADMIN = "/api/v1/admin/orders"
TECH = "/api/v1/tech/orders"


def set_column(db_session, order_id, column, value):
    db_session.execute(
        text(f"UPDATE orders SET {column} = :value WHERE id = :id"),
        {"value": value, "id": order_id},
    )
    db_session.flush()


def ok(response):
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def desk(world):
    return world.headers(world.dispatcher)


@pytest.fixture
def board(client, world, db_session):
    """One order in each queue (and a few in none), with known ids."""
    now = datetime.now(UTC)
    t0, t1, t2 = world.techs
    pending_old = world.file(client)
    pending_new = world.file(client)
    set_column(db_session, pending_old["id"], "created_at", now - timedelta(hours=5))

    unaccepted = world.file(client)
    fresh = world.file(client)  # assigned a minute ago: not late yet
    for order, tech in ((unaccepted, t0), (fresh, t1)):
        ok(
            client.post(
                f"{ADMIN}/{order['id']}/assign",
                json={"staff_id": tech.id},
                headers=world.headers(world.dispatcher),
            )
        )
    set_column(db_session, unaccepted["id"], "assigned_at", now - timedelta(minutes=45))

    overdue = world.file(client)
    ok(client.post(f"{TECH}/{overdue['id']}/grab", headers=world.headers(t2)))
    set_column(db_session, overdue["id"], "due_at", now - timedelta(minutes=1))

    held = world.file(client)
    ok(client.post(f"{TECH}/{held['id']}/grab", headers=world.headers(t2)))
    ok(
        client.post(
            f"{TECH}/{held['id']}/hold", json={"reason": "等配件"}, headers=world.headers(t2)
        )
    )
    db_session.execute(
        text("UPDATE sla_clocks SET paused_at = :at WHERE order_id = :id"),
        {"at": now - timedelta(days=2), "id": held["id"]},
    )

    unpaid = world.file(client)
    ok(client.post(f"{TECH}/{unpaid['id']}/grab", headers=world.headers(t2)))
    ok(
        client.post(
            f"{TECH}/{unpaid['id']}/complete",
            json={"result": "换了阀门"},
            headers=world.headers(t2),
        )
    )
    set_column(db_session, unpaid["id"], "payable_fen", 3000)
    set_column(db_session, unpaid["id"], "payment_status", "unpaid")

    # Rated 1: a return visit falls due (待回访).
    rated_low = world.file(client)
    ok(client.post(f"{TECH}/{rated_low['id']}/grab", headers=world.headers(t1)))
    ok(
        client.post(
            f"{TECH}/{rated_low['id']}/complete", json={"result": "疏通"}, headers=world.headers(t1)
        )
    )
    ok(
        client.post(
            f"/api/v1/tenant/orders/{rated_low['id']}/rating",
            json={"score": 1, "comment": "还是堵"},
            headers=world.headers(world.tenant),
        )
    )

    urged = pending_new  # also in 待派单
    set_column(db_session, urged["id"], "last_tenant_urged_at", now - timedelta(minutes=3))
    return {
        "pending_old": pending_old["id"],
        "pending_new": pending_new["id"],
        "unaccepted": unaccepted["id"],
        "fresh": fresh["id"],
        "overdue": overdue["id"],
        "held": held["id"],
        "unpaid": unpaid["id"],
        "urged": urged["id"],
        "rated_low": rated_low["id"],
    }


def test_every_queue_in_one_call(client, world, desk, board, make):
    # Another organisation's orders count nowhere.
    other = make.org()
    assert other.id != world.org.id
    answer = ok(client.get(WORKBENCH, headers=desk))
    by_name = {q["name"]: q for q in answer["queues"]}
    assert list(by_name) == list(QUEUES)
    expected = {
        "unassigned": [board["pending_old"], board["pending_new"]],  # oldest first
        "unaccepted": [board["unaccepted"]],
        "overdue": [board["overdue"]],
        "long_hold": [board["held"]],
        "unpaid": [board["unpaid"]],
        "tenant_urged": [board["urged"]],
        "return_visit_due": [board["rated_low"]],
    }
    for name, order_ids in expected.items():
        queue = by_name[name]
        assert [o["id"] for o in queue["items"]] == order_ids, name
        assert queue["total"] == len(order_ids), name
        assert queue["label"]
    assert answer["complaints"] == {"label": "待处理投诉建议", "total": 0, "items": []}
    item = by_name["unassigned"]["items"][0]
    assert item["contact_phone"] == "138****0001"  # the list shape: masked
    assert {"status_label", "overdue", "room", "assignee"} <= set(item)


def test_each_queue_pages_on_its_own(client, desk, board):
    first = ok(
        client.get(
            f"{WORKBENCH}/orders",
            query_string={"queue": "unassigned", "page_size": 1},
            headers=desk,
        )
    )
    assert first["total"] == 2 and [o["id"] for o in first["items"]] == [board["pending_old"]]
    second = ok(
        client.get(
            f"{WORKBENCH}/orders",
            query_string={"queue": "unassigned", "page_size": 1, "page": 2},
            headers=desk,
        )
    )
    assert [o["id"] for o in second["items"]] == [board["pending_new"]]
    short = ok(client.get(WORKBENCH, query_string={"page_size": 1}, headers=desk))
    unassigned = next(q for q in short["queues"] if q["name"] == "unassigned")
    assert unassigned["total"] == 2 and len(unassigned["items"]) == 1

    r = client.get(f"{WORKBENCH}/orders", query_string={"queue": "nope"}, headers=desk)
    assert r.status_code == 422 and "queue" in r.json["errors"]
    r = client.get(WORKBENCH, query_string={"page_size": 101}, headers=desk)
    assert r.status_code == 422


def test_thresholds_come_from_the_settings(client, world, desk, board, make):
    admin = world.headers(make.admin(world.org))

    def queue(name):
        r = client.get(f"{WORKBENCH}/orders", query_string={"queue": name}, headers=desk)
        return [o["id"] for o in ok(r)["items"]]

    path = "/api/v1/admin/settings/workbench"
    ok(client.patch(path, json={"unaccepted_alert_minutes": 60}, headers=admin))
    assert queue("unaccepted") == []
    assert queue("long_hold") == [board["held"]]
    changes = {"unaccepted_alert_minutes": 1, "long_hold_minutes": 3 * 1440}
    ok(client.patch(path, json=changes, headers=admin))
    # The fresh one was assigned under a minute ago; the held one paused two days ago.
    assert queue("unaccepted") == [board["unaccepted"]]
    assert queue("long_hold") == []


def test_roles(client, world):
    for who in (world.techs[0], world.tenant):
        assert client.get(WORKBENCH, headers=world.headers(who)).status_code == 403
    assert client.get(WORKBENCH).status_code == 401


@pytest.mark.parametrize("name", QUEUES)
def test_each_queue_count_is_index_backed(db_session, world, name):
    """With sequential scans priced out, every queue's count reads an index of `orders`."""
    org = db_session.get(type(world.org), world.org.id)
    stmt = queues._BY_NAME[name].query(queues.Context(org=org, now=datetime.now(UTC)))
    count = stmt.with_only_columns(text("count(*)")).order_by(None)
    sql = str(count.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(row[0] for row in db_session.execute(text(f"EXPLAIN {sql}")))
    assert "Seq Scan on orders" not in plan, plan
    # Through one of orders' indexes (待回访 reaches its orders by primary key, from the
    # partial index of due visits).
    assert "ix_orders" in plan or "pk_orders" in plan, plan
    assert "Seq Scan" not in plan, plan


# 订单记录: the console list's filters and its export ---------------------------------------


def test_order_records_filters(client, world, desk, db_session):
    tech = world.techs[0]
    leak = world.file(client, description="卫生间漏水严重")
    lamp = world.file(client, description="楼道灯不亮")
    ok(client.post(f"{TECH}/{leak['id']}/grab", headers=world.headers(tech)))
    ok(
        client.post(
            f"{TECH}/{leak['id']}/complete",
            json={"result": "更换 50% 密封圈"},
            headers=world.headers(tech),
        )
    )
    set_column(db_session, leak["id"], "assigned_at", datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    set_column(db_session, leak["id"], "completed_at", datetime(2026, 3, 2, 16, 30, tzinfo=UTC))

    def found(**query):
        r = client.get(ADMIN, query_string=query, headers=desk)
        return {o["id"] for o in ok(r)["items"]}

    assert found(content="漏水") == {leak["id"]}
    assert found(content="灯") == {lamp["id"]}
    assert found(number=lamp["number"][-4:]) >= {lamp["id"]}
    assert found(number=lamp["number"]) == {lamp["id"]}
    assert found(result="密封圈") == {leak["id"]}
    assert found(result="50%") == {leak["id"]}
    assert found(result="%") == {leak["id"]}  # literal, not a wildcard: the lamp has no result
    assert found(handled_from="2026-03-01", handled_to="2026-03-01") == {leak["id"]}
    assert found(handled_from="2026-03-02") == set()
    # 16:30 UTC on 2 March is 00:30 on 3 March in Beijing.
    assert found(completed_from="2026-03-03", completed_to="2026-03-03") == {leak["id"]}
    assert found(completed_to="2026-03-02") == set()
    assert found(assignee_id=tech.id) == {leak["id"]}
    assert found(unassigned=True) == {lamp["id"]}

    r = client.get(ADMIN, query_string={"content": "漏水", "format": "csv"}, headers=desk)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "1"
    rows = list(csv.DictReader(io.StringIO(r.data[3:].decode("utf-8"))))
    assert [row["工单号"] for row in rows] == [leak["number"]]
    assert rows[0]["办结时间"] == "2026-03-03 00:30"

    r = client.get(ADMIN, query_string={"completed_from": "2026-13-01"}, headers=desk)
    assert r.status_code == 422 and "completed_from" in r.json["errors"]


def test_open_complaints_beside_the_queues(client, world, desk):
    filed = client.post(
        "/api/v1/tenant/complaints",
        json={"kind": "complaint", "text": "师傅上门迟到两小时"},
        headers=world.headers(world.tenant),
    )
    assert filed.status_code == 201, filed.json
    complaints = ok(client.get(WORKBENCH, headers=desk))["complaints"]
    assert complaints["total"] == 1
    assert [c["id"] for c in complaints["items"]] == [filed.json["id"]]
    assert complaints["items"][0]["tenant"]["phone"] == "138****0001"


def test_queue_counts_in_one_statement_equal_the_queues(client, world, desk, board, db_session):
    """The console's tiles: every count in one statement, the same as each queue's own."""
    from server.workbench.queues import queue_counts

    answer = ok(client.get(WORKBENCH, headers=desk))
    counts = queue_counts(db_session, org_id=world.org.id, now=datetime.now(UTC))
    expected = [(q["name"], q["total"]) for q in answer["queues"]]
    assert [(c.name, c.total) for c in counts] == expected
    assert sum(c.total for c in counts) == 8  # the board above: one or two per queue
