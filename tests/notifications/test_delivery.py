"""What reaches which phone: pushes through firebase-admin to the loopback FCM, subscribe
messages through the WeChat client, the inbox — once, and never for what did not happen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from server.notifications.models import Delivery, Device, Notification
from server.orders.actors import Actor
from server.orders.handout import assign_order
from server.outbox import delivery
from server.outbox.models import OutboxItem
from tests.notifications.conftest import TEMPLATES, deliver_all

ADMIN = "/api/v1/admin/orders"
TECH = "/api/v1/tech/orders"
ME = "/api/v1/me"


def _assign(client, town, order_id, tech):
    r = client.post(
        f"{ADMIN}/{order_id}/assign",
        json={"staff_id": tech.id},
        headers=town.headers(town.dispatcher),
    )
    assert r.status_code == 200, r.json
    return r.json


def _kinds(db_session, user_id):
    return [
        n.kind
        for n in db_session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
    ]


def test_an_assignment_buzzes_each_of_the_technicians_devices_once(client, town, fcm, db_session):
    tech = town.techs[0]
    tablet = "fcm-tablet-" + tech.user.phone
    assert (
        client.post(
            f"{ME}/devices", json={"platform": "ios", "token": tablet}, headers=town.headers(tech)
        ).status_code
        == 201
    )
    order = town.file(client)
    deliver_all(client.application)
    fcm.reset()  # the pool fan-out of the filing is another test's subject

    _assign(client, town, order["id"], tech)
    deliver_all(client.application)
    deliver_all(client.application)  # a second run delivers nothing again
    for token in (town.phones[tech.id], tablet):
        [message] = fcm.sent_to(token)
        assert message["notification"]["title"] == "新工单指派"
        assert order["number"] in message["notification"]["body"]
        assert message["data"]["order_id"] == str(order["id"])
        assert message["android"]["priority"] == "high"
    others = [t for s, t in town.phones.items() if s != tech.id]
    assert all(fcm.sent_to(t) == [] for t in others)
    assert "order_assigned" in _kinds(db_session, tech.user_id)


def test_a_new_pool_order_reaches_every_eligible_technician_in_one_delivery(
    client, town, fcm, db_session
):
    order = town.file(client)
    outcomes = deliver_all(client.application)
    assert outcomes.count("notifications.deliver:delivered") >= 1
    for tech in town.techs:
        [message] = fcm.sent_to(town.phones[tech.id])
        assert message["notification"]["title"] == "抢单池有新工单"
    # A technician of no department is not eligible for this type: nothing for them.
    assert fcm.sent_to(town.phones[town.outsider.id]) == []
    rows = db_session.scalars(select(Notification).where(Notification.order_id == order["id"]))
    assert sorted(n.user_id for n in rows if n.kind == "pool_order") == sorted(
        t.user_id for t in town.techs
    )


def test_a_rolled_back_action_notifies_no_one(client, town, fcm, db_session, app):
    order = town.file(client)
    deliver_all(client.application)
    before = db_session.scalar(select(func.count()).select_from(Notification))
    db = app.extensions["baoxiu"].db
    dispatcher = Actor(user_id=town.dispatcher.id, org_id=town.org.id, role="dispatcher")
    try:
        with db.transaction() as uow:
            assign_order(
                uow.session,
                actor=dispatcher,
                order_id=order["id"],
                staff_id=town.techs[1].id,
                now=datetime.now(UTC),
            )
            raise RuntimeError("the request failed after the assignment")
    except RuntimeError:
        pass
    assert db_session.scalar(select(func.count()).select_from(Notification)) == before
    deliver_all(client.application)
    assert fcm.sent_to(town.phones[town.techs[1].id]) == [] or all(
        m["notification"]["title"] != "新工单指派"
        for m in fcm.sent_to(town.phones[town.techs[1].id])
    )


def test_a_dead_token_is_pruned(client, town, fcm, db_session):
    order = town.file(client)
    deliver_all(client.application)
    dead = town.phones[town.techs[0].id]
    fcm.dead_tokens.add(dead)
    _assign(client, town, order["id"], town.techs[0])
    deliver_all(client.application)
    assert db_session.scalar(select(Device).where(Device.token == dead)) is None
    [failed] = db_session.scalars(
        select(Delivery).where(Delivery.device_token == dead, Delivery.status == "failed")
    ).all()
    assert "UNREGISTERED" in failed.error


def test_an_unavailable_fcm_is_tried_again_and_nothing_is_sent_twice(
    client, town, fcm, db_session, app
):
    order = town.file(client)
    deliver_all(client.application)
    fcm.reset()
    tech = town.techs[0]
    tablet = "fcm-tablet-" + tech.user.phone
    client.post(
        f"{ME}/devices", json={"platform": "ios", "token": tablet}, headers=town.headers(tech)
    )
    fcm.unavailable_next = 1000  # FCM is down (firebase-admin's own retries give up too)
    _assign(client, town, order["id"], tech)
    deliver_all(client.application)
    pending = db_session.scalars(
        select(Delivery).where(
            Delivery.status == "pending", Delivery.device_token.in_([town.phones[tech.id], tablet])
        )
    ).all()
    assert len(pending) == 2 and all("UNAVAILABLE" in d.error for d in pending)
    [item] = db_session.scalars(
        select(OutboxItem).where(
            OutboxItem.job == "notifications.deliver", OutboxItem.status == "pending"
        )
    ).all()

    fcm.unavailable_next = 0
    later = datetime.now(UTC) + timedelta(minutes=5)
    db = app.extensions["baoxiu"].db
    assert (
        delivery.deliver(db, outbox_id=item.id, job=item.job, clock=lambda: later).value
        == "delivered"
    )
    assert len(fcm.sent_to(town.phones[tech.id])) == 1 and len(fcm.sent_to(tablet)) == 1
    assert (
        delivery.deliver(db, outbox_id=item.id, job=item.job, clock=lambda: later).value
        == "skipped"
    )
    assert len(fcm.sent_to(tablet)) == 1


def test_a_tenant_hears_by_subscribe_message_only_with_consent(
    client, town, fcm, fake_wechat, db_session
):
    tenant = town.headers(town.tenant)
    first = town.file(client)
    r = client.post(f"{TECH}/{first['id']}/grab", headers=town.headers(town.techs[0]))
    assert r.status_code == 200
    deliver_all(client.application)
    assert fake_wechat.subscribe_messages == []  # no consent: in the inbox only
    inbox = client.get(f"{ME}/notifications", headers=tenant).json
    assert inbox["unread"] >= 1 and inbox["items"][0]["kind"] == "order_taken"

    r = client.post(
        f"{ME}/subscriptions", json={"template_ids": [TEMPLATES["order_taken"]]}, headers=tenant
    )
    assert r.status_code == 200 and r.json["consents"][TEMPLATES["order_taken"]] == 1
    second = town.file(client)
    r = client.post(f"{TECH}/{second['id']}/grab", headers=town.headers(town.techs[1]))
    assert r.status_code == 200
    deliver_all(client.application)
    [(openid, template, data)] = fake_wechat.subscribe_messages
    assert (openid, template) == (town.tenant.wechat_openid, TEMPLATES["order_taken"])
    assert data["character_string1"]["value"] == second["number"]
    # The consent is spent: the next one stays in the inbox.
    consents = client.post(
        f"{ME}/subscriptions", json={"template_ids": [TEMPLATES["order_completed"]]}, headers=tenant
    ).json["consents"]
    assert consents[TEMPLATES["order_taken"]] == 0
