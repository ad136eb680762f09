"""Run by tests/deploy/test_expand_contract.py with the PREVIOUS release's code on sys.path:
its app against a database already migrated by THIS release. Prints one JSON line."""

from __future__ import annotations

import json
import secrets
import sys


def main(database_url: str, redis_url: str) -> None:
    from server.app import create_app
    from server.config import Settings
    from server.demo_data import seed_demo

    settings = Settings.from_env(
        {
            "BAOXIU_ENV": "dev",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "warning",
        }
    )
    app = create_app(settings)
    seen: dict[str, object] = {}
    with app.extensions["baoxiu"].db.transaction() as unit:
        seen["seeded"] = seed_demo(unit.session, history=False)
    client = app.test_client()

    def login(phone: str) -> dict[str, str]:
        r = client.post(
            "/api/v1/auth/login", json={"phone": phone, "password": "demo1234", "org": "demo"}
        )
        seen[f"login {phone}"] = r.status_code
        return {"Authorization": f"Bearer {r.json['access_token']}"} if r.status_code == 200 else {}

    resident, desk, tech = login("13800000001"), login("13900000000"), login("13900000001")
    rooms = client.get("/api/v1/tenant/rooms", headers=resident).json
    room_id = rooms["items"][0]["room"]["id"]
    types = client.get("/api/v1/catalog/order-types", headers=resident).json["items"]
    subtype_id = next(
        s["id"]
        for t in types
        for s in t["subtypes"]
        if s["fee_mode"] == "none" and not s["booking_enabled"]
    )
    filed = client.post(
        "/api/v1/tenant/orders",
        json={"subtype_id": subtype_id, "room_id": room_id, "description": "旧版本报修"},
        headers=resident,
    )
    seen["file"] = filed.status_code
    order_id = filed.json["id"]
    me = client.get("/api/v1/me", headers=tech).json
    seen["assign"] = client.post(
        f"/api/v1/admin/orders/{order_id}/assign",
        json={"staff_id": me["staff"]["id"]},
        headers=desk,
    ).status_code
    seen["accept"] = client.post(f"/api/v1/tech/orders/{order_id}/accept", headers=tech).status_code
    seen["complete"] = client.post(
        f"/api/v1/tech/orders/{order_id}/complete", json={"result": "已修好"}, headers=tech
    ).status_code
    seen["rate"] = client.post(
        f"/api/v1/tenant/orders/{order_id}/rating", json={"score": 5}, headers=resident
    ).status_code
    seen["desk list"] = client.get("/api/v1/admin/orders", headers=desk).status_code
    seen["customers"] = client.post(
        "/api/v1/admin/customers",
        json={"kind": "person", "name": "旧版本客户", "phone": "13700000001"},
        headers=desk,
    ).status_code
    seen["workbench"] = client.get("/api/v1/admin/workbench", headers=desk).status_code
    import server

    seen["code"] = server.__file__
    sys.stdout.write(json.dumps(seen, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
