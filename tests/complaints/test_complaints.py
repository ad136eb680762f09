"""Complaints and suggestions (投诉建议) through the real HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.orders.test_order_images import upload

MINE = "/api/v1/tenant/complaints"
DESK = "/api/v1/admin/complaints"


def file(client, world, who=None, expect=201, **body):
    payload = {"kind": "complaint", "text": "楼道灯坏了一周没人管", **body}
    r = client.post(MINE, json=payload, headers=world.headers(who or world.tenant))
    assert r.status_code == expect, r.json
    return r.json


def desk(world):
    return world.headers(world.dispatcher)


def call(client, world, method, path, body=None, expect=200, who=None):
    headers = desk(world) if who is None else world.headers(who)
    r = client.open(path, method=method, json=body, headers=headers)
    assert r.status_code == expect, r.json
    return r.json


def inbox_kinds(db_session, user_id):
    return [
        kind
        for (kind,) in db_session.execute(
            text("SELECT kind FROM notifications WHERE user_id = :u ORDER BY id"), {"u": user_id}
        )
    ]


def test_filed_classified_assigned_answered_closed_and_rated(client, world, db_session):
    photo = upload(client, world.headers(world.tenant))
    oid = world.file(client)["id"]
    tech = world.techs[0]
    filed = file(client, world, image_ids=[photo], order_id=oid, staff_id=tech.id)
    cid = filed["id"]
    assert filed["status"] == "open" and filed["severity"] == "normal"
    assert filed["category"] is None and filed["category_label"] is None
    assert filed["order_id"] == oid and filed["staff"]["id"] == tech.id
    assert [i["id"] for i in filed["images"]] == [photo] and filed["replies"] == []
    assert "complaint_filed" in inbox_kinds(db_session, world.dispatcher.id)

    page = call(client, world, "GET", DESK)
    assert page["total"] == 1 and page["items"][0]["tenant"]["phone"] == "138****0001"
    due_before = page["items"][0]["due_at"]

    classified = call(
        client, world, "PATCH", f"{DESK}/{cid}", {"category": "repair_quality", "severity": "high"}
    )
    assert classified["category"] == "repair_quality" and classified["severity"] == "high"
    assert classified["due_at"] < due_before  # a severe one is due sooner

    assigned = call(client, world, "POST", f"{DESK}/{cid}/assign", {"staff_id": world.techs[1].id})
    assert assigned["status"] == "processing"
    assert assigned["assignee"]["id"] == world.techs[1].id
    assert assigned["department"]["id"] == world.department.id
    assert "complaint_assigned" in inbox_kinds(db_session, world.techs[1].user_id)

    # Nothing is closed without a reply to the tenant.
    r = client.post(f"{DESK}/{cid}/close", headers=desk(world))
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"

    call(client, world, "POST", f"{DESK}/{cid}/replies", {"text": "已安排师傅今天更换"}, expect=201)
    assert "complaint_reply" in inbox_kinds(db_session, world.tenant.id)
    mine = call(
        client,
        world,
        "POST",
        f"{MINE}/{cid}/replies",
        {"text": "好的谢谢"},
        expect=201,
        who=world.tenant,
    )
    assert [(m["author_role"], m["text"]) for m in mine["replies"]] == [
        ("desk", "已安排师傅今天更换"),
        ("tenant", "好的谢谢"),
    ]

    # Rating only once it is closed, and once.
    r = client.post(f"{MINE}/{cid}/rating", json={"score": 5}, headers=world.headers(world.tenant))
    assert r.status_code == 409
    closed = call(client, world, "POST", f"{DESK}/{cid}/close")
    assert closed["status"] == "closed" and closed["closed_at"]
    r = client.post(f"{DESK}/{cid}/close", headers=desk(world))
    assert r.status_code == 409
    r = client.post(
        f"{MINE}/{cid}/replies", json={"text": "再说一句"}, headers=world.headers(world.tenant)
    )
    assert r.status_code == 409
    rated = call(
        client,
        world,
        "POST",
        f"{MINE}/{cid}/rating",
        {"score": 4, "comment": "还行"},
        who=world.tenant,
    )
    assert rated["rating_score"] == 4 and rated["status_label"] == "已办结"
    r = client.post(f"{MINE}/{cid}/rating", json={"score": 1}, headers=world.headers(world.tenant))
    assert r.status_code == 409

    for status, expect in (("closed", 1), ("open", 0)):
        page = call(client, world, "GET", f"{DESK}?status={status}&kind=complaint&severity=high")
        assert page["total"] == expect
    assert call(client, world, "GET", f"{DESK}?category=charges")["total"] == 0


def test_a_tenant_sees_only_their_own(client, world, make):
    cid = file(client, world)["id"]
    file(client, world, who=world.neighbour, kind="suggestion", text="建议增加快递柜")

    mine = call(client, world, "GET", MINE, who=world.tenant)
    assert [c["id"] for c in mine["items"]] == [cid] and mine["total"] == 1
    assert "tenant" not in mine["items"][0]  # no complainant block in the tenant's view
    r = client.get(f"{MINE}/{cid}", headers=world.headers(world.neighbour))
    assert r.status_code == 404 and r.json["error"] == "not_found"
    for path, body in (
        (f"{MINE}/{cid}/replies", {"text": "x"}),
        (f"{MINE}/{cid}/rating", {"score": 1}),
    ):
        assert (
            client.post(path, json=body, headers=world.headers(world.neighbour)).status_code == 404
        )

    # Another organisation's desk sees none of it.
    stranger = make.headers(make.dispatcher(make.org()))
    assert client.get(DESK, headers=stranger).json["total"] == 0
    assert client.get(f"{DESK}/{cid}", headers=stranger).status_code == 404
    r = client.post(f"{DESK}/{cid}/replies", json={"text": "x"}, headers=stranger)
    assert r.status_code == 404
    # Technicians have no complaint endpoints at all: the named one never learns who it was.
    assert client.get(DESK, headers=world.headers(world.techs[0])).status_code == 403


def test_bad_input_is_refused(client, world, make):
    neighbours_order = client.post(
        "/api/v1/tenant/orders",
        json={"subtype_id": world.subtype.id, "room_id": world.other_room.id, "description": "x"},
        headers=world.headers(world.neighbour),
    ).json["id"]
    other_staff = make.staff(make.org())
    for body, field in (
        ({"kind": "praise"}, "kind"),
        ({"text": ""}, "text"),
        ({"order_id": neighbours_order}, "order_id"),  # not the tenant's order
        ({"staff_id": other_staff.id}, "staff_id"),  # another organisation's
        ({"image_ids": ["f" * 32]}, "image_ids"),
    ):
        r = client.post(
            MINE,
            json={"kind": "complaint", "text": "有问题", **body},
            headers=world.headers(world.tenant),
        )
        assert r.status_code == 422 and field in r.json["errors"], (body, r.json)

    cid = file(client, world)["id"]
    for method, path, body, field in (
        ("PATCH", f"{DESK}/{cid}", {"category": "weather"}, "category"),
        ("PATCH", f"{DESK}/{cid}", {"severity": "extreme"}, "severity"),
        ("PATCH", f"{DESK}/{cid}", {}, "category"),
        ("POST", f"{DESK}/{cid}/assign", {}, "department_id"),
        (
            "POST",
            f"{DESK}/{cid}/assign",
            {"department_id": world.department.id, "staff_id": world.techs[0].id},
            "department_id",
        ),
        ("POST", f"{DESK}/{cid}/assign", {"staff_id": other_staff.id}, "staff_id"),
        ("POST", f"{DESK}/{cid}/replies", {"text": "  "}, "text"),
    ):
        r = client.open(f"{path}", method=method, json=body, headers=desk(world))
        assert r.status_code == 422 and field in r.json["errors"], (path, body, r.json)
    assert client.get(f"{DESK}?severity=extreme", headers=desk(world)).status_code == 422
    r = client.post(f"{MINE}/{cid}/rating", json={"score": 6}, headers=world.headers(world.tenant))
    assert r.status_code == 422


def test_filing_is_idempotent(client, world):
    headers = {**world.headers(world.tenant), "Idempotency-Key": "complaint-1"}
    body = {"kind": "suggestion", "text": "建议增加快递柜"}
    first = client.post(MINE, json=body, headers=headers)
    second = client.post(MINE, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json["id"] == second.json["id"]
    assert call(client, world, "GET", MINE, who=world.tenant)["total"] == 1


def test_deadline_reminds_then_escalates_once(client, world, db_session):
    from server.complaints import deadlines, figures

    cid = file(client, world)["id"]
    call(client, world, "PATCH", f"{DESK}/{cid}", {"severity": "high"})
    row = db_session.execute(
        text("SELECT remind_at, due_at, escalate_at FROM complaints WHERE id = :id"), {"id": cid}
    ).one()
    assert row.remind_at < row.due_at < row.escalate_at

    def tick(at):
        return deadlines.tick(db_session, now=at).alerted

    assert tick(row.remind_at - timedelta(seconds=1)) == 0
    assert tick(row.remind_at) == 1
    assert tick(row.remind_at) == 0  # once
    assert tick(row.escalate_at + timedelta(minutes=1)) == 1  # late: only the highest
    assert tick(row.escalate_at + timedelta(hours=1)) == 0
    level = db_session.execute(
        text("SELECT alert_level FROM complaints WHERE id = :id"), {"id": cid}
    )
    assert level.scalar() == 3
    admins_told = db_session.execute(
        text(
            "SELECT count(*) FROM notifications WHERE kind = 'complaint_assigned' AND org_id = :o"
        ),
        {"o": world.org.id},
    ).scalar()
    assert admins_told >= 1

    # The workbench's and the dashboard's figures.
    assert figures.open_count(db_session, org_id=world.org.id) == 1
    assert [c.id for c in figures.first_open(db_session, org_id=world.org.id)] == [cid]
    numbers = figures.complaint_figures(
        db_session, org_id=world.org.id, now=row.escalate_at + timedelta(hours=1)
    )
    assert numbers["total"] == 1 and numbers["by_kind"] == {"complaint": 1}
    assert numbers["by_severity"] == {"high": 1} and numbers["by_status"] == {"open": 1}
    assert numbers["by_category"] == {"unclassified": 1} and numbers["overdue"] == 1
    assert numbers["average_rating"] is None
    assert datetime.now(UTC) < row.escalate_at + timedelta(days=30)
