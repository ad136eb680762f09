"""Console: organisation settings and the three levels of the grab cap."""

from __future__ import annotations

import pytest

from server.kernel.roles import Role

ORGANISATION = "/api/v1/admin/settings/organisation"
GRAB_CAPS = "/api/v1/admin/settings/grab-caps"


@pytest.fixture
def org(make):
    return make.org(name="阳光物业", default_grab_cap=5)


def test_read_and_change_the_organisation(client, org, admin_headers):
    r = client.get(ORGANISATION, headers=admin_headers)
    assert r.status_code == 200
    assert r.json["id"] == org.id and r.json["code"] == org.code
    assert r.json["name"] == "阳光物业" and r.json["default_grab_cap"] == 5

    r = client.patch(
        ORGANISATION, json={"name": " 月亮物业 ", "default_grab_cap": 8}, headers=admin_headers
    )
    assert r.status_code == 200, r.json
    assert r.json["name"] == "月亮物业" and r.json["default_grab_cap"] == 8
    r = client.patch(ORGANISATION, json={"default_grab_cap": 0}, headers=admin_headers)
    assert r.status_code == 200 and r.json["name"] == "月亮物业"
    assert client.get(ORGANISATION, headers=admin_headers).json["default_grab_cap"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"default_grab_cap": -1}, "default_grab_cap"),
        ({"default_grab_cap": 101}, "default_grab_cap"),
        ({"default_grab_cap": None}, "default_grab_cap"),
        ({"default_grab_cap": 2.5}, "default_grab_cap"),
        ({"code": "other"}, "code"),
    ],
)
def test_organisation_validation_errors(client, admin_headers, body, field):
    r = client.patch(ORGANISATION, json=body, headers=admin_headers)
    assert r.status_code == 422
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


def test_grab_cap_levels_and_precedence(client, make, org, admin_headers):
    department = make.department(org, name="工程部", grab_cap=None)
    plain = make.department(org, name="保洁部")
    tech = make.staff(org, department_id=department.id)
    loose = make.staff(org)
    make.staff(org, roles=(Role.DISPATCHER,))
    retired = make.staff(org)
    retired.user.is_active = False
    make.session.flush()

    def overview():
        r = client.get(GRAB_CAPS, headers=admin_headers)
        assert r.status_code == 200, r.json
        return r.json

    def tech_row(data, staff):
        return next(t for t in data["technicians"] if t["staff_id"] == staff.id)

    data = overview()
    assert data["organisation_default"] == 5
    assert data["departments"] == [
        {"id": department.id, "name": "工程部", "grab_cap": None, "effective": 5},
        {"id": plain.id, "name": "保洁部", "grab_cap": None, "effective": 5},
    ]
    assert {t["staff_id"] for t in data["technicians"]} == {tech.id, loose.id}
    assert tech_row(data, tech) == {
        "staff_id": tech.id,
        "name": tech.user.name,
        "department_id": department.id,
        "override": None,
        "effective": 5,
    }

    # Organisation 5 → department 3 → technician 1: the most specific wins.
    client.patch(
        f"/api/v1/admin/departments/{department.id}", json={"grab_cap": 3}, headers=admin_headers
    )
    data = overview()
    assert data["departments"][0]["effective"] == 3
    assert tech_row(data, tech)["effective"] == 3
    assert tech_row(data, loose)["effective"] == 5

    client.patch(f"/api/v1/admin/staff/{tech.id}", json={"grab_cap": 1}, headers=admin_headers)
    row = tech_row(overview(), tech)
    assert row["override"] == 1 and row["effective"] == 1

    client.patch(f"/api/v1/admin/staff/{tech.id}", json={"grab_cap": None}, headers=admin_headers)
    row = tech_row(overview(), tech)
    assert row["override"] is None and row["effective"] == 3

    client.patch(ORGANISATION, json={"default_grab_cap": 7}, headers=admin_headers)
    data = overview()
    assert data["organisation_default"] == 7
    assert tech_row(data, tech)["effective"] == 3
    assert tech_row(data, loose)["effective"] == 7
    assert data["departments"][1]["effective"] == 7


def test_the_technician_sees_the_same_cap(client, make, org, admin_headers):
    department = make.department(org, grab_cap=3)
    tech = make.staff(org, department_id=department.id, grab_cap=1)
    me = client.get("/api/v1/me", headers=make.headers(tech.user)).json
    assert me["staff"]["grab_cap"] == 1
    client.patch(f"/api/v1/admin/staff/{tech.id}", json={"grab_cap": None}, headers=admin_headers)
    me = client.get("/api/v1/me", headers=make.headers(tech.user)).json
    assert me["staff"]["grab_cap"] == 3


def test_only_the_callers_organisation_is_shown(client, make, admin_headers):
    other = make.org(default_grab_cap=9)
    make.department(other)
    make.staff(other)
    data = client.get(GRAB_CAPS, headers=admin_headers).json
    assert data["organisation_default"] == 5
    assert data["departments"] == [] and data["technicians"] == []
    r = client.patch(ORGANISATION, json={"default_grab_cap": 2}, headers=admin_headers)
    assert r.status_code == 200
    make.session.refresh(other)
    assert other.default_grab_cap == 9


def test_roles(client, make, org):
    dispatcher = make.headers(make.dispatcher(org))
    tenant = make.headers(make.tenant(org))
    technician = make.headers(make.staff(org).user)
    for url in (ORGANISATION, GRAB_CAPS):
        assert client.get(url, headers=dispatcher).status_code == 200
        assert client.get(url, headers=tenant).status_code == 403
        assert client.get(url, headers=technician).status_code == 403
        assert client.get(url).status_code == 401
    r = client.patch(ORGANISATION, json={"default_grab_cap": 1}, headers=dispatcher)
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert (
        client.patch(ORGANISATION, json={"default_grab_cap": 1}, headers=tenant).status_code == 403
    )
    assert client.patch(ORGANISATION, json={"default_grab_cap": 1}).status_code == 401


def test_reopen_window_is_configurable(client, make, org, admin_headers):
    url = "/api/v1/admin/settings/organisation"
    assert client.get(url, headers=admin_headers).json["reopen_window_days"] == 7
    r = client.patch(url, json={"reopen_window_days": 3}, headers=admin_headers)
    assert r.status_code == 200 and r.json["reopen_window_days"] == 3
    r = client.patch(url, json={"reopen_window_days": 400}, headers=admin_headers)
    assert r.status_code == 422 and "reopen_window_days" in r.json["errors"]
