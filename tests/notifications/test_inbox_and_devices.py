"""Devices, the inbox, preferences, and who hears of what (messages, ratings, rejections)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.kernel.clock import LOCAL_TZ
from server.notifications.models import Device, Notification
from tests.notifications.conftest import deliver_all

ME = "/api/v1/me"
TECH = "/api/v1/tech/orders"
TENANT = "/api/v1/tenant/orders"
ADMIN = "/api/v1/admin/orders"


def _kinds(db_session, user_id):
    return [
        n.kind
        for n in db_session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
    ]


def test_a_token_belongs_to_whoever_registered_it_last(client, town, db_session):
    token = town.phones[town.techs[0].id]
    r = client.post(
        f"{ME}/devices",
        json={"platform": "android", "token": token},
        headers=town.headers(town.techs[1]),
    )
    assert r.status_code == 201 and r.json["token_tail"] == token[-6:] and "token" not in r.json
    [device] = db_session.scalars(select(Device).where(Device.token == token)).all()
    assert device.user_id == town.techs[1].user_id

    bad = client.post(
        f"{ME}/devices",
        json={"platform": "symbian", "token": "x"},
        headers=town.headers(town.tenant),
    )
    assert bad.status_code == 422 and bad.json["error"] == "validation_error"
    empty = client.post(
        f"{ME}/devices", json={"platform": "ios", "token": ""}, headers=town.headers(town.tenant)
    )
    assert empty.status_code == 422

    r = client.post(
        f"{ME}/devices/unregister", json={"token": token}, headers=town.headers(town.techs[1])
    )
    assert r.status_code == 204
    assert db_session.scalar(select(Device).where(Device.token == token)) is None


def test_logging_out_everywhere_silences_every_device(client, town, db_session):
    tech = town.techs[2]
    headers = town.headers(tech)
    client.post(f"{ME}/devices", json={"platform": "ios", "token": "tablet-xyz"}, headers=headers)
    assert len(db_session.scalars(select(Device).where(Device.user_id == tech.user_id)).all()) == 2
    assert client.post("/api/v1/auth/logout-all", headers=headers).status_code == 204
    assert db_session.scalars(select(Device).where(Device.user_id == tech.user_id)).all() == []


def test_the_inbox_counts_reads_and_stays_private(client, town, db_session):
    tenant = town.headers(town.tenant)
    first, second = town.file(client), town.file(client)
    for order, tech in ((first, town.techs[0]), (second, town.techs[1])):
        assert (
            client.post(f"{TECH}/{order['id']}/grab", headers=town.headers(tech)).status_code == 200
        )
    inbox = client.get(f"{ME}/notifications", headers=tenant).json
    assert inbox["unread"] == 2 and inbox["total"] == 2
    assert [i["order_id"] for i in inbox["items"]] == [second["id"], first["id"]]  # newest first
    newest = inbox["items"][0]
    assert newest["title"] == "报修已受理" and second["number"] in newest["body"]

    read = client.post(f"{ME}/notifications/{newest['id']}/read", headers=tenant)
    assert read.status_code == 200 and read.json["read_at"] is not None
    again = client.post(f"{ME}/notifications/{newest['id']}/read", headers=tenant)
    assert again.json["read_at"] == read.json["read_at"]
    unread = client.get(f"{ME}/notifications", query_string={"unread": "true"}, headers=tenant).json
    assert unread["unread"] == 1 and [i["id"] for i in unread["items"]] == [inbox["items"][1]["id"]]

    # Someone else's notification does not exist for me.
    other = client.post(
        f"{ME}/notifications/{newest['id']}/read", headers=town.headers(town.neighbour)
    )
    assert other.status_code == 404
    assert client.post(f"{ME}/notifications/read-all", headers=tenant).json == {"updated": 1}
    assert client.get(f"{ME}/notifications", headers=tenant).json["unread"] == 0


def test_quiet_hours_hold_pushes_but_not_urgent_ones(client, town, fcm, db_session):
    tech = town.techs[0]
    headers = town.headers(tech)
    now = datetime.now(UTC).astimezone(LOCAL_TZ)
    start = (now - timedelta(hours=1)).time().replace(microsecond=0)
    end = (now + timedelta(hours=1)).time().replace(microsecond=0)
    r = client.put(
        f"{ME}/notification-preferences",
        json={"quiet_start": start.isoformat(), "quiet_end": end.isoformat(), "muted_kinds": []},
        headers=headers,
    )
    assert r.status_code == 200, r.json
    assert "order_assigned" in r.json["urgent_kinds"]
    muted = client.put(
        f"{ME}/notification-preferences",
        json={"quiet_start": None, "quiet_end": None, "muted_kinds": ["order_assigned"]},
        headers=headers,
    )
    assert muted.status_code == 422  # an assignment always goes through

    order = town.file(client)  # a pool order: not urgent
    deliver_all(client.application)
    assert fcm.sent_to(town.phones[tech.id]) == []
    assert "pool_order" in _kinds(db_session, tech.user_id)  # still in the inbox
    r = client.post(
        f"{ADMIN}/{order['id']}/assign",
        json={"staff_id": tech.id},
        headers=town.headers(town.dispatcher),
    )
    assert r.status_code == 200
    deliver_all(client.application)
    assert [m["notification"]["title"] for m in fcm.sent_to(town.phones[tech.id])] == ["新工单指派"]


def test_messages_ratings_and_rejections_reach_the_right_people(client, town, fcm, db_session):
    tech = town.techs[0]
    order = town.file(client)
    assert client.post(f"{TECH}/{order['id']}/grab", headers=town.headers(tech)).status_code == 200
    deliver_all(client.application)
    fcm.reset()
    r = client.post(
        f"{TENANT}/{order['id']}/messages",
        json={"text": "师傅几点到？"},
        headers=town.headers(town.tenant),
    )
    assert r.status_code == 201
    deliver_all(client.application)
    [message] = fcm.sent_to(town.phones[tech.id])
    assert (
        message["notification"]["title"] == "住户留言"
        and "几点到" in message["notification"]["body"]
    )

    r = client.post(
        f"{TECH}/{order['id']}/messages", json={"text": "下午三点"}, headers=town.headers(tech)
    )
    assert r.status_code == 201
    assert "desk_reply" in _kinds(db_session, town.tenant.id)

    r = client.post(
        f"{TECH}/{order['id']}/complete", json={"result": "好了"}, headers=town.headers(tech)
    )
    assert r.status_code == 200
    assert "order_completed" in _kinds(db_session, town.tenant.id)
    r = client.post(
        f"{TENANT}/{order['id']}/rating",
        json={"score": 1, "comment": "很慢"},
        headers=town.headers(town.tenant),
    )
    assert r.status_code == 200
    assert "low_rating" in _kinds(db_session, town.dispatcher.id)

    other = town.file(client)
    r = client.post(
        f"{ADMIN}/{other['id']}/assign",
        json={"staff_id": tech.id},
        headers=town.headers(town.dispatcher),
    )
    assert r.status_code == 200
    r = client.post(
        f"{TECH}/{other['id']}/reject", json={"reason": "不在片区"}, headers=town.headers(tech)
    )
    assert r.status_code == 200, r.json
    rejected = db_session.scalar(
        select(Notification).where(
            Notification.user_id == town.dispatcher.id, Notification.kind == "order_rejected"
        )
    )
    assert rejected is not None and "不在片区" in rejected.body
