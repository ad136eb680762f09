"""Console: order types and subtypes — CRUD, fees, bindings, roles and isolation."""

from __future__ import annotations

import pytest

from server.kernel.roles import Role

TYPES = "/api/v1/admin/order-types"
SUBTYPES = "/api/v1/admin/order-subtypes"


def test_order_type_crud(client, make, org, admin_headers):
    department, post = make.department(org, name="工程部"), make.post(org, name="水电工")
    r = client.post(
        TYPES,
        json={
            "name": " 水电维修 ",
            "description": "水管、电路",
            "department_id": department.id,
            "post_id": post.id,
            "sort_order": 2,
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    created = r.json
    assert created["name"] == "水电维修"
    assert created["department"] == {"id": department.id, "name": "工程部"}
    assert created["post"] == {"id": post.id, "name": "水电工"}
    assert created["is_active"] is True and created["subtypes"] == []
    assert created["created_at"].endswith("+08:00")

    r = client.get(TYPES, headers=admin_headers)
    assert r.status_code == 200 and r.json["total"] == 1
    assert r.json["items"][0]["id"] == created["id"]

    url = f"{TYPES}/{created['id']}"
    r = client.patch(
        url, json={"name": "水电", "department_id": None, "is_active": False}, headers=admin_headers
    )
    assert r.status_code == 200, r.json
    assert r.json["name"] == "水电" and r.json["department"] is None
    assert r.json["post"]["id"] == post.id and r.json["is_active"] is False
    assert client.get(url, headers=admin_headers).json["description"] == "水管、电路"

    assert client.delete(url, headers=admin_headers).status_code == 204
    r = client.get(url, headers=admin_headers)
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_list_includes_every_subtype_in_order_and_filters(client, make, org, admin_headers):
    plumbing = make.order_type(org, name="水电", sort_order=1)
    make.order_type(org, name="停用类型", sort_order=0, is_active=False)
    late = make.subtype(plumbing, name="后", sort_order=2)
    early = make.subtype(plumbing, name="前", sort_order=1, is_active=False)

    r = client.get(TYPES, headers=admin_headers)
    assert [t["name"] for t in r.json["items"]] == ["停用类型", "水电"]
    subtypes = r.json["items"][1]["subtypes"]
    assert [s["id"] for s in subtypes] == [early.id, late.id]
    assert subtypes[0]["is_active"] is False

    r = client.get(TYPES, query_string={"is_active": "true"}, headers=admin_headers)
    assert [t["name"] for t in r.json["items"]] == ["水电"]
    r = client.get(TYPES, query_string={"q": "停用"}, headers=admin_headers)
    assert [t["name"] for t in r.json["items"]] == ["停用类型"]


def test_subtype_crud(client, make, org, admin_headers):
    order_type = make.order_type(org)
    r = client.post(
        f"{TYPES}/{order_type.id}/subtypes",
        json={
            "name": "水管漏水",
            "fee_mode": "charge_on_order",
            "fee_fen": 5000,
            "booking_enabled": True,
            "sort_order": 1,
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    created = r.json
    assert created["order_type_id"] == order_type.id
    assert created["fee_mode"] == "charge_on_order" and created["fee_fen"] == 5000
    assert created["booking_enabled"] is True and created["is_active"] is True

    r = client.post(
        f"{TYPES}/{order_type.id}/subtypes", json={"name": "换灯泡"}, headers=admin_headers
    )
    assert r.status_code == 201
    assert r.json["fee_mode"] == "none" and r.json["fee_fen"] == 0
    assert r.json["booking_enabled"] is False

    r = client.get(f"{TYPES}/{order_type.id}/subtypes", headers=admin_headers)
    assert [s["name"] for s in r.json] == ["换灯泡", "水管漏水"]
    r = client.get(f"{TYPES}/{order_type.id}", headers=admin_headers)
    assert len(r.json["subtypes"]) == 2

    url = f"{SUBTYPES}/{created['id']}"
    r = client.patch(
        url, json={"fee_mode": "charge_after_completion", "fee_fen": 0}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json["fee_mode"] == "charge_after_completion"
    assert client.get(url, headers=admin_headers).json["fee_fen"] == 0

    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=admin_headers).status_code == 404


def test_subtypes_show_in_the_apps_catalogue(client, make, org, admin_headers):
    order_type = client.post(TYPES, json={"name": "水电"}, headers=admin_headers).json
    client.post(
        f"{TYPES}/{order_type['id']}/subtypes", json={"name": "漏水"}, headers=admin_headers
    )
    r = client.get("/api/v1/catalog/order-types", headers=make.headers(make.tenant(org)))
    assert r.status_code == 200, r.json
    assert [s["name"] for s in r.json["items"][0]["subtypes"]] == ["漏水"]


def test_delete_type_with_subtypes_is_refused(client, make, org, admin_headers):
    order_type = make.order_type(org)
    subtype = make.subtype(order_type)
    r = client.delete(f"{TYPES}/{order_type.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"
    assert client.delete(f"{SUBTYPES}/{subtype.id}", headers=admin_headers).status_code == 204
    assert client.delete(f"{TYPES}/{order_type.id}", headers=admin_headers).status_code == 204


def test_duplicate_names_are_conflicts(client, make, org, admin_headers):
    make.order_type(org, name="水电")
    other_type = make.order_type(org, name="土建")
    r = client.post(TYPES, json={"name": "水电"}, headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "conflict" and "name" in r.json["errors"]
    r = client.patch(f"{TYPES}/{other_type.id}", json={"name": "水电"}, headers=admin_headers)
    assert r.status_code == 409 and "name" in r.json["errors"]

    make.subtype(other_type, name="漏水")
    second = make.subtype(other_type, name="堵塞")
    r = client.post(
        f"{TYPES}/{other_type.id}/subtypes", json={"name": "漏水"}, headers=admin_headers
    )
    assert r.status_code == 409 and "name" in r.json["errors"]
    r = client.patch(f"{SUBTYPES}/{second.id}", json={"name": "漏水"}, headers=admin_headers)
    assert r.status_code == 409 and "name" in r.json["errors"]
    # The same subtype name under another type is fine.
    plumbing = make.order_type(org, name="管道")
    r = client.post(f"{TYPES}/{plumbing.id}/subtypes", json={"name": "漏水"}, headers=admin_headers)
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "x", "description": "x" * 201}, "description"),
        ({"name": "x", "sort_order": -1}, "sort_order"),
        ({"name": "x", "sort_order": "1"}, "sort_order"),
        ({"name": "x", "is_active": "yes please"}, "is_active"),
        ({"name": "x", "department_id": 999999999}, "department_id"),
        ({"name": "x", "post_id": 999999999}, "post_id"),
        ({"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_order_type_validation_errors(client, admin_headers, body, field):
    r = client.post(TYPES, json=body, headers=admin_headers)
    assert r.status_code == 422
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "x", "fee_mode": "free"}, "fee_mode"),
        ({"name": "x", "fee_fen": -1}, "fee_fen"),
        ({"name": "x", "fee_fen": 12.5}, "fee_fen"),
        ({"name": "x", "fee_fen": "100"}, "fee_fen"),
        ({"name": "x", "fee_mode": "charge_on_order"}, "fee_fen"),
        ({"name": "x", "fee_mode": "charge_on_order", "fee_fen": 0}, "fee_fen"),
        ({"name": "x", "booking_enabled": "sometimes"}, "booking_enabled"),
        ({"name": "x", "order_type_id": 1}, "order_type_id"),
    ],
)
def test_subtype_validation_errors(client, make, org, admin_headers, body, field):
    order_type = make.order_type(org)
    r = client.post(f"{TYPES}/{order_type.id}/subtypes", json=body, headers=admin_headers)
    assert r.status_code == 422
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


def test_subtype_fee_is_checked_against_the_stored_amount(client, make, org, admin_headers):
    subtype = make.subtype(make.order_type(org))
    url = f"{SUBTYPES}/{subtype.id}"
    r = client.patch(url, json={"fee_mode": "charge_on_order"}, headers=admin_headers)
    assert r.status_code == 422 and "fee_fen" in r.json["errors"]
    r = client.patch(
        url, json={"fee_mode": "charge_on_order", "fee_fen": 100}, headers=admin_headers
    )
    assert r.status_code == 200
    r = client.patch(url, json={"fee_fen": 0}, headers=admin_headers)
    assert r.status_code == 422 and "fee_fen" in r.json["errors"]


def test_technicians_reached_by_the_binding(client, make, org, admin_headers):
    d, other_d = make.department(org), make.department(org)
    p, other_p = make.post(org), make.post(org)
    both = make.staff(org, department_id=d.id, post_id=p.id)
    make.staff(org, department_id=d.id, post_id=other_p.id)
    make.staff(org, department_id=other_d.id, post_id=p.id)
    make.staff(org, department_id=d.id)
    make.staff(org, roles=(Role.DISPATCHER,), department_id=d.id, post_id=p.id)
    gone = make.staff(org, department_id=d.id, post_id=p.id)
    gone.user.is_active = False
    make.session.flush()
    bound = make.order_type(org, department_id=d.id, post_id=p.id)

    r = client.get(f"{TYPES}/{bound.id}/technicians", headers=admin_headers)
    assert r.status_code == 200, r.json
    assert [s["id"] for s in r.json["items"]] == [both.id] and r.json["total"] == 1
    assert "****" in r.json["items"][0]["phone"]
    assert r.json["items"][0]["eligible_order_types"] == [{"id": bound.id, "name": bound.name}]

    dept_only = make.order_type(org, department_id=d.id)
    r = client.get(f"{TYPES}/{dept_only.id}/technicians", headers=admin_headers)
    assert r.json["total"] == 3

    unbound = make.order_type(org)
    r = client.get(
        f"{TYPES}/{unbound.id}/technicians",
        query_string={"page_size": 2, "page": 2},
        headers=admin_headers,
    )
    assert r.json["total"] == 4 and len(r.json["items"]) == 2


def test_other_organisation_is_invisible(client, make, admin_headers):
    other = make.org()
    theirs = make.order_type(other)
    their_subtype = make.subtype(theirs)
    for url in (f"{TYPES}/{theirs.id}", f"{SUBTYPES}/{their_subtype.id}"):
        assert client.get(url, headers=admin_headers).status_code == 404
        assert client.patch(url, json={"name": "x"}, headers=admin_headers).status_code == 404
        assert client.delete(url, headers=admin_headers).status_code == 404
    for url in (f"{TYPES}/{theirs.id}/subtypes", f"{TYPES}/{theirs.id}/technicians"):
        assert client.get(url, headers=admin_headers).status_code == 404
    r = client.post(f"{TYPES}/{theirs.id}/subtypes", json={"name": "x"}, headers=admin_headers)
    assert r.status_code == 404
    assert client.get(TYPES, headers=admin_headers).json["total"] == 0


def test_other_organisations_department_cannot_be_bound(client, make, org, admin_headers):
    other = make.org()
    r = client.post(
        TYPES, json={"name": "x", "department_id": make.department(other).id}, headers=admin_headers
    )
    assert r.status_code == 422 and "department_id" in r.json["errors"]
    mine = make.order_type(org)
    r = client.patch(
        f"{TYPES}/{mine.id}", json={"post_id": make.post(other).id}, headers=admin_headers
    )
    assert r.status_code == 422 and "post_id" in r.json["errors"]


def test_roles(client, make, org):
    dispatcher = make.headers(make.dispatcher(org))
    tenant = make.headers(make.tenant(org))
    order_type = make.order_type(org)
    subtype = make.subtype(order_type)
    for url in (
        TYPES,
        f"{TYPES}/{order_type.id}",
        f"{TYPES}/{order_type.id}/subtypes",
        f"{TYPES}/{order_type.id}/technicians",
        f"{SUBTYPES}/{subtype.id}",
    ):
        assert client.get(url, headers=dispatcher).status_code == 200, url
        assert client.get(url, headers=tenant).status_code == 403
        assert client.get(url).status_code == 401
    for method, url, body in [
        ("post", TYPES, {"name": "x"}),
        ("patch", f"{TYPES}/{order_type.id}", {"name": "x"}),
        ("delete", f"{TYPES}/{order_type.id}", None),
        ("post", f"{TYPES}/{order_type.id}/subtypes", {"name": "x"}),
        ("patch", f"{SUBTYPES}/{subtype.id}", {"name": "x"}),
        ("delete", f"{SUBTYPES}/{subtype.id}", None),
    ]:
        r = getattr(client, method)(url, json=body, headers=dispatcher)
        assert r.status_code == 403 and r.json["error"] == "forbidden", (method, url)
        assert getattr(client, method)(url, json=body, headers=tenant).status_code == 403
        assert getattr(client, method)(url, json=body).status_code == 401


def test_sla_hours_set_due_dates(client, make, org, admin_headers):
    r = client.post(TYPES, json={"name": "电梯", "sla_hours": 2}, headers=admin_headers)
    assert r.status_code == 201 and r.json["sla_hours"] == 2
    assert (
        client.post(TYPES, json={"name": "x", "sla_hours": 0}, headers=admin_headers).status_code
        == 422
    )
    r = client.patch(f"{TYPES}/{r.json['id']}", json={"sla_hours": 48}, headers=admin_headers)
    assert r.status_code == 200 and r.json["sla_hours"] == 48
    default = client.post(TYPES, json={"name": "默认时限"}, headers=admin_headers)
    assert default.json["sla_hours"] == 24
