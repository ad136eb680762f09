"""The demo organisation comes with prices, a pay-on-order subtype with specs, and stock."""

from __future__ import annotations

from sqlalchemy import select

from server.demo_data import seed_demo
from server.models import OrderSubtype, Organisation


def _login(client, phone):
    r = client.post(
        "/api/v1/auth/login", json={"phone": phone, "password": "demo1234", "org": "demo"}
    )
    assert r.status_code == 200, r.json
    return {"Authorization": f"Bearer {r.json['access_token']}"}


def test_demo_charges(db_session, client):
    seed_demo(db_session, history=False)
    db_session.commit()
    org = db_session.scalar(select(Organisation).where(Organisation.code == "demo"))
    tech = _login(client, "13900000001")
    held = {
        h["material"]["name"]: h["qty"]
        for h in client.get("/api/v1/tech/stock", headers=tech).json["items"]
    }
    assert held == {"水龙头": 3, "生料带": 10, "LED 灯泡": 5, "门锁锁芯": 1}
    prices = client.get("/api/v1/tech/price-list", headers=tech).json
    assert {x["name"]: x["price_fen"] for x in prices["labor"]} == {
        "一般维修": 5000,
        "上门安装": 8000,
    }
    desk = _login(client, "13900000000")
    items = client.get("/api/v1/admin/labor-items", headers=desk).json["items"]
    assert all(len(item["prices"]) == 2 for item in items)
    report = client.get("/api/v1/admin/stock/report", headers=desk).json["items"]
    tap = next(line for line in report if line["material"]["name"] == "水龙头")
    assert (tap["store_qty"], tap["technician_qty"]) == (35, 15)

    lock = db_session.scalar(
        select(OrderSubtype).where(OrderSubtype.org_id == org.id, OrderSubtype.name == "门锁更换")
    )
    tenant = _login(client, "13800000001")
    specs = client.get(f"/api/v1/catalog/subtypes/{lock.id}/specs", headers=tenant).json
    assert [(s["name"], s["price_fen"]) for s in specs] == [
        ("普通机械锁", 12000),
        ("智能门锁", 38000),
    ]
    rooms = client.get("/api/v1/tenant/rooms", headers=tenant).json["items"]
    r = client.post(
        "/api/v1/tenant/orders",
        json={
            "subtype_id": lock.id,
            "room_id": rooms[0]["room"]["id"],
            "description": "门锁坏了",
            "spec_id": specs[0]["id"],
        },
        headers=tenant,
    )
    assert r.status_code == 201, r.json
    assert r.json["status"] == "awaiting_payment" and r.json["payable_fen"] == 3600
