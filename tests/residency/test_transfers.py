"""房屋过户: the old owner's household ends the day before, the new owner starts on the day;
orders and what is owed stay with who filed them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.models import CustomerRoom, Order, RoomTransfer
from tests.residency.conftest import days_ago

OLD, OLD_SPOUSE, NEW, RENTER = "13900000201", "13900000202", "13900000203", "13900000204"


def test_transfer_moves_the_room_and_leaves_orders_and_debts_with_who_filed(desk, db_session):
    room = desk.room("3-2001")
    old_head = desk.move_in(
        room,
        start=days_ago(300),
        phone=OLD,
        name="原业主",
        family=[("原业主妻", OLD_SPOUSE, "配偶")],
    )
    old, spouse = desk.tenant(OLD), desk.tenant(OLD_SPOUSE)
    # An order awaiting the old owner's payment, filed before the transfer.
    unpaid = desk.file(old, room, subtype=desk.world.paid_subtype)
    desk.filed_on(unpaid, days_ago(40))
    assert db_session.get(Order, unpaid).payment_status != "paid"
    day = days_ago(10)

    r = desk.call(
        "POST",
        f"/rooms/{room.id}/transfers",
        {"date": day.isoformat(), "customer": {"name": "新业主", "phone": NEW}},
        expect=201,
    )
    assert r.json["from_customer"]["name"] == "原业主"
    assert r.json["to_customer"]["name"] == "新业主"
    assert r.json["effective_on"] == day.isoformat()
    new = desk.tenant(NEW)

    rows = db_session.scalars(
        select(CustomerRoom).where(CustomerRoom.room_id == room.id).order_by(CustomerRoom.id)
    ).all()
    ends = {(row.relation, row.household_id is None): row.end_date for row in rows}
    assert ends[("owner", True)] in (day - timedelta(days=1), None)
    old_row = next(row for row in rows if row.id == old_head["customer_room_id"])
    assert old_row.end_date == day - timedelta(days=1)
    member = next(row for row in rows if row.household_id == old_row.id)
    assert member.end_date == day - timedelta(days=1)
    new_row = next(row for row in rows if row.start_date == day)
    assert new_row.relation == "owner" and new_row.end_date is None

    # Rooms: the new owner's now; the old household's no longer.
    assert desk.rooms_seen(new) == {room.id}
    assert desk.rooms_seen(old) == set() and desk.rooms_seen(spouse) == set()
    # The old owner still sees (and owes) the order they filed; the new owner never sees it.
    assert desk.orders_seen(old) == {unpaid}
    assert unpaid in desk.orders_seen(old, box="todo")
    assert desk.orders_seen(new) == set()
    assert desk.orders_seen(spouse) == set()
    order = db_session.get(Order, unpaid)
    assert order.reporter_user_id is not None and order.room_id == room.id
    # An order the new owner files is theirs and not the old household's.
    mine = desk.file(new, room)
    assert desk.orders_seen(new) == {mine} and mine not in desk.orders_seen(old)

    # The history answers "who owned it on that day" with one name.
    def owners_on(day_):
        history = desk.relations(room.id, on=day_.isoformat())
        return [r["customer"]["name"] for r in history["relations"] if r["relation"] == "owner"]

    assert owners_on(day - timedelta(days=1)) == ["原业主"]
    assert owners_on(day) == ["新业主"]
    full = desk.relations(room.id)
    assert [t["to_customer"]["name"] for t in full["transfers"]] == ["新业主"]
    assert db_session.scalars(select(RoomTransfer).where(RoomTransfer.room_id == room.id)).one()
    assert "room_transferred" in desk.audit_kinds()


def test_a_second_transfer_on_the_same_day_and_bad_dates_are_refused(desk, make):
    room = desk.room("3-2002")
    first = desk.move_in(room, start=days_ago(50), phone=OLD)
    buyer = make.customer(desk.org, name="买家")
    day = days_ago(5).isoformat()
    desk.call(
        "POST", f"/rooms/{room.id}/transfers", {"date": day, "customer_id": buyer.id}, expect=201
    )
    r = desk.call(
        "POST", f"/rooms/{room.id}/transfers", {"date": day, "customer": {"name": "又一个"}}
    )
    assert r.status_code == 409 and "date" in r.json["errors"]
    # Before the current owner's start.
    r = desk.call(
        "POST",
        f"/rooms/{room.id}/transfers",
        {"date": days_ago(60).isoformat(), "customer": {"name": "更早"}},
    )
    assert r.status_code == 409 and "date" in r.json["errors"]
    del first
    for body, field in (
        ({"customer": {"name": "x"}}, "date"),
        ({"date": day}, "customer"),
        ({"date": day, "customer_id": 987654321}, "customer_id"),
        ({"date": day, "customer_id": buyer.id, "keep_tenants": "maybe"}, "keep_tenants"),
    ):
        r = desk.call("POST", f"/rooms/{room.id}/transfers", body)
        assert r.status_code == 422 and field in r.json["errors"], r.json
    r = desk.call("POST", "/rooms/987654321/transfers", {"date": day, "customer_id": buyer.id})
    assert r.status_code == 404


def test_tenants_are_kept_or_ended_with_the_transfer(desk):
    for keep, code in ((True, "3-2003"), (False, "3-2004")):
        room = desk.room(code)
        desk.move_in(room, start=days_ago(100), phone=None, name="业主")
        phone = RENTER[:-1] + ("5" if keep else "6")
        desk.move_in(room, start=days_ago(90), phone=phone, relation="tenant", name="租户")
        desk.call(
            "POST",
            f"/rooms/{room.id}/transfers",
            {"date": days_ago(3).isoformat(), "customer": {"name": "新"}, "keep_tenants": keep},
            expect=201,
        )
        assert desk.rooms_seen(desk.tenant(phone)) == ({room.id} if keep else set())
