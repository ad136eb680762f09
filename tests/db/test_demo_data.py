"""seed-demo creates the README's demo organisation once, and the demo logins work."""

from __future__ import annotations

from sqlalchemy import func, select

from server.demo_data import seed_demo
from server.models import Contact, Organisation, Room, Staff


def test_seed_is_idempotent_and_complete(db_session, client):
    assert seed_demo(db_session) is True
    assert seed_demo(db_session) is False
    db_session.commit()  # a SAVEPOINT release: the test's outer transaction still rolls back
    org = db_session.scalar(select(Organisation).where(Organisation.code == "demo"))
    assert (
        db_session.scalar(select(func.count()).select_from(Room).where(Room.org_id == org.id)) >= 20
    )
    assert (
        db_session.scalar(select(func.count()).select_from(Staff).where(Staff.org_id == org.id))
        == 6
    )

    login = client.post(
        "/api/v1/auth/login", json={"phone": "13900000001", "password": "demo1234", "org": "demo"}
    )
    assert login.status_code == 200
    assert login.json["user"]["staff"]["grab_cap"] == 3
    dispatcher = client.post(
        "/api/v1/auth/login", json={"phone": "13900000000", "password": "demo1234", "org": "demo"}
    )
    assert {"dispatcher", "admin"} <= set(dispatcher.json["user"]["roles"])

    def rooms(phone):
        r = client.post(
            "/api/v1/auth/login", json={"phone": phone, "password": "demo1234", "org": "demo"}
        )
        headers = {"Authorization": f"Bearer {r.json['access_token']}"}
        return {
            i["room"]["code"]
            for i in client.get("/api/v1/tenant/rooms", headers=headers).json["items"]
        }

    assert rooms("13800000001") == {"1-1-101"}
    assert rooms("13800000002") == {"1-1-102"}
    assert rooms("13800000003") == rooms("13800000001")
    assert rooms("13800000010") == {"3-1001", "3-1002"}
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.org_id == org.id, Contact.phone.like("138000000%"))
        )
        >= 10
    )


def test_demo_pool_has_work(db_session, client):
    seed_demo(db_session)
    db_session.commit()
    login = client.post(
        "/api/v1/auth/login", json={"phone": "13900000002", "password": "demo1234", "org": "demo"}
    )
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    pool = client.get("/api/v1/tech/pool", headers=headers).json
    assert pool["total"] == 3 and (pool["held"], pool["cap"]) == (0, 3)
    assert pool["items"][0]["priority"] == "urgent"
