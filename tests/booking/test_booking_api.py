"""Booking slots through the real HTTP API: listing, filing, cancel, reschedule, the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

import server.app
from server.booking.holds import expire_unpaid_holds
from server.kernel.roles import Role
from server.models import Order
from server.web import context
from tests.booking.conftest import local_today, slot_at

TENANT = "/api/v1/tenant/orders"
ADMIN = "/api/v1/admin"


def used(db_session, booking, start):
    return db_session.execute(
        text("SELECT used FROM slot_counters WHERE subtype_id = :s AND slot_start = :t"),
        {"s": booking.subtype.id, "t": datetime.fromisoformat(start)},
    ).scalar()


# -- listing ----------------------------------------------------------------------------


def test_slots_of_a_day_in_local_time_with_capacity_and_remaining(booking):
    slots = booking.slots()
    assert [s["start"][11:16] for s in slots] == ["09:00", "10:00", "11:00", "13:30", "14:30"]
    first = slots[0]
    assert first["start"] == slot_at(booking.day, 9)
    assert first["end"] == slot_at(booking.day, 10)
    assert first["start"].endswith("+08:00")
    assert (first["capacity"], first["remaining"], first["available"]) == (2, 2, True)
    assert first["reason"] is None


def test_the_desk_sees_its_reserve_tenants_do_not(booking):
    desk = booking.slots(who=booking.admin)[0]
    assert (desk["capacity"], desk["remaining"]) == (3, 3)


def test_past_slots_are_greyed_out(booking):
    yesterday = local_today() - timedelta(days=1)
    slots = booking.slots(day=yesterday)
    assert slots and {(s["available"], s["reason"]) for s in slots} == {(False, "past")}


def test_slots_closing_within_the_lead_time_and_beyond_the_horizon(booking):
    booking.configure(lead_minutes=7 * 24 * 60)
    assert {s["reason"] for s in booking.slots()} == {"too_soon"}
    booking.configure(days_ahead=1)
    assert {s["reason"] for s in booking.slots()} == {"too_far"}


class _PinnedClock(datetime):
    """Stands in for `datetime` where a request takes its instant (`g.now`): `moment`."""

    moment = datetime.now(UTC)

    @classmethod
    def now(cls, tz=None):
        return cls.moment


def test_the_lead_time_boundary_instant_is_too_soon(booking, monkeypatch):
    """A slot starting exactly at now + lead time can no longer be picked; a second earlier it
    could (server.booking.rules: closed when `start - lead <= now`)."""
    start = slot_at(booking.day, 10)
    # Whole minutes of lead putting the boundary a minute or two from now (tokens stay valid).
    lead = int((datetime.fromisoformat(start) - datetime.now(UTC)).total_seconds() // 60) - 1
    booking.configure(lead_minutes=lead)
    boundary = datetime.fromisoformat(start) - timedelta(minutes=lead)
    for module in (server.app, context):
        monkeypatch.setattr(module, "datetime", _PinnedClock)

    def at(moment):
        _PinnedClock.moment = moment.astimezone(UTC)
        listed = {s["start"]: (s["available"], s["reason"]) for s in booking.slots()}
        return listed[start]

    assert at(boundary - timedelta(seconds=1)) == (True, None)
    assert booking.file(start)["slot_start"] == start
    assert at(boundary) == (False, "too_soon")
    assert booking.file(start, expect=409)["error"] == "slot_unavailable"
    assert at(boundary + timedelta(seconds=1)) == (False, "too_soon")
    assert booking.file(start, expect=409)["error"] == "slot_unavailable"


def test_a_full_slot_is_greyed_out_and_cannot_be_picked(booking):
    start = slot_at(booking.day, 10)
    booking.file(start)
    booking.file(start)
    slot = next(s for s in booking.slots() if s["start"] == start)
    assert (slot["remaining"], slot["available"], slot["reason"]) == (0, False, "full")
    refused = booking.file(start, expect=409)
    assert refused["error"] == "slot_full"


def test_closed_dates_and_slots_and_quota_exceptions(booking, client, world):
    headers = world.headers(booking.admin)
    path = f"{ADMIN}/booking/subtypes/{booking.subtype.id}/exceptions"
    r = client.post(
        path,
        json={"date": booking.day.isoformat(), "slot_time": "10:00", "quota": 5},
        headers=headers,
    )
    assert r.status_code == 201, r.json
    r = client.post(
        path,
        json={"date": booking.day.isoformat(), "slot_time": "11:00", "closed": True},
        headers=headers,
    )
    assert r.status_code == 201, r.json
    by_time = {s["start"][11:16]: s for s in booking.slots()}
    assert by_time["10:00"]["capacity"] == 5
    assert (by_time["11:00"]["available"], by_time["11:00"]["reason"]) == (False, "closed")
    assert booking.file(slot_at(booking.day, 11), expect=409)["error"] == "slot_unavailable"

    holiday = client.post(
        path,
        json={"date": booking.day.isoformat(), "closed": True, "note": "元旦"},
        headers=headers,
    )
    assert holiday.status_code == 201
    assert {s["reason"] for s in booking.slots()} == {"closed"}
    listed = client.get(path, headers=headers).json["items"]
    assert [(e["slot_time"], e["closed"]) for e in listed] == [
        (None, True),
        ("10:00", False),
        ("11:00", True),
    ]
    assert (
        client.delete(
            f"{ADMIN}/booking/exceptions/{holiday.json['id']}", headers=headers
        ).status_code
        == 204
    )
    assert booking.slots()[0]["available"] is True


def test_a_community_quota_overrides_the_subtypes(booking, world):
    community_id = world.room.community_id
    booking.configure(community_quotas=[{"community_id": community_id, "quota": 4}])
    assert booking.slots()[0]["capacity"] == 4


def test_booking_off_lists_nothing_and_filing_needs_no_slot(booking, world):
    booking.configure(enabled=False)
    assert booking.slots() == []
    assert booking.file(slot_at(booking.day, 9), expect=422)["errors"] == {
        "slot_start": ["该项目无需预约时段"]
    }
    assert booking.file(None)["slot_start"] is None


# -- filing ------------------------------------------------------------------------------


def test_filing_a_booking_subtype_needs_a_slot(booking):
    refused = booking.file(None, expect=422)
    assert refused["error"] == "validation_error" and "slot_start" in refused["errors"]


def test_filing_takes_a_place_and_the_order_shows_its_window(booking, db_session):
    start = slot_at(booking.day, 9)
    filed = booking.file(start)
    assert filed["slot_start"] == start
    assert filed["slot_end"] == slot_at(booking.day, 10)
    assert used(db_session, booking, start) == 1
    assert booking.slots()[0]["remaining"] == 1


def test_past_and_off_grid_slots_are_unavailable(booking):
    yesterday = local_today() - timedelta(days=1)
    assert booking.file(slot_at(yesterday, 9), expect=409)["error"] == "slot_unavailable"
    assert booking.file(slot_at(booking.day, 9, 30), expect=409)["error"] == "slot_unavailable"
    assert booking.file(slot_at(booking.day, 12), expect=409)["error"] == "slot_unavailable"
    naive = booking.file("2026-12-01T09:00:00", expect=422)
    assert "slot_start" in naive["errors"]


def test_the_desk_may_file_into_the_reserve(booking, client, world, make):
    desk = make.staff(world.org, roles=(Role.DISPATCHER,))
    start = slot_at(booking.day, 9)
    booking.file(start)
    booking.file(start)
    body = {
        "subtype_id": booking.subtype.id,
        "room_id": world.room.id,
        "description": "紧急：冰箱漏电",
        "contact_phone": "13800000001",
        "slot_start": start,
        "priority": "urgent",
    }
    r = client.post("/api/v1/tech/orders", json=body, headers=world.headers(desk))
    assert r.status_code == 201, r.json
    again = client.post("/api/v1/tech/orders", json=body, headers=world.headers(desk))
    assert again.status_code == 409 and again.json["error"] == "slot_full"


# -- cancel, reject, reschedule ------------------------------------------------------------


def test_cancel_frees_the_place(booking, client, world, db_session):
    start = slot_at(booking.day, 9)
    first = booking.file(start)
    booking.file(start)
    r = client.post(
        f"{TENANT}/{first['id']}/cancel",
        json={"reason": "不用修了"},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 200, r.json
    assert used(db_session, booking, start) == 1
    booking.file(start)  # the freed place can be taken again


def test_desk_cancel_frees_the_place(booking, client, world, db_session):
    start = slot_at(booking.day, 9)
    filed = booking.file(start)
    r = client.post(
        f"{ADMIN}/orders/{filed['id']}/cancel",
        json={"reason": "重复报修"},
        headers=world.headers(booking.admin),
    )
    assert r.status_code == 200, r.json
    assert used(db_session, booking, start) == 0


def test_reject_keeps_the_place(booking, client, world, db_session):
    start = slot_at(booking.day, 9)
    filed = booking.file(start)
    tech = world.techs[0]
    assign = client.post(
        f"{ADMIN}/orders/{filed['id']}/assign",
        json={"staff_id": tech.id},
        headers=world.headers(booking.admin),
    )
    assert assign.status_code == 200, assign.json
    reject = client.post(
        f"/api/v1/tech/orders/{filed['id']}/reject",
        json={"reason": "不在附近"},
        headers=world.headers(tech),
    )
    assert reject.status_code == 200, reject.json
    assert reject.json["slot_start"] == start
    assert used(db_session, booking, start) == 1


def test_reschedule_moves_the_place_and_records_it(booking, client, world, db_session):
    old, new = slot_at(booking.day, 9), slot_at(booking.day, 14, 30)
    filed = booking.file(old)
    r = client.post(
        f"{TENANT}/{filed['id']}/reschedule",
        json={"slot_start": new},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 200, r.json
    assert (r.json["slot_start"], r.json["slot_end"]) == (new, slot_at(booking.day, 15, 30))
    assert (used(db_session, booking, old), used(db_session, booking, new)) == (0, 1)
    event = r.json["timeline"][-1]
    assert event["action"] == "reschedule" and event["to_status"] == "pending"


def test_reschedule_into_a_full_slot_keeps_the_old_place(booking, client, world, db_session):
    old, full = slot_at(booking.day, 9), slot_at(booking.day, 10)
    filed = booking.file(old)
    booking.file(full)
    booking.file(full)
    r = client.post(
        f"{TENANT}/{filed['id']}/reschedule",
        json={"slot_start": full},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 409 and r.json["error"] == "slot_full"
    order = db_session.get(Order, filed["id"])
    db_session.refresh(order)
    assert order.slot_start == datetime.fromisoformat(old)
    assert (used(db_session, booking, old), used(db_session, booking, full)) == (1, 2)


def test_tenant_may_not_reschedule_once_work_started_the_desk_may(booking, client, world):
    filed = booking.file(slot_at(booking.day, 9))
    tech = world.techs[0]
    grab = client.post(f"/api/v1/tech/orders/{filed['id']}/grab", headers=world.headers(tech))
    assert grab.status_code == 200, grab.json
    body = {"slot_start": slot_at(booking.day, 10)}
    r = client.post(
        f"{TENANT}/{filed['id']}/reschedule", json=body, headers=world.headers(world.tenant)
    )
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"
    r = client.post(
        f"{ADMIN}/orders/{filed['id']}/reschedule",
        json=body,
        headers=world.headers(booking.admin),
    )
    assert r.status_code == 200, r.json
    assert r.json["slot_start"] == body["slot_start"] and r.json["status"] == "in_progress"


def test_another_tenant_cannot_reschedule_my_order(booking, client, world):
    filed = booking.file(slot_at(booking.day, 9))
    r = client.post(
        f"{TENANT}/{filed['id']}/reschedule",
        json={"slot_start": slot_at(booking.day, 10)},
        headers=world.headers(world.neighbour),
    )
    assert r.status_code == 404


# -- the hold on a pay-on-order booking -------------------------------------------------------


def test_an_unpaid_hold_expires_frees_its_slot_and_says_why(booking, world, db_session):
    start = slot_at(booking.day, 9)
    filed = booking.file(start, subtype_id=booking.paid.id)
    assert filed["status"] == "awaiting_payment"
    params = {"s": booking.paid.id, "t": datetime.fromisoformat(start)}
    count = "SELECT used FROM slot_counters WHERE subtype_id = :s AND slot_start = :t"
    assert db_session.execute(text(count), params).scalar() == 1

    now = datetime.now(UTC)
    assert expire_unpaid_holds(db_session, now=now + timedelta(minutes=14)) == 0
    assert expire_unpaid_holds(db_session, now=now + timedelta(minutes=16)) == 1
    assert expire_unpaid_holds(db_session, now=now + timedelta(minutes=17)) == 0  # idempotent
    order = db_session.get(Order, filed["id"])
    db_session.refresh(order)
    assert order.status == "cancelled"
    assert db_session.execute(text(count), params).scalar() == 0
    reason = db_session.execute(
        text("SELECT reason FROM order_events WHERE order_id = :o AND action = 'hold_expired'"),
        {"o": filed["id"]},
    ).scalar()
    assert "超时未支付" in reason


# -- technicians and the console ------------------------------------------------------------


def test_the_pool_sorts_by_appointment(booking, client, world):
    late = booking.file(slot_at(booking.day, 14, 30))
    early = booking.file(slot_at(booking.day, 9))
    plain = world.file(client)
    r = client.get(
        "/api/v1/tech/pool",
        query_string={"sort": "appointment"},
        headers=world.headers(world.techs[0]),
    )
    assert r.status_code == 200, r.json
    ids = [o["id"] for o in r.json["items"]]
    assert ids == [early["id"], late["id"], plain["id"]]
    assert r.json["items"][0]["slot_start"] == slot_at(booking.day, 9)


def test_occupancy_per_community_and_slot_with_its_orders(booking, client, world):
    first = booking.file(slot_at(booking.day, 9))
    second = booking.file(slot_at(booking.day, 9))
    client.post(
        f"{TENANT}/{second['id']}/cancel",
        json={"reason": "x"},
        headers=world.headers(world.tenant),
    )
    r = client.get(
        f"{ADMIN}/booking/occupancy",
        query_string={"subtype_id": booking.subtype.id, "date": booking.day.isoformat()},
        headers=world.headers(booking.admin),
    )
    assert r.status_code == 200, r.json
    (community,) = r.json["items"]
    assert community["community_id"] == world.room.community_id
    nine = community["slots"][0]
    assert (nine["quota"], nine["capacity"], nine["used"]) == (2, 3, 1)
    assert [o["id"] for o in nine["orders"]] == [first["id"]]


# -- the console's settings -------------------------------------------------------------------


def test_settings_round_trip_and_default(booking, client, world, make):
    other = make.subtype(world.order_type, name="门窗维修")
    r = client.get(
        f"{ADMIN}/booking/subtypes/{other.id}/settings", headers=world.headers(booking.admin)
    )
    assert r.status_code == 200 and r.json["customised"] is False and r.json["enabled"] is False
    saved = booking.configure(
        other.id, slot_minutes=120, windows=[{"start": "08:00", "end": "24:00"}]
    )
    assert saved["customised"] is True and saved["enabled"] is True
    assert saved["windows"] == [{"start": "08:00", "end": "24:00"}]
    catalog = client.get("/api/v1/catalog/order-types", headers=world.headers(world.tenant)).json
    subtypes = {s["id"]: s for t in catalog["items"] for s in t["subtypes"]}
    assert subtypes[other.id]["booking_enabled"] is True


def test_bad_settings_are_refused_in_chinese(booking):
    overlap = booking.configure(
        expect=422,
        windows=[{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}],
    )
    assert overlap["errors"] == {"windows": ["时间段不能重叠"]}
    uneven = booking.configure(
        expect=422, slot_minutes=120, windows=[{"start": "09:00", "end": "12:00"}]
    )
    assert "整数倍" in uneven["errors"]["windows"][0]
    assert "quota" in booking.configure(expect=422, quota=10**9)["errors"]
    bad_time = booking.configure(expect=422, windows=[{"start": "25:00", "end": "26:00"}])
    assert bad_time["errors"] == {
        "windows.0.start": ["时间格式应为 HH:MM"],
        "windows.0.end": ["时间格式应为 HH:MM"],
    }
    assert "weekdays.0" in booking.configure(expect=422, weekdays=[0])["errors"]
    assert (
        "community_quotas"
        in booking.configure(expect=422, community_quotas=[{"community_id": 10**12, "quota": 1}])[
            "errors"
        ]
    )


def test_only_admins_change_settings(booking, client, world):
    r = client.put(
        f"{ADMIN}/booking/subtypes/{booking.subtype.id}/settings",
        json={"enabled": False},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 403


def test_listing_dates_out_of_range_are_refused(booking, client, world):
    r = client.get(
        f"/api/v1/catalog/subtypes/{booking.subtype.id}/slots",
        query_string={"date": "2999-01-01"},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 422 and "date" in r.json["errors"]


def test_a_grid_change_that_leaves_open_bookings_behind_is_refused(booking, client, world):
    # Probe: 3 orders booked 10:00–11:00, then the admin saved slot_minutes 180 (one slot
    # 09:00–12:00): the 3 orders vanished from the occupancy view and the new slot took
    # 3 more (6 visits in a window of 3 places).
    start = slot_at(booking.day, 10)
    booking.file(start)
    booking.file(start)
    windows = [{"start": "09:00", "end": "12:00"}]
    for change in (
        {"slot_minutes": 180, "windows": windows},  # 10:00 no longer starts a slot
        {"slot_minutes": 30},  # 10:00 starts a slot, but a shorter one
        {"weekdays": [d for d in range(1, 8) if d != booking.day.isoweekday()]},
        {"windows": [{"start": "13:30", "end": "15:30"}]},
    ):
        refused = booking.configure(expect=409, **change)
        assert refused["error"] == "conflict" and "2 个未来的预约" in refused["message"]
    # Nothing was saved: the grid, its places and the console's view are unchanged.
    slot = next(s for s in booking.slots() if s["start"] == start)
    assert (slot["capacity"], slot["remaining"]) == (2, 0)
    r = client.get(
        f"{ADMIN}/booking/occupancy",
        query_string={"subtype_id": booking.subtype.id, "date": booking.day.isoformat()},
        headers=world.headers(booking.admin),
    )
    [community] = r.json["items"]
    [ten] = [s for s in community["slots"] if s["start"] == start]
    assert ten["used"] == 2 and len(ten["orders"]) == 2
    # Changes that keep every booking on the grid still save, and so does any change once
    # the bookings are cancelled.
    booking.configure(quota=5, windows=[{"start": "08:00", "end": "12:00"}])
    for order in ten["orders"]:
        cancelled = client.post(
            f"{TENANT}/{order['id']}/cancel",
            json={"reason": "改时间"},
            headers=world.headers(world.tenant),
        )
        assert cancelled.status_code == 200, cancelled.json
    booking.configure(slot_minutes=180, windows=windows)


def test_an_unpaid_order_without_a_booking_is_withdrawn_after_a_day(world, client, db_session):
    filed = world.file(client, subtype_id=world.paid_subtype.id)
    assert filed["status"] == "awaiting_payment" and filed["slot_start"] is None
    now = datetime.now(UTC)
    order = db_session.get(Order, filed["id"])

    expire_unpaid_holds(db_session, now=now + timedelta(hours=23))
    db_session.refresh(order)
    assert order.status == "awaiting_payment"  # a day to pay, booking or not

    expire_unpaid_holds(db_session, now=now + timedelta(hours=25))
    db_session.refresh(order)
    assert order.status == "cancelled"
    reason = db_session.execute(
        text("SELECT reason FROM order_events WHERE order_id = :o AND action = 'hold_expired'"),
        {"o": filed["id"]},
    ).scalar()
    assert "24 小时未支付" in reason
