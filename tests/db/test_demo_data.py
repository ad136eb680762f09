"""seed-demo creates the README's demo organisation once, and the demo logins work."""

from __future__ import annotations

from sqlalchemy import func, select, text

from server.demo_data import CLERK_PHONE, seed_demo
from server.models import Contact, Order, Organisation, Payment, Room, Staff


def test_seed_is_idempotent_and_complete(db_session, client):
    assert seed_demo(db_session, history=False) is True
    assert seed_demo(db_session) is False
    db_session.commit()  # a SAVEPOINT release: the test's outer transaction still rolls back
    org = db_session.scalar(select(Organisation).where(Organisation.code == "demo"))
    assert (
        db_session.scalar(select(func.count()).select_from(Room).where(Room.org_id == org.id)) >= 20
    )
    assert (
        db_session.scalar(select(func.count()).select_from(Staff).where(Staff.org_id == org.id))
        == 7
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
    seed_demo(db_session, history=False)
    db_session.commit()
    login = client.post(
        "/api/v1/auth/login", json={"phone": "13900000002", "password": "demo1234", "org": "demo"}
    )
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    pool = client.get("/api/v1/tech/pool", headers=headers).json
    assert pool["total"] == 3 and (pool["held"], pool["cap"]) == (0, 3)

    assert pool["items"][0]["priority"] == "urgent"


def test_demo_history_gives_the_desk_something_to_show(db_session, client):
    """60 days of work in two communities: closed and rated (some badly), reopened, cancelled,
    paid, still open and overdue; the pool still shows only the three fresh demo orders."""
    seed_demo(db_session)
    db_session.commit()
    org_id = db_session.scalar(select(Organisation.id).where(Organisation.code == "demo"))
    rows = db_session.execute(
        select(Order.status, func.count()).where(Order.org_id == org_id).group_by(Order.status)
    ).all()
    by_status = dict(rows)
    assert sum(by_status.values()) >= 250
    assert by_status["closed"] >= 100 and by_status["completed"] >= 20
    assert by_status["cancelled"] >= 10 and by_status["pending"] == 3
    held = by_status.get("in_progress", 0) + by_status.get("on_hold", 0)
    assert 1 <= held <= 8 + by_status.get("assigned", 0)

    def count(*where):
        return db_session.scalar(
            select(func.count()).select_from(Order).where(Order.org_id == org_id, *where)
        )

    assert count(Order.rating_score <= 2) >= 5
    assert count(Order.reopen_count > 0) >= 1
    assert count(Order.channel == "staff") >= 20
    assert count(Order.created_at < func.now() - text("interval '50 days'")) >= 20
    communities = db_session.scalar(
        select(func.count(func.distinct(Order.community_id))).where(Order.org_id == org_id)
    )
    assert communities == 2
    paid = db_session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.org_id == org_id, Payment.status == "paid")
    )
    assert paid >= 5

    login = client.post(
        "/api/v1/auth/login", json={"phone": "13900000002", "password": "demo1234", "org": "demo"}
    )
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    pool = client.get("/api/v1/tech/pool", headers=headers).json
    assert pool["total"] == 3 and (pool["held"], pool["cap"]) == (0, 3)

    # The desk's view has something to show: urges, visits done and due, complaints, a notice
    # read by some, a survey with answers.
    desk = client.post(
        "/api/v1/auth/login", json={"phone": "13900000000", "password": "demo1234", "org": "demo"}
    )
    desk_headers = {"Authorization": f"Bearer {desk.json['access_token']}"}

    # The clerk's custom role reaches the lake community only, and no money or settings.
    clerk = client.post(
        "/api/v1/auth/login", json={"phone": CLERK_PHONE, "password": "demo1234", "org": "demo"}
    )
    clerk_headers = {"Authorization": f"Bearer {clerk.json['access_token']}"}
    theirs = client.get("/api/v1/admin/orders?page_size=100", headers=clerk_headers).json
    everyone = client.get("/api/v1/admin/orders", headers=desk_headers).json
    assert 0 < theirs["total"] < everyone["total"]
    lake = {o["room"]["community_id"] for o in theirs["items"]}
    assert len(lake) == 1
    assert client.get("/api/v1/admin/payments", headers=clerk_headers).status_code == 403
    roles = client.get("/api/v1/admin/roles", headers=desk_headers).json
    custom = [r for r in roles if not r["preset"]]
    assert [(r["name"], r["holders"], r["community_ids"]) for r in custom] == [
        ("客服专员", 1, sorted(lake))
    ]

    board = client.get("/api/v1/admin/workbench", headers=desk_headers).json
    totals = {q["name"]: q["total"] for q in board["queues"]}
    assert totals["tenant_urged"] == 1 and totals["return_visit_due"] >= 1
    assert totals["unassigned"] == 3 and board["complaints"]["total"] == 1
    done = client.get("/api/v1/admin/return-visits?status=done", headers=desk_headers).json
    assert done["total"] >= 1
    notices = client.get("/api/v1/admin/notices", headers=desk_headers).json["items"]
    assert len(notices) == 1
    assert notices[0]["read"] == 3 and notices[0]["unread"] > 0
    surveys = client.get("/api/v1/admin/surveys", headers=desk_headers).json["items"]
    results = client.get(
        f"/api/v1/admin/surveys/{surveys[0]['id']}/results", headers=desk_headers
    ).json
    assert results["responses"] == 6

    # The desk's view has something to show: urges, visits done and due, complaints, a notice
    # read by some, a survey with answers.
    desk = client.post(
        "/api/v1/auth/login", json={"phone": "13900000000", "password": "demo1234", "org": "demo"}
    )
    desk_headers = {"Authorization": f"Bearer {desk.json['access_token']}"}

    # The clerk's custom role reaches the lake community only, and no money or settings.
    clerk = client.post(
        "/api/v1/auth/login", json={"phone": CLERK_PHONE, "password": "demo1234", "org": "demo"}
    )
    clerk_headers = {"Authorization": f"Bearer {clerk.json['access_token']}"}
    theirs = client.get("/api/v1/admin/orders?page_size=100", headers=clerk_headers).json
    everyone = client.get("/api/v1/admin/orders", headers=desk_headers).json
    assert 0 < theirs["total"] < everyone["total"]
    lake = {o["room"]["community_id"] for o in theirs["items"]}
    assert len(lake) == 1
    assert client.get("/api/v1/admin/payments", headers=clerk_headers).status_code == 403
    roles = client.get("/api/v1/admin/roles", headers=desk_headers).json
    custom = [r for r in roles if not r["preset"]]
    assert [(r["name"], r["holders"], r["community_ids"]) for r in custom] == [
        ("客服专员", 1, sorted(lake))
    ]

    board = client.get("/api/v1/admin/workbench", headers=desk_headers).json
    totals = {q["name"]: q["total"] for q in board["queues"]}
    assert totals["tenant_urged"] == 1 and totals["return_visit_due"] >= 1
    assert totals["unassigned"] == 3 and board["complaints"]["total"] == 1
    done = client.get("/api/v1/admin/return-visits?status=done", headers=desk_headers).json
    assert done["total"] >= 1
    notices = client.get("/api/v1/admin/notices", headers=desk_headers).json["items"]
    assert len(notices) == 1
    assert notices[0]["read"] == 3 and notices[0]["unread"] > 0
    surveys = client.get("/api/v1/admin/surveys", headers=desk_headers).json["items"]
    results = client.get(
        f"/api/v1/admin/surveys/{surveys[0]['id']}/results", headers=desk_headers
    ).json
    assert results["responses"] == 6
