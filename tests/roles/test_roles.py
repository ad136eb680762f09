"""Roles as data: compose, grant, scope — through the API, effective on the next request."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from server.kernel.clock import LOCAL_TZ
from server.models import AuditEntry

ROLES = "/api/v1/admin/roles"


@pytest.fixture
def admin(make, world):
    return make.headers(make.admin(world.org))


@pytest.fixture
def second_community(make, world):
    """A second community with a resident and an order of its own."""
    community = make.community(world.org, name="滨江苑")
    room = make.room(make.building(community, name="8栋"), code="801")
    customer = make.customer(world.org, name="王五")
    make.contact(customer, phone="13800000009")
    make.holds(customer, room)
    tenant = make.tenant(world.org, phone="13800000009", name="王五")
    return community, room, tenant


def _role(client, admin, **body):
    r = client.post(ROLES, json={"name": "客服专员", **body}, headers=admin)
    assert r.status_code == 201, r.json
    return r.json


def _grant(client, admin, staff, *role_ids):
    r = client.put(
        f"/api/v1/admin/staff/{staff.id}/roles", json={"role_ids": list(role_ids)}, headers=admin
    )
    assert r.status_code == 200, r.json
    return r.json


def test_presets_and_catalogue_are_listed(client, admin):
    catalogue = client.get("/api/v1/admin/permissions", headers=admin).json
    codes = [p["code"] for p in catalogue]
    assert "refunds.act" in codes and "orders.view" in codes and len(codes) == len(set(codes))
    roles = client.get(ROLES, headers=admin).json
    presets = {r["key"]: r for r in roles if r["preset"]}
    assert set(presets) == {"admin", "dispatcher", "technician"}
    assert "refunds.act" in presets["admin"]["permissions"]
    assert "refunds.act" not in presets["dispatcher"]["permissions"]
    assert presets["technician"]["permissions"] == []


def test_a_technician_given_a_desk_role_works_the_console_within_it(client, admin, world):
    tech = world.techs[0]
    headers = world.headers(tech)
    order = world.file(client)
    # A technician alone has no console permission.
    assert client.get("/api/v1/admin/orders", headers=headers).status_code == 403
    role = _role(client, admin, permissions=["orders.view"])
    _grant(client, admin, tech, role["id"])
    # The same token, the next request: the role's permission holds, and only it.
    me = client.get("/api/v1/me", headers=headers).json
    assert (me["permissions"], me["communities"]) == (["orders.view"], None)
    listed = client.get("/api/v1/admin/orders", headers=headers)
    assert listed.status_code == 200
    assert order["id"] in [o["id"] for o in listed.json["items"]]
    assign = client.post(
        f"/api/v1/admin/orders/{order['id']}/assign",
        json={"staff_id": world.techs[1].id},
        headers=headers,
    )
    assert assign.status_code == 403 and assign.json["error"] == "forbidden"
    # Redefining the role reaches its holder on the next request, without a new login.
    r = client.patch(
        f"{ROLES}/{role['id']}",
        json={"permissions": ["orders.view", "dispatch.act"]},
        headers=admin,
    )
    assert r.status_code == 200 and r.json["holders"] == 1
    assign = client.post(
        f"/api/v1/admin/orders/{order['id']}/assign",
        json={"staff_id": world.techs[1].id},
        headers=headers,
    )
    assert assign.status_code == 200, assign.json
    # Taking the role back, then deleting it: out again.
    _grant(client, admin, tech)
    assert client.get("/api/v1/admin/orders", headers=headers).status_code == 403
    _grant(client, admin, tech, role["id"])
    assert client.get("/api/v1/admin/orders", headers=headers).status_code == 200
    assert client.delete(f"{ROLES}/{role['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/admin/orders", headers=headers).status_code == 403
    # The technician's own app is untouched throughout.
    assert client.get("/api/v1/tech/orders", headers=headers).status_code == 200


def test_a_community_scope_hides_the_other_communities(
    client, admin, world, make, second_community
):
    _community, room, tenant = second_community
    mine = world.file(client)
    r = client.post(
        "/api/v1/tenant/orders",
        json={"subtype_id": world.subtype.id, "room_id": room.id, "description": "门锁坏了"},
        headers=world.headers(tenant),
    )
    assert r.status_code == 201, r.json
    theirs = r.json
    role = _role(
        client,
        admin,
        name="阳光花园客服",
        permissions=["orders.view", "orders.act", "customers.view", "reports.view"],
        all_communities=False,
        community_ids=[world.room.community_id],
    )
    clerk = make.staff(world.org, roles=())
    _grant(client, admin, clerk, role["id"])
    headers = world.headers(clerk)

    me = client.get("/api/v1/me", headers=headers).json
    assert me["communities"] == [world.room.community_id] and "orders.act" in me["permissions"]
    ids = [o["id"] for o in client.get("/api/v1/admin/orders", headers=headers).json["items"]]
    assert mine["id"] in ids and theirs["id"] not in ids
    assert client.get(f"/api/v1/admin/orders/{theirs['id']}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/admin/orders/{mine['id']}", headers=headers).status_code == 200
    assert (
        client.post(
            f"/api/v1/admin/orders/{theirs['id']}/messages",
            json={"text": "您好"},
            headers=headers,
        ).status_code
        == 404
    )
    communities = client.get("/api/v1/admin/communities", headers=headers).json["items"]
    assert [c["id"] for c in communities] == [world.room.community_id]
    assert client.get(f"/api/v1/admin/rooms/{room.id}", headers=headers).status_code == 404
    customers = client.get("/api/v1/admin/customers", headers=headers).json["items"]
    assert "王五" not in [c["name"] for c in customers]
    assert "张三" in [c["name"] for c in customers]
    # Omni search: the admin finds room 801 and 王五, the scoped clerk neither.
    for who, expected in ((admin, 1), (headers, 0)):
        found = client.get("/api/v1/admin/search", query_string={"q": "801"}, headers=who).json
        assert found["rooms"]["total"] == expected, found
        found = client.get("/api/v1/admin/search", query_string={"q": "王五"}, headers=who).json
        assert found["customers"]["total"] == expected, found
    found = client.get("/api/v1/admin/search", query_string={"q": "张三"}, headers=headers).json
    assert found["customers"]["total"] == 1
    # The order export (streamed after the request) holds the scope's orders only.
    for fmt in ("csv", "xlsx"):
        exported = client.get(f"/api/v1/admin/orders?format={fmt}", headers=headers)
        assert exported.status_code == 200 and exported.headers["X-Total-Count"] == "1"
    body = client.get("/api/v1/admin/orders?format=csv", headers=headers).get_data()
    assert mine["number"].encode() in body and theirs["number"].encode() not in body
    # The workbench and the dashboard count the scope's orders only.
    board = client.get("/api/v1/admin/workbench", headers=headers).json
    listed = {o["id"] for queue in board["queues"] for o in queue["items"]}
    assert theirs["id"] not in listed and mine["id"] in listed
    today = datetime.now(LOCAL_TZ).date().isoformat()
    span = {"from": today, "to": today}
    dash = client.get("/api/v1/admin/dashboard", query_string=span, headers=headers).json
    assert dash["counts"]["filed"] == 1, dash
    dash = client.get("/api/v1/admin/dashboard", query_string=span, headers=admin).json
    assert dash["counts"]["filed"] == 2
    # The admin (all communities) still sees both.
    ids = [o["id"] for o in client.get("/api/v1/admin/orders", headers=admin).json["items"]]
    assert {mine["id"], theirs["id"]} <= set(ids)


def test_bad_roles_are_refused_with_reasons(client, admin, make, world):
    other = make.org()
    foreign = make.community(other, name="别家小区")
    cases = [
        ({"name": "x", "permissions": ["orders.fly"]}, "permissions"),
        ({"name": "x", "permissions": [], "all_communities": False}, "community_ids"),
        (
            {
                "name": "x",
                "permissions": [],
                "all_communities": False,
                "community_ids": [foreign.id],
            },
            "community_ids",
        ),
        ({"name": "", "permissions": []}, "name"),
        ({"name": "x", "permissions": "orders.view"}, "permissions"),
    ]
    for body, field in cases:
        r = client.post(ROLES, json=body, headers=admin)
        assert r.status_code == 422, (body, r.json)
        assert r.json["error"] == "validation_error" and field in str(r.json["errors"]), r.json
    _role(client, admin, name="重名", permissions=[])
    r = client.post(ROLES, json={"name": "重名", "permissions": []}, headers=admin)
    assert r.status_code == 409
    # Another organisation's roles and staff are not there.
    other_admin = make.headers(make.admin(other))
    role = _role(client, admin, name="本机构", permissions=["orders.view"])
    assert client.get(f"{ROLES}/{role['id']}", headers=other_admin).status_code == 404
    r = client.put(
        f"/api/v1/admin/staff/{world.techs[0].id}/roles",
        json={"role_ids": [role["id"]]},
        headers=other_admin,
    )
    assert r.status_code == 404
    mine = make.staff(other)
    r = client.put(
        f"/api/v1/admin/staff/{mine.id}/roles", json={"role_ids": [role["id"]]}, headers=other_admin
    )
    assert r.status_code == 422 and "role_ids" in r.json["errors"]


def test_a_dispatcher_may_not_manage_roles(client, world):
    headers = world.headers(world.dispatcher)
    assert client.get(ROLES, headers=headers).status_code == 403
    r = client.post(ROLES, json={"name": "越权", "permissions": ["roles.act"]}, headers=headers)
    assert r.status_code == 403


def test_role_changes_are_audited(client, admin, world, db_session):
    role = _role(client, admin, name="审计角色", permissions=["orders.view"])
    _grant(client, admin, world.techs[0], role["id"])
    client.patch(f"{ROLES}/{role['id']}", json={"name": "审计角色2"}, headers=admin)
    client.delete(f"{ROLES}/{role['id']}", headers=admin)
    kinds = db_session.scalars(
        select(AuditEntry.summary)
        .where(AuditEntry.org_id == world.org.id, AuditEntry.kind == "role_changed")
        .order_by(AuditEntry.id)
    ).all()
    assert len(kinds) == 4
    assert kinds[0].startswith("新建角色") and kinds[-1].startswith("删除角色")
