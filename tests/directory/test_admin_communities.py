"""Console: communities — CRUD, validation, roles and organisation isolation."""

from __future__ import annotations

import pytest

URL = "/api/v1/admin/communities"


def test_create_list_get_update_delete(client, admin_headers):
    r = client.post(
        URL,
        json={"code": "SUN01", "name": " 阳光花园 ", "address": "中山路 1 号"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    created = r.json
    assert created["name"] == "阳光花园"
    assert created["created_at"].endswith("+08:00")

    r = client.get(URL, query_string={"q": "阳光"}, headers=admin_headers)
    assert r.status_code == 200
    assert r.json["total"] == 1 and r.json["items"][0]["id"] == created["id"]
    assert r.json["page"] == 1 and r.json["page_size"] == 20

    r = client.patch(f"{URL}/{created['id']}", json={"name": "阳光花园二期"}, headers=admin_headers)
    assert r.status_code == 200 and r.json["name"] == "阳光花园二期"
    assert client.get(f"{URL}/{created['id']}", headers=admin_headers).json["code"] == "SUN01"

    assert client.delete(f"{URL}/{created['id']}", headers=admin_headers).status_code == 204
    r = client.get(f"{URL}/{created['id']}", headers=admin_headers)
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_duplicate_code_is_a_conflict(client, admin_headers):
    client.post(URL, json={"code": "A1", "name": "一"}, headers=admin_headers)
    r = client.post(URL, json={"code": "A1", "name": "二"}, headers=admin_headers)
    assert r.status_code == 409
    assert r.json["error"] == "conflict" and "code" in r.json["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "无编码"}, "code"),
        ({"code": "bad code!", "name": "x"}, "code"),
        ({"code": "OK1"}, "name"),
        ({"code": "OK1", "name": "   "}, "name"),
        ({"code": "OK1", "name": "x" * 101}, "name"),
        ({"code": "OK1", "name": "x", "address": 5}, "address"),
        ({"code": "OK1", "name": "x", "colour": "red"}, "colour"),
    ],
)
def test_validation_errors(client, admin_headers, body, field):
    r = client.post(URL, json=body, headers=admin_headers)
    assert r.status_code == 422
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


@pytest.mark.parametrize("query", [{"page": 0}, {"page_size": 101}, {"page": "x"}])
def test_bad_pagination(client, admin_headers, query):
    r = client.get(URL, query_string=query, headers=admin_headers)
    assert r.status_code == 422 and r.json["error"] == "validation_error"


def test_delete_in_use_is_refused(client, make, org, admin_headers):
    community = make.community(org)
    make.building(community)
    r = client.delete(f"{URL}/{community.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"


def test_other_organisation_is_invisible(client, make, admin_headers):
    other = make.org()
    theirs = make.community(other)
    assert client.get(f"{URL}/{theirs.id}", headers=admin_headers).status_code == 404
    assert (
        client.patch(f"{URL}/{theirs.id}", json={"name": "x"}, headers=admin_headers).status_code
        == 404
    )
    assert client.delete(f"{URL}/{theirs.id}", headers=admin_headers).status_code == 404
    assert client.get(URL, headers=admin_headers).json["total"] == 0


def test_roles(client, make, org):
    dispatcher = make.headers(make.dispatcher(org))
    tenant = make.headers(make.tenant(org))
    assert client.get(URL, headers=dispatcher).status_code == 200
    r = client.post(URL, json={"code": "X", "name": "x"}, headers=dispatcher)
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert client.get(URL, headers=tenant).status_code == 403
    assert client.get(URL).status_code == 401
