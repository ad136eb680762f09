"""收费对象, a customer's rooms together, a room's dated history, the customer-service report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.residency.conftest import days_ago


def test_payer_is_a_related_customer_kept_as_history(desk, make):
    room = desk.room("8-101")
    company = make.customer(desk.org, kind="company", name="大成公司")
    desk.call(
        "POST",
        "/move-ins",
        {"room_id": room.id, "start_date": days_ago(200).isoformat(), "customer_id": company.id},
        expect=201,
    )
    staff = desk.move_in(room, start=days_ago(100), relation="tenant", name="员工甲")
    stranger = make.customer(desk.org, name="路人")

    first = days_ago(150)
    r = desk.call(
        "PUT",
        f"/rooms/{room.id}/payer",
        {"customer_id": company.id, "start_date": first.isoformat()},
        expect=200,
    )
    assert r.json["customer"]["name"] == "大成公司" and r.json["end_date"] is None
    second = days_ago(50)
    desk.call(
        "PUT",
        f"/rooms/{room.id}/payer",
        {"customer_id": staff["customer"]["id"], "start_date": second.isoformat()},
        expect=200,
    )
    for body, field in (
        ({"customer_id": stranger.id, "start_date": second.isoformat()}, "customer_id"),
        # The tenant was not related to the room yet on that day.
        (
            {"customer_id": staff["customer"]["id"], "start_date": days_ago(120).isoformat()},
            "customer_id",
        ),
        ({"customer_id": company.id, "start_date": days_ago(60).isoformat()}, "start_date"),
        ({"customer_id": company.id}, "start_date"),
    ):
        r = desk.call("PUT", f"/rooms/{room.id}/payer", body)
        assert r.status_code == 422 and field in r.json["errors"], r.json

    def payer_on(day):
        payers = desk.relations(room.id, on=day.isoformat())["payers"]
        return [p["customer"]["name"] for p in payers]

    assert payer_on(days_ago(180)) == []
    assert payer_on(first) == ["大成公司"]
    assert payer_on(second - timedelta(days=1)) == ["大成公司"]
    assert payer_on(second) == ["员工甲"]
    history = desk.relations(room.id)["payers"]
    assert [(p["start_date"], p["end_date"]) for p in history] == [
        (first.isoformat(), (second - timedelta(days=1)).isoformat()),
        (second.isoformat(), None),
    ]
    assert "payer_changed" in desk.audit_kinds()
    r = desk.call(
        "PUT",
        "/rooms/987654321/payer",
        {"customer_id": company.id, "start_date": first.isoformat()},
    )
    assert r.status_code == 404


def test_one_owner_many_rooms_with_their_periods(desk, make):
    owner = make.customer(desk.org, name="多房业主", phone="13900000401")
    rooms = [desk.room(f"8-20{i}") for i in range(3)]
    for room in rooms:
        desk.call(
            "POST",
            "/move-ins",
            {"room_id": room.id, "start_date": days_ago(300).isoformat(), "customer_id": owner.id},
            expect=201,
        )
    desk.call(
        "POST",
        f"/rooms/{rooms[2].id}/transfers",
        {"date": days_ago(10).isoformat(), "customer": {"name": "买家"}},
        expect=201,
    )
    r = desk.call("GET", f"/customers/{owner.id}/rooms", expect=200)
    items = r.json["items"]
    assert r.json["customer"]["name"] == "多房业主"
    assert [i["current"] for i in items] == [True, True, False]
    assert items[-1]["room"]["id"] == rooms[2].id
    assert items[-1]["end_date"] == days_ago(11).isoformat()
    assert {i["room"]["id"] for i in items if i["current"]} == {rooms[0].id, rooms[1].id}
    assert desk.call("GET", "/customers/987654321/rooms").status_code == 404


def test_history_arguments_are_checked(desk):
    room = desk.room("8-301")
    r = desk.call("GET", f"/rooms/{room.id}/history", on="2026-13-01")
    assert r.status_code == 422 and "on" in r.json["errors"]
    assert desk.call("GET", "/rooms/987654321/history").status_code == 404


def test_customer_service_report(desk, make):
    community = desk.world.building.community
    vacant = desk.room("9-101")
    sold = desk.room("9-102")
    desk.move_in(sold, start=days_ago(40), name="一号")
    desk.call(
        "POST",
        f"/rooms/{sold.id}/transfers",
        {"date": days_ago(5).isoformat(), "customer": {"name": "二号"}},
        expect=201,
    )
    rented = desk.room("9-103")
    desk.move_in(rented, start=days_ago(5), relation="tenant", name="租客", phone="13900000501")
    make.customer(desk.org, name="无电话客户")

    query = {
        "from": days_ago(60).isoformat(),
        "to": days_ago(0).isoformat(),
        "community_id": community.id,
    }
    r = desk.call("GET", "/reports/customer-service", expect=200, **query)
    answer = r.json
    by_day = {p["period"]: p for p in answer["periods"]}
    assert by_day[days_ago(40).isoformat()]["move_ins"] == 1
    assert by_day[days_ago(5).isoformat()] == {
        "period": days_ago(5).isoformat(),
        "move_ins": 1,
        "transfers": 1,
    }
    (occupancy,) = [o for o in answer["occupancy"] if o["community_id"] == community.id]
    # The world's rooms 101 (owner) and 102 (tenant), and ours: 9-102 owned, 9-103 rented.
    assert occupancy["rooms"] == 5 and occupancy["occupied"] == 4
    assert answer["rooms_without_owner"] >= 2
    without_owner = {r["id"] for r in answer["rooms_without_owner_items"]}
    assert {vacant.id, rented.id} <= without_owner and sold.id not in without_owner
    # 一号 and 二号 were registered without a phone; the community filter finds them.
    names = {c["name"] for c in answer["customers_without_phone_items"]}
    assert {"一号", "二号"} <= names and "无电话客户" not in names

    monthly = desk.call("GET", "/reports/customer-service", expect=200, bucket="month", **query)
    assert sum(p["move_ins"] for p in monthly.json["periods"]) == 2
    assert all(p["period"].endswith("-01") for p in monthly.json["periods"])

    r = desk.call("GET", "/reports/customer-service", format="csv", **query)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["日期", "入伙数", "过户数"]
    assert ["无业主的房间", str(answer["rooms_without_owner"]), "", "", "", ""] in rows

    for bad, field in (
        ({"from": "x", "to": "2026-01-01"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"from": "2026-01-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-01-02", "bucket": "week"}, "bucket"),
    ):
        r = desk.call("GET", "/reports/customer-service", **bad)
        assert r.status_code == 422 and field in r.json["errors"], r.json
