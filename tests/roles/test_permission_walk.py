"""Generated from the served OpenAPI document: every console operation, called by a role
without its permission, answers 403; every operation on a community's row, called by a role
with every permission but another community's scope, answers 404.

Nothing here lists the operations: a new one is walked the day it is documented.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from server.kernel.permissions import Permission
from server.models import ReturnVisit

ALL = [p.value for p in Permission]
# The path parameters that name a row bound to a community, and so fall under the data scope.
SCOPED_PARAMS = {
    "order_id",
    "room_id",
    "building_id",
    "unit_id",
    "community_id",
    "customer_id",
    "contact_id",
    "customer_room_id",
    "space_id",
    "complaint_id",
    "visit_id",
    "household_id",
    "member_id",
}
# Bodies for the writes whose schemas check fields together (the generated body, required
# fields only, would be refused with 422 before the row is looked up).
BODIES: dict[str, dict[str, Any]] = {
    "admin_adjust_fee": {"discount_fen": 100, "reason": "测试"},
    "admin_record_return_visit": {"reached": True, "satisfied": True},
    "admin_classify_complaint": {"severity": "normal"},
    "admin_assign_complaint": {"department_id": 1},
    "admin_cancel_order": {"reason": "测试"},
    "admin_add_household_member": {"customer_id": 1, "label": "配偶"},
    "admin_transfer_room": {"date": date.today().isoformat(), "customer_id": 1},
}


@pytest.fixture
def document(client):
    return client.get("/openapi.json").json


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"} and "x-permission" in operation:
                yield path, method, operation


# Values by field name where the type alone does not satisfy the schema's validators.
NAMED = {"phone": "13800000123", "plate": "粤B12345", "emergency_phone": "13800000124"}


def _example(
    schema: dict[str, Any], document: dict[str, Any], depth: int = 0, name: str = ""
) -> Any:
    """A value the schema accepts in shape (the walk's bodies only need to get past parsing)."""
    if name in NAMED:
        return NAMED[name]
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[1]
        return _example(document["components"]["schemas"][ref], document, depth + 1)
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            return _example(schema[key][0], document, depth + 1, name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        props = schema.get("properties", {})
        return {
            field: _example(props[field], document, depth + 1, field)
            for field in schema.get("required", [])
            if field in props and not props[field].get("readOnly")
        }
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return date.today().isoformat()
    if schema.get("format") == "date-time":
        return "2026-12-07T10:00:00+08:00"
    return "测试" * max(1, int(schema.get("minLength", 1)))


def _body(operation, document):
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return _example(content["application/json"]["schema"], document)


def _filled(path, operation, document):
    """The path with each parameter set to a value its schema takes (an id: 1)."""
    values = {}
    for param in operation.get("parameters", []) + document["paths"][path].get("parameters", []):
        if "$ref" in param:
            param = document["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        if param.get("in") == "path":
            values[param["name"]] = (param.get("schema", {}).get("enum") or [1])[0]
    return re.sub(r"\{([^}]+)\}", lambda m: str(values.get(m.group(1), 1)), path)


def _call(client, method, path, headers, body):
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return getattr(client, method)(path, **kwargs)


def _role(client, admin, name, permissions, **scope):
    r = client.post(
        "/api/v1/admin/roles",
        json={"name": name, "permissions": permissions, **scope},
        headers=admin,
    )
    assert r.status_code == 201, r.json
    return r.json["id"]


def _holder(client, make, world, admin, role_id):
    staff = make.staff(world.org, roles=())
    r = client.put(
        f"/api/v1/admin/staff/{staff.id}/roles", json={"role_ids": [role_id]}, headers=admin
    )
    assert r.status_code == 200, r.json
    return world.headers(staff)


def test_every_operation_refuses_a_role_without_its_permission(client, make, world, document):
    admin = make.headers(make.admin(world.org))
    without = {
        p: _holder(
            client,
            make,
            world,
            admin,
            _role(client, admin, f"缺 {p}", [q for q in ALL if q != p]),
        )
        for p in ALL
    }
    walked = 0
    for path, method, operation in _operations(document):
        needed = operation["x-permission"]
        url = _filled(path, operation, document)
        r = _call(client, method, url, without[needed], _body(operation, document))
        assert r.status_code == 403, (method, path, needed, r.status_code, r.get_data()[:300])
        assert r.json["error"] == "forbidden"
        walked += 1
    # Every console operation is documented with its permission.
    admin_ops = [
        (p, m)
        for p, item in document["paths"].items()
        if p.startswith("/api/v1/admin/")
        for m in item
        if m in {"get", "post", "put", "patch", "delete"}
    ]
    assert walked == len(admin_ops) > 150


@pytest.fixture
def elsewhere(client, make, world, db_session):
    """Rows of every community-bound kind in a second community, by their path parameter."""
    admin = make.headers(make.admin(world.org))
    community = make.community(world.org, name="滨江苑")
    building = make.building(community, name="8栋")
    unit = make.unit(building, name="1单元")
    room = make.room(building, code="801")
    customer = make.customer(world.org, name="王五")
    contact = make.contact(customer, phone="13800000009")
    relation = make.holds(customer, room)
    tenant = make.tenant(world.org, phone="13800000009", name="王五")
    r = client.post(
        "/api/v1/tenant/orders",
        json={"subtype_id": world.subtype.id, "room_id": room.id, "description": "门锁坏了"},
        headers=world.headers(tenant),
    )
    assert r.status_code == 201, r.json
    order_id = r.json["id"]
    r = client.post(
        "/api/v1/tenant/complaints",
        json={"kind": "complaint", "text": "师傅迟到", "order_id": order_id},
        headers=world.headers(tenant),
    )
    assert r.status_code == 201, r.json
    complaint_id = r.json["id"]
    r = client.post(
        "/api/v1/admin/parking-spaces",
        json={"community_id": community.id, "number": "B-001", "kind": "ground"},
        headers=admin,
    )
    assert r.status_code == 201, r.json
    space_id = r.json["id"]
    visit = ReturnVisit(org_id=world.org.id, order_id=order_id, reason="sample")
    db_session.add(visit)
    db_session.flush()
    return {
        "order_id": order_id,
        "room_id": room.id,
        "building_id": building.id,
        "unit_id": unit.id,
        "community_id": community.id,
        "customer_id": customer.id,
        "contact_id": contact.id,
        "customer_room_id": relation.id,
        "space_id": space_id,
        "complaint_id": complaint_id,
        "visit_id": visit.id,
        "household_id": relation.id,
        "member_id": relation.id,
    }


def test_every_operation_on_another_communitys_row_answers_404(
    client, make, world, document, elsewhere
):
    admin = make.headers(make.admin(world.org))
    scoped = _holder(
        client,
        make,
        world,
        admin,
        _role(
            client,
            admin,
            "仅阳光花园",
            ALL,
            all_communities=False,
            community_ids=[world.room.community_id],
        ),
    )
    walked, wrong = [], []
    for path, method, operation in _operations(document):
        names = re.findall(r"\{([^}]+)\}", path)
        if not names or not set(names) <= SCOPED_PARAMS:
            continue
        url = path
        for name in names:
            url = url.replace("{" + name + "}", str(elsewhere[name]))
        body = BODIES.get(operation["operationId"], _body(operation, document))
        r = _call(client, method, url, scoped, body)
        if r.status_code != 404:
            wrong.append((method, path, r.status_code, r.get_data()[:300]))
        # The admin over every community reaches the same row (the 404 is the scope's).
        elif method == "get" and _call(client, method, url, admin, None).status_code != 200:
            wrong.append((method, path, "admin", None))
        walked.append(operation["operationId"])
    report = [f"{m} {p} {c} {(b or b'').decode()[:300]}" for m, p, c, b in wrong]
    assert wrong == [], "\n".join(report)
    assert len(walked) > 40, walked
