"""Urging: 督办 by the desk (any open order; holder or pool pushed; timeline; SLA counts it) and
催单 by the tenant (after a wait, at most once per interval, 409 `urge_too_soon` with when and
Retry-After; desk and holder told; race-safe with real parallel clients)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from server.directory.models import Room
from server.kernel.roles import Role
from server.notifications.models import Notification
from server.orders.actors import Actor
from server.orders.filing import NewOrder, file_order
from server.organisation.models import Organisation
from server.sla import timers
from tests.concurrency.conftest import LOCAL_TZ, RaceOrg, race
from tests.factories import Factory
from tests.fakes.server import serve

ADMIN = "/api/v1/admin/orders"
TECH = "/api/v1/tech/orders"
TENANT = "/api/v1/tenant/orders"


def recipients(db_session, order_id, kind):
    db_session.expire_all()
    return set(
        db_session.scalars(
            select(Notification.user_id).where(
                Notification.order_id == order_id, Notification.kind == kind
            )
        )
    )


def timeline(client, world, order_id):
    r = client.get(f"{ADMIN}/{order_id}", headers=world.headers(world.dispatcher))
    assert r.status_code == 200
    return r.json["timeline"]


def urge(client, world, order_id, reason="住户反复来电", who=None):
    return client.post(
        f"{ADMIN}/{order_id}/urge",
        json={"reason": reason},
        headers=world.headers(who or world.dispatcher),
    )


def tenant_urge(client, world, order_id, who=None):
    return client.post(f"{TENANT}/{order_id}/urge", headers=world.headers(who or world.tenant))


def set_org(db_session, org_id, **values):
    for column, value in values.items():
        db_session.execute(
            text(f"UPDATE organisations SET {column} = :v WHERE id = :id"),
            {"v": value, "id": org_id},
        )
    db_session.flush()


# 督办 -------------------------------------------------------------------------------------


def test_desk_urge_pushes_the_holder_shows_on_the_timeline_and_counts_on_the_clock(
    client, world, db_session
):
    order = world.file(client)
    tech = world.techs[0]
    r = client.post(f"{TECH}/{order['id']}/grab", headers=world.headers(tech))
    assert r.status_code == 200, r.json

    r = urge(client, world, order["id"], reason="请今天内上门")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "in_progress"  # the status stays
    step = r.json["timeline"][-1]
    assert step["action"] == "urge" and step["reason"] == "请今天内上门"
    assert step["from_status"] == step["to_status"] == "in_progress"
    assert step["data"] == {"urges": 1}

    assert recipients(db_session, order["id"], "order_urged") == {tech.user_id}
    urgent = db_session.scalar(
        select(Notification.urgent).where(
            Notification.order_id == order["id"], Notification.kind == "order_urged"
        )
    )
    assert urgent is True

    assert urge(client, world, order["id"]).status_code == 200
    count = db_session.scalar(
        text("SELECT urge_count FROM sla_clocks WHERE order_id = :id"), {"id": order["id"]}
    )
    assert count == 2


def test_desk_urge_of_an_unheld_order_pushes_its_pool(client, world, db_session):
    order = world.file(client)
    r = urge(client, world, order["id"])
    assert r.status_code == 200, r.json
    eligible = {t.user_id for t in world.techs}
    assert recipients(db_session, order["id"], "order_urged") == eligible  # not the outsider


def test_the_escalation_counts_the_urges(client, world, db_session, app):
    order = world.file(client)
    assert urge(client, world, order["id"]).status_code == 200
    assert urge(client, world, order["id"]).status_code == 200
    due_at = db_session.scalar(
        text("SELECT due_at FROM orders WHERE id = :id"), {"id": order["id"]}
    )
    timers.tick(db_session, now=due_at + timedelta(days=30))
    db_session.flush()
    data = db_session.scalar(
        text(
            "SELECT data FROM order_events WHERE order_id = :id AND action = 'escalate'"
            " ORDER BY id DESC LIMIT 1"
        ),
        {"id": order["id"]},
    )
    assert data["urges"] == 2 and data["tenant_urges"] == 0


def test_desk_urge_refuses_finished_orders_and_other_organisations(client, world, make):
    order = world.file(client)
    r = client.post(
        f"{ADMIN}/{order['id']}/cancel",
        json={"reason": "重复报修"},
        headers=world.headers(world.dispatcher),
    )
    assert r.status_code == 200
    r = urge(client, world, order["id"])
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"

    stranger = make.dispatcher(make.org())
    other = world.file(client)
    r = client.post(
        f"{ADMIN}/{other['id']}/urge", json={"reason": "x"}, headers=make.headers(stranger)
    )
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_desk_urge_validation_and_roles(client, world):
    order = world.file(client)
    r = urge(client, world, order["id"], reason="   ")
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = client.post(f"{ADMIN}/{order['id']}/urge", json={}, headers=world.headers(world.dispatcher))
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = urge(client, world, order["id"], who=world.tenant)
    assert r.status_code == 403


# 催单 -------------------------------------------------------------------------------------


def test_tenant_urge_waits_then_is_limited_to_once_per_interval(client, world, db_session):
    order = world.file(client)
    # Filed just now: the organisation asks for 30 minutes' wait first (the default).
    r = tenant_urge(client, world, order["id"])
    assert r.status_code == 409 and r.json["error"] == "urge_too_soon"
    wait = int(r.headers["Retry-After"])
    assert 29 * 60 < wait <= 30 * 60
    created = datetime.fromisoformat(order["created_at"])
    when = (created + timedelta(minutes=30)).astimezone(LOCAL_TZ)
    assert f"{when:%m-%d %H:%M}" in r.json["message"]

    set_org(db_session, world.org.id, tenant_urge_after_minutes=0, tenant_urge_interval_minutes=90)
    r = tenant_urge(client, world, order["id"])
    assert r.status_code == 200, r.json
    assert r.json["status"] == "pending"
    step = r.json["timeline"][-1]
    assert step["action"] == "tenant_urge" and step["actor_role"] == "tenant"
    assert recipients(db_session, order["id"], "tenant_urged") == {world.dispatcher.id}
    assert recipients(db_session, order["id"], "tenant_urged_tech") == set()  # nobody holds it

    r = tenant_urge(client, world, order["id"])
    assert r.status_code == 409 and r.json["error"] == "urge_too_soon"
    assert 89 * 60 < int(r.headers["Retry-After"]) <= 90 * 60
    assert [s["action"] for s in timeline(client, world, order["id"])].count("tenant_urge") == 1

    # The interval passed: a second urge, now also to the technician holding it.
    db_session.execute(
        text(
            "UPDATE orders SET last_tenant_urged_at = last_tenant_urged_at - interval '91 min'"
            " WHERE id = :id"
        ),
        {"id": order["id"]},
    )
    tech = world.techs[1]
    assert client.post(f"{TECH}/{order['id']}/grab", headers=world.headers(tech)).status_code == 200
    r = tenant_urge(client, world, order["id"])
    assert r.status_code == 200, r.json
    assert recipients(db_session, order["id"], "tenant_urged_tech") == {tech.user_id}
    count = db_session.scalar(
        text("SELECT tenant_urge_count FROM orders WHERE id = :id"), {"id": order["id"]}
    )
    assert count == 2


def test_tenant_urge_only_for_open_orders_they_may_act_on(client, world, db_session):
    set_org(db_session, world.org.id, tenant_urge_after_minutes=0)
    order = world.file(client)
    r = tenant_urge(client, world, order["id"], who=world.neighbour)
    assert r.status_code == 404 and r.json["error"] == "not_found"
    r = client.post(
        f"{TENANT}/{order['id']}/cancel",
        json={"reason": "不修了"},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 200
    r = tenant_urge(client, world, order["id"])
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"
    r = client.post(f"{TENANT}/{order['id']}/urge", headers=world.headers(world.dispatcher))
    assert r.status_code == 403


def test_urging_settings(client, world, make):
    admin = make.admin(world.org)
    path = "/api/v1/admin/settings/workbench"
    r = client.get(path, headers=world.headers(world.dispatcher))
    assert r.status_code == 200
    assert r.json["tenant_urge_after_minutes"] == 30
    assert r.json["tenant_urge_interval_minutes"] == 60
    assert r.json["unaccepted_alert_minutes"] == 30
    assert r.json["long_hold_minutes"] == 1440
    r = client.patch(path, json={"tenant_urge_interval_minutes": 15}, headers=world.headers(admin))
    assert r.status_code == 200 and r.json["tenant_urge_interval_minutes"] == 15
    assert r.json["tenant_urge_after_minutes"] == 30
    r = client.patch(path, json={"long_hold_minutes": 0}, headers=world.headers(admin))
    assert r.status_code == 422 and "long_hold_minutes" in r.json["errors"]
    r = client.patch(path, json={"long_hold_minutes": 60}, headers=world.headers(world.dispatcher))
    assert r.status_code == 403


# The race: two 催单 at once, one recorded ---------------------------------------------------


@pytest.fixture(scope="module")
def base_url(app):
    with serve(app) as url:
        yield url


@pytest.mark.concurrency
def test_parallel_tenant_urges_record_one(app, base_url):
    org = RaceOrg(app, base_url, technicians=1, cap=3)
    container = app.extensions["baoxiu"]
    now = datetime.now(UTC)
    with org.db.transaction() as uow:
        make = Factory(uow.session, container.tokens)
        phone = f"139{uuid.uuid4().int % 10**8:08d}"
        organisation = uow.session.get(Organisation, org.org_id)
        customer = make.customer(organisation)
        make.contact(customer, phone=phone)
        make.holds(customer, uow.session.get(Room, org.room_id))
        tenant = make.tenant(organisation, phone=phone)
        pair = container.tokens.issue(uow.session, user=tenant, now=now)
        headers = {"Authorization": f"Bearer {pair.access_token}"}
        uow.session.execute(
            text("UPDATE organisations SET tenant_urge_after_minutes = 0 WHERE id = :id"),
            {"id": org.org_id},
        )
        order = file_order(
            uow.session,
            actor=Actor(user_id=tenant.id, org_id=org.org_id, role=Role.TENANT.value),
            new=NewOrder(
                subtype_id=org.subtype_id,
                room_id=org.room_id,
                description="水管漏水",
                contact_phone=phone,
            ),
            now=now - timedelta(hours=1),
            today=now.astimezone(LOCAL_TZ).date(),
        )
        order_id = order.id

    def call(http):
        return http.post(f"{base_url}{TENANT}/{order_id}/urge", headers=headers, timeout=30)

    answers = race([call] * 8)
    statuses = sorted((a.status, a.error) for a in answers)
    assert statuses.count((200, None)) == 1, statuses
    assert statuses.count((409, "urge_too_soon")) == 7, statuses
    assert org.events("tenant_urge") == 1
    assert org.scalar("SELECT tenant_urge_count FROM orders WHERE id = :id", id=order_id) == 1


def test_desk_urge_of_an_unheld_order_also_tells_the_departments_lead(
    client, world, db_session, make
):
    """部门负责人: the lead of the department the order's type is bound to hears of an urge
    of an order nobody holds (with the pool); a holder's order tells the holder only."""
    department = world.department
    lead = make.staff(world.org, roles=(Role.DISPATCHER,), department_id=department.id)
    desk = world.headers(make.admin(world.org))
    # A lead from another organisation, or an unknown staff id, is refused.
    outsider = make.staff(make.org(), roles=(Role.DISPATCHER,))
    for wrong in (outsider.id, 2**62):
        r = client.patch(
            f"/api/v1/admin/departments/{department.id}",
            json={"lead_staff_id": wrong},
            headers=desk,
        )
        assert r.status_code == 422, r.json
        assert r.json["errors"] == {"lead_staff_id": ["负责人须为本机构在职员工"]}
    r = client.patch(
        f"/api/v1/admin/departments/{department.id}",
        json={"lead_staff_id": lead.id},
        headers=desk,
    )
    assert r.status_code == 200, r.json
    assert r.json["lead_staff_id"] == lead.id
    order = world.file(client)  # of a type bound to that department
    assert urge(client, world, order["id"]).status_code == 200
    eligible = {t.user_id for t in world.techs}
    assert recipients(db_session, order["id"], "order_urged") == eligible | {lead.user_id}
