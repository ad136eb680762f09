"""拆分 / 合并房: old rooms retired (kept), relations carried on the day, areas by rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from server.models import CustomerRoom, Order, Room, RoomLineage
from tests.residency.conftest import days_ago

OWNER, SPOUSE, RENTER = "13900000301", "13900000302", "13900000303"


def test_split_carries_owners_to_every_new_room_and_retires_the_old(desk, db_session):
    room = desk.room("5-101", building_area=Decimal("100.00"))
    desk.move_in(
        room, start=days_ago(200), phone=OWNER, name="拆分业主", family=[("妻", SPOUSE, "配偶")]
    )
    desk.move_in(room, start=days_ago(150), phone=RENTER, name="租客", relation="tenant")
    owner = desk.tenant(OWNER)
    before = desk.file(owner, room)
    desk.filed_on(before, days_ago(30))
    day = days_ago(5)

    r = desk.call(
        "POST",
        "/room-splits",
        {
            "room_id": room.id,
            "date": day.isoformat(),
            "rooms": [
                {"code": "5-101A", "building_area": "60.00"},
                {"code": "5-101B", "building_area": "40.00", "floor": 2},
            ],
        },
        expect=201,
    )
    edges = r.json["items"]
    assert [e["kind"] for e in edges] == ["split", "split"]
    new_ids = {e["to_room"]["id"] for e in edges}
    assert {e["from_room"]["id"] for e in edges} == {room.id}
    db_session.expire_all()
    assert db_session.get(Room, room.id).retired_on == day
    new_rooms = db_session.scalars(select(Room).where(Room.id.in_(new_ids))).all()
    assert sorted(r.building_area for r in new_rooms) == [Decimal("40.00"), Decimal("60.00")]

    # The owner's household is on both new rooms from the day; the tenancy ended with the room.
    assert desk.rooms_seen(owner) == new_ids
    assert desk.rooms_seen(desk.tenant(SPOUSE)) == new_ids
    assert desk.rooms_seen(desk.tenant(RENTER)) == set()
    for new_id in new_ids:
        history = desk.relations(new_id, on=day.isoformat())
        kinds = sorted((r["relation"], r["household_label"]) for r in history["relations"])
        assert kinds == [("owner", ""), ("resident", "配偶")]
    old_rows = db_session.scalars(select(CustomerRoom).where(CustomerRoom.room_id == room.id)).all()
    assert {row.end_date for row in old_rows} == {day - timedelta(days=1)}

    # The old room's orders still point at it; no new order for it, from the desk or a tenant.
    assert db_session.get(Order, before).room_id == room.id
    assert before in desk.orders_seen(owner)
    r = desk.client.post(
        "/api/v1/tenant/orders",
        json={"subtype_id": desk.world.subtype.id, "room_id": room.id, "description": "x"},
        headers=owner,
    )
    assert r.status_code == 422 and "room_id" in r.json["errors"]
    # Staff filing (the technicians' app; the console's form uses the same use case).
    r = desk.client.post(
        "/api/v1/tech/orders",
        json={
            "subtype_id": desk.world.subtype.id,
            "room_id": room.id,
            "description": "x",
            "contact_phone": OWNER,
        },
        headers=desk.world.headers(desk.world.techs[0]),
    )
    assert r.status_code == 422 and "room_id" in r.json["errors"], r.json
    desk.file(owner, new_rooms[0])
    assert "room_split" in desk.audit_kinds()
    # Retired: no second split, no move-in, no transfer.
    r = desk.call(
        "POST",
        "/room-splits",
        {"room_id": room.id, "date": day.isoformat(), "rooms": [{"code": "a"}, {"code": "b"}]},
    )
    assert r.status_code == 409
    r = desk.call(
        "POST",
        "/move-ins",
        {"room_id": room.id, "start_date": day.isoformat(), "customer": {"name": "x"}},
    )
    assert r.status_code == 422 and "room_id" in r.json["errors"]


def test_split_areas_must_add_up_and_codes_be_new(desk):
    room = desk.room("5-102", building_area=Decimal("100.00"))
    desk.room("5-102X")
    day = days_ago(1).isoformat()
    for parts, field in (
        ([{"code": "a", "building_area": "60"}, {"code": "b", "building_area": "30"}], "rooms"),
        ([{"code": "a", "building_area": "60"}, {"code": "b"}], "rooms"),
        ([{"code": "a"}, {"code": "a"}], "rooms.1.code"),
        ([{"code": "a"}], "rooms"),
        ([{"code": "a", "building_area": "-1"}, {"code": "b"}], "rooms"),
    ):
        r = desk.call("POST", "/room-splits", {"room_id": room.id, "date": day, "rooms": parts})
        assert r.status_code == 422, r.json
        assert any(k == field or k.startswith(field + ".") for k in r.json["errors"]), r.json
    r = desk.call(
        "POST",
        "/room-splits",
        {"room_id": room.id, "date": day, "rooms": [{"code": "5-102X"}, {"code": "b"}]},
    )
    assert r.status_code == 409 and "rooms.0.code" in r.json["errors"], r.json
    r = desk.call(
        "POST",
        "/room-splits",
        {"room_id": 987654321, "date": day, "rooms": [{"code": "a"}, {"code": "b"}]},
    )
    assert r.status_code == 422 and "room_id" in r.json["errors"]


def test_merge_sums_areas_and_carries_each_customer_once(desk, db_session, make):
    a = desk.room("6-101", building_area=Decimal("50.50"), charge_area=Decimal("48.00"))
    b = desk.room("6-102", building_area=Decimal("49.50"), charge_area=Decimal("47.00"))
    owner = make.customer(desk.org, name="同一业主", phone=OWNER)
    make.contact(owner, phone=OWNER)
    for room in (a, b):
        desk.call(
            "POST",
            "/move-ins",
            {"room_id": room.id, "start_date": days_ago(100).isoformat(), "customer_id": owner.id},
            expect=201,
        )
    desk.move_in(
        b, start=days_ago(90), phone=RENTER, relation="tenant", family=[("孩子", SPOUSE, "子女")]
    )
    day = days_ago(2)
    r = desk.call(
        "POST",
        "/room-merges",
        {"room_ids": [a.id, b.id], "date": day.isoformat(), "room": {"code": "6-101/102"}},
        expect=201,
    )
    edges = r.json["items"]
    assert {e["from_room"]["id"] for e in edges} == {a.id, b.id}
    (new_id,) = {e["to_room"]["id"] for e in edges}
    new = db_session.get(Room, new_id)
    assert new.building_area == Decimal("100.00") and new.charge_area == Decimal("95.00")
    history = desk.relations(new_id, on=day.isoformat())
    relations = [(r["relation"], r["customer"]["name"]) for r in history["relations"]]
    assert relations.count(("owner", "同一业主")) == 1
    assert sorted(r for r, _ in relations) == ["owner", "resident", "tenant"]
    for phone in (OWNER, RENTER, SPOUSE):
        assert desk.rooms_seen(desk.tenant(phone)) == {new_id}
    lineage = db_session.scalars(select(RoomLineage).where(RoomLineage.to_room_id == new_id)).all()
    assert {edge.kind for edge in lineage} == {"merge"}
    assert desk.relations(a.id)["room"]["retired_on"] == day.isoformat()
    assert "room_merged" in desk.audit_kinds()


def test_merge_refuses_other_buildings_retired_rooms_and_one_room(desk, make):
    a = desk.room("7-101")
    other = make.room(make.building(desk.world.building.community, name="9栋"), code="9-101")
    day = days_ago(1).isoformat()
    for body, field in (
        ({"room_ids": [a.id, other.id], "date": day, "room": {"code": "m"}}, "room_ids"),
        ({"room_ids": [a.id, a.id], "date": day, "room": {"code": "m"}}, "room_ids"),
        ({"room_ids": [a.id], "date": day, "room": {"code": "m"}}, "room_ids"),
        ({"room_ids": [a.id, other.id], "date": day}, "room"),
    ):
        r = desk.call("POST", "/room-merges", body)
        assert r.status_code == 422 and field in r.json["errors"], r.json
