"""The demo organisation has a booking subtype with open slots from today on."""

from __future__ import annotations

from datetime import timedelta

from server.demo_data import seed_demo
from tests.booking.conftest import local_today


def test_demo_booking_subtype_offers_slots(db_session, client):
    seed_demo(db_session, history=False)
    db_session.commit()
    login = client.post(
        "/api/v1/auth/login", json={"phone": "13800000001", "password": "demo1234", "org": "demo"}
    )
    assert login.status_code == 200, login.json
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    catalog = client.get("/api/v1/catalog/order-types", headers=headers).json
    subtype = next(s for t in catalog["items"] for s in t["subtypes"] if s["name"] == "空调不制冷")
    assert subtype["booking_enabled"] is True
    room = client.get("/api/v1/tenant/rooms", headers=headers).json["items"][0]["room"]
    tomorrow = local_today() + timedelta(days=1)
    slots = client.get(
        f"/api/v1/catalog/subtypes/{subtype['id']}/slots",
        query_string={"date": tomorrow.isoformat(), "room_id": room["id"]},
        headers=headers,
    ).json
    assert [s["start"][11:16] for s in slots][:2] == ["09:00", "10:00"]
    assert len(slots) == 8 and all(s["available"] and s["capacity"] == 3 for s in slots)
    filed = client.post(
        "/api/v1/tenant/orders",
        json={
            "subtype_id": subtype["id"],
            "room_id": room["id"],
            "description": "空调不制冷",
            "slot_start": slots[0]["start"],
        },
        headers=headers,
    )
    assert filed.status_code == 201, filed.json
    assert filed.json["slot_start"] == slots[0]["start"]
