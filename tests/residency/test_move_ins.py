"""业主入伙 and 家庭成员 through the API, and what the household's phones open afterwards."""

from __future__ import annotations

from sqlalchemy import func, select

from server.models import Customer, CustomerRoom, Vehicle
from tests.residency.conftest import days_ago

OWNER, SPOUSE, CHILD = "13900000101", "13900000102", "13900000103"


def test_move_in_registers_the_household_and_its_phones_find_the_room(desk, db_session):
    room = desk.room("3-1001")
    start = days_ago(30)
    answer = desk.move_in(
        room,
        start=start,
        phone=OWNER,
        name="王业主",
        family=[("王妻", SPOUSE, "配偶"), ("王子", None, "子女")],
        contacts=[{"name": "王秘书", "phone": "13900000109", "relation": "other"}],
        vehicles=[{"plate": "粤B12345", "model": "比亚迪"}],
    )
    assert answer["relation"] == "owner" and answer["effective_on"] == start.isoformat()
    assert answer["customer"]["phone"] == "139****0101"
    head_id = answer["customer_room_id"]

    for phone in (OWNER, SPOUSE, "13900000109"):
        assert desk.rooms_seen(desk.tenant(phone)) == {room.id}
    assert desk.rooms_seen(desk.tenant("13900000199")) == set()

    members = db_session.scalars(
        select(CustomerRoom).where(CustomerRoom.household_id == head_id)
    ).all()
    assert sorted(m.household_label for m in members) == ["子女", "配偶"]
    assert all(m.relation == "resident" and m.start_date == start for m in members)
    vehicle = db_session.scalars(
        select(Vehicle).where(Vehicle.customer_id == answer["customer"]["id"])
    ).one()
    assert vehicle.plate == "粤B12345"
    assert "moved_in" in desk.audit_kinds()

    history = desk.relations(room.id, on=start.isoformat())
    assert {(r["relation"], r["customer"]["name"]) for r in history["relations"]} == {
        ("owner", "王业主"),
        ("resident", "王妻"),
        ("resident", "王子"),
    }
    assert history["move_ins"][0]["customer"]["name"] == "王业主"


def test_an_existing_customer_moves_in_as_tenant(desk, make):
    room = desk.room("3-1002")
    customer = make.customer(desk.org, name="老客户", phone="13900000111")
    make.contact(customer, phone="13900000111")
    body = {
        "room_id": room.id,
        "start_date": days_ago(3).isoformat(),
        "relation": "tenant",
        "customer_id": customer.id,
    }
    r = desk.call("POST", "/move-ins", body, expect=201)
    assert r.json["customer"]["id"] == customer.id and r.json["relation"] == "tenant"
    assert desk.rooms_seen(desk.tenant("13900000111")) == {room.id}


def test_a_room_with_an_owner_on_that_day_is_refused(desk, db_session):
    room = desk.room("3-1003")
    desk.move_in(room, start=days_ago(100), phone=OWNER)
    before = db_session.scalar(select(func.count()).select_from(Customer))
    for start in (days_ago(10), days_ago(200)):  # in force then, or later
        r = desk.call(
            "POST",
            "/move-ins",
            {
                "room_id": room.id,
                "start_date": start.isoformat(),
                "customer": {"name": "第二业主", "phone": "13900000121"},
            },
        )
        assert r.status_code == 409 and r.json["error"] == "conflict", r.json
        assert "room_id" in r.json["errors"]
    # A tenant may move into an owned room.
    desk.move_in(room, start=days_ago(5), phone="13900000122", relation="tenant")
    assert db_session.scalar(select(func.count()).select_from(Customer)) == before + 1


def test_bad_move_ins_are_422_with_field_errors_and_write_nothing(desk, db_session):
    room = desk.room("3-1004")
    count = db_session.scalar(select(func.count()).select_from(Customer))
    start = days_ago(1).isoformat()
    cases = [
        ({}, {"room_id", "start_date"}),
        ({"room_id": room.id, "start_date": start}, {"customer"}),
        (
            {"room_id": room.id, "start_date": start, "customer_id": 1, "customer": {"name": "x"}},
            {"customer"},
        ),
        (
            {"room_id": room.id, "start_date": "2026-02-30", "customer": {"name": "x"}},
            {"start_date"},
        ),
        ({"room_id": 987654321, "start_date": start, "customer": {"name": "x"}}, {"room_id"}),
        ({"room_id": room.id, "start_date": start, "customer_id": 987654321}, {"customer_id"}),
        (
            {"room_id": room.id, "start_date": start, "customer": {"name": "x", "phone": "123"}},
            {"customer"},
        ),
        (
            {
                "room_id": room.id,
                "start_date": start,
                "customer": {"name": "x", "id_number": "110105194912310021"},
            },
            {"customer.id_number"},
        ),
        (
            {
                "room_id": room.id,
                "start_date": start,
                "customer": {"name": "x", "phone": OWNER},
                "vehicles": [{"plate": "不是车牌"}],
            },
            {"vehicles.0.plate"},
        ),
        (
            {
                "room_id": room.id,
                "start_date": start,
                "customer": {"name": "x"},
                "family": [{"customer": {"name": "y"}, "label": "朋友"}],
            },
            {"family"},
        ),
        (
            {"room_id": room.id, "start_date": start, "relation": "resident", "customer_id": 1},
            {"relation"},
        ),
    ]
    for body, fields in cases:
        r = desk.call("POST", "/move-ins", body)
        assert r.status_code == 422, (body, r.json)
        assert r.json["error"] == "validation_error"
        keys = set(r.json["errors"])
        assert all(any(k == f or k.startswith(f + ".") for k in keys) for f in fields), (
            body,
            r.json,
        )
    # Nothing of the refused requests stayed (the vehicle case had created its customer).
    assert db_session.scalar(select(func.count()).select_from(Customer)) == count
    assert desk.rooms_seen(desk.tenant(OWNER)) == set()


def test_household_members_are_added_changed_and_ended_never_deleted(desk, db_session):
    room = desk.room("3-1005")
    head = desk.move_in(room, start=days_ago(100), phone=OWNER, name="户主")["customer_room_id"]
    head_orders = desk.tenant(OWNER)
    filed_by_head = desk.file(head_orders, room)
    desk.filed_on(filed_by_head, days_ago(20))

    r = desk.call(
        "POST",
        f"/households/{head}/members",
        {"customer": {"name": "孩子", "phone": CHILD}, "label": "子女"},
        expect=201,
    )
    member = r.json
    assert member["start_date"] == days_ago(100).isoformat() and member["end_date"] is None
    child = desk.tenant(CHILD)
    assert desk.rooms_seen(child) == {room.id}
    filed_by_child = desk.file(child, room)
    # The household shares the room's orders of its period.
    assert desk.orders_seen(child) == {filed_by_head, filed_by_child}

    r = desk.call("PATCH", f"/household-members/{member['id']}", {"label": "亲属"}, expect=200)
    assert r.json["household_label"] == "亲属"

    # 迁出 yesterday: from today the room and its orders are closed to them, except their own.
    r = desk.call(
        "POST",
        f"/household-members/{member['id']}/end",
        {"end_date": days_ago(1).isoformat()},
        expect=200,
    )
    assert r.json["end_date"] == days_ago(1).isoformat()
    assert desk.rooms_seen(child) == set()
    assert desk.orders_seen(child) == {filed_by_child}
    assert desk.orders_seen(head_orders) == {filed_by_head, filed_by_child}
    desk.file(child, room, expect=422)
    row = db_session.get(CustomerRoom, member["id"])
    assert row is not None  # kept as history
    history = desk.relations(room.id, on=days_ago(2).isoformat())
    assert "孩子" in {r["customer"]["name"] for r in history["relations"]}
    history = desk.relations(room.id, on=days_ago(0).isoformat())
    assert "孩子" not in {r["customer"]["name"] for r in history["relations"]}

    r = desk.call(
        "POST", f"/household-members/{member['id']}/end", {"end_date": days_ago(0).isoformat()}
    )
    assert r.status_code == 409
    r = desk.call(
        "POST", f"/households/{member['id']}/members", {"customer_id": 1, "label": "子女"}
    )
    assert r.status_code == 404
    r = desk.call(
        "POST",
        f"/households/{head}/members",
        {"customer": {"name": "早"}, "label": "子女", "start_date": days_ago(500).isoformat()},
    )
    assert r.status_code == 422 and "start_date" in r.json["errors"]
    r = desk.call("POST", f"/household-members/{member['id']}/end", {"end_date": "x"})
    assert r.status_code == 422 and "end_date" in r.json["errors"]
    kinds = desk.audit_kinds()
    assert kinds.count("household_changed") == 3


def test_tenants_and_technicians_may_not_use_the_desk_scenarios(desk, client, world):
    r = client.post("/api/v1/admin/move-ins", json={}, headers=desk.tenant("13900000131"))
    assert r.status_code == 403
    r = client.post("/api/v1/admin/move-ins", json={}, headers=world.headers(world.dispatcher))
    assert r.status_code == 422  # the desk (dispatchers) may
