"""Hostile input answers 4xx in the error shape of docs/api.md, never 500.

Each case was found from outside: numbers beyond PostgreSQL's bigint, NUL bytes, lone
surrogates, absurdly nested JSON, and access tokens with a valid signature but odd claims.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import jwt
import pytest

from tests.factories import PASSWORD

BIGINT_MAX = 2**63 - 1
HUGE = 99999999999999999999  # > 2**63: PostgreSQL refuses it as a bigint
CJK = re.compile(r"[\u4e00-\u9fff]")


def assert_error(response: Any, status: int, error: str) -> dict[str, Any]:
    """The response is the docs/api.md error shape with a stable id and a zh-CN message."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) <= {"code", "status", "error", "message", "errors"}, body
    assert body["code"] == status
    assert body["status"] == HTTPStatus(status).phrase
    assert body["error"] == error
    assert CJK.search(body["message"]), body["message"]
    for field, texts in body.get("errors", {}).items():
        assert isinstance(field, str) and texts and all(CJK.search(t) for t in texts), body
    return body


def raw_json(value: Any) -> dict[str, Any]:
    """A JSON body as a client would send it (`\\ud800` escapes stay escapes on the wire)."""
    return {"data": json.dumps(value, ensure_ascii=True), "content_type": "application/json"}


# --- integers beyond bigint ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("get", "/api/v1/admin/rooms/{n}", "admin"),
        ("patch", "/api/v1/admin/rooms/{n}", "admin"),
        ("delete", "/api/v1/admin/communities/{n}", "admin"),
        ("get", "/api/v1/admin/orders/{n}", "admin"),
        ("post", "/api/v1/admin/orders/{n}/assign", "admin"),
        ("get", "/api/v1/admin/order-types/{n}/technicians", "admin"),
        ("get", "/api/v1/tenant/orders/{n}", "tenant"),
        ("post", "/api/v1/tenant/orders/{n}/cancel", "tenant"),
        ("post", "/api/v1/tech/orders/{n}/grab", "tech"),
        ("get", "/api/v1/tech/orders/{n}", "tech"),
    ],
)
@pytest.mark.parametrize("n", [HUGE, BIGINT_MAX + 1])
def test_path_ids_beyond_bigint_are_not_found(client, place, method, path, who, n):
    headers = getattr(place, f"{who}_headers")
    r = getattr(client, method)(path.format(n=n), headers=headers, json={})
    assert_error(r, 404, "not_found")


def test_the_largest_bigint_is_an_ordinary_missing_row(client, place):
    r = client.get(f"/api/v1/admin/rooms/{BIGINT_MAX}", headers=place.admin_headers)
    assert_error(r, 404, "not_found")


@pytest.mark.parametrize("zero", ["\uff10", "\u0660", "\u0966"])  # full-width, Arabic, Devanagari
def test_path_ids_in_other_scripts_digits_name_nothing(client, place, zero):
    """`/rooms/１` was room 1: werkzeug's `\\d` matched any script's digits, `int()` read them."""
    room = f"/api/v1/admin/rooms/{place.room.id}"
    spelled = "".join(chr(ord(zero) + int(d)) for d in str(place.room.id))
    other = f"/api/v1/admin/rooms/{spelled}"
    assert_error(client.get(other, headers=place.admin_headers), 404, "not_found")
    assert_error(client.delete(other, headers=place.admin_headers), 404, "not_found")
    assert client.get(room, headers=place.admin_headers).status_code == 200


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/admin/rooms?building_id={n}", "building_id"),
        ("/api/v1/admin/buildings?community_id={n}", "community_id"),
        ("/api/v1/admin/orders?room_id={n}", "room_id"),
        ("/api/v1/admin/orders?assignee_id={n}", "assignee_id"),
        ("/api/v1/admin/rooms?page={n}", "page"),
        ("/api/v1/admin/communities?page={n}", "page"),
        ("/api/v1/admin/orders?page={n}", "page"),
        ("/api/v1/admin/rooms?page_size={n}", "page_size"),
        # Fits a bigint, but the row offset (page - 1) × page_size would not.
        ("/api/v1/admin/rooms?page=4611686018427387904&page_size=100", "page"),
    ],
)
def test_query_integers_beyond_bigint_are_validation_errors(client, place, path, field):
    r = client.get(path.format(n=HUGE), headers=place.admin_headers)
    body = assert_error(r, 422, "validation_error")
    assert field in body["errors"]


@pytest.mark.parametrize("who", ["tenant", "tech"])
def test_page_beyond_bigint_on_the_apps(client, place, who):
    path = {"tenant": "/api/v1/tenant/orders", "tech": "/api/v1/tech/pool"}[who]
    r = client.get(f"{path}?page={HUGE}", headers=getattr(place, f"{who}_headers"))
    assert "page" in assert_error(r, 422, "validation_error")["errors"]


def test_body_ids_beyond_bigint_are_validation_errors(client, place):
    r = client.post(
        "/api/v1/admin/rooms",
        json={"building_id": HUGE, "code": "9-901", "floor": 9},
        headers=place.admin_headers,
    )
    assert "building_id" in assert_error(r, 422, "validation_error")["errors"]

    for field in ("subtype_id", "room_id"):
        body = {"subtype_id": place.subtype.id, "room_id": place.room.id, "description": "漏水"}
        body[field] = HUGE
        r = client.post("/api/v1/tenant/orders", json=body, headers=place.tenant_headers)
        assert field in assert_error(r, 422, "validation_error")["errors"]


# --- NUL bytes and lone surrogates -----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/admin/communities?q=a%00b",
        "/api/v1/admin/rooms?q=%00",
        "/api/v1/admin/orders?q=1380%000",
        "/api/v1/admin/customers?q=%00",
        "/api/v1/admin/rooms?q%00=1",
    ],
)
def test_nul_in_the_query_string_is_a_validation_error(client, place, path):
    r = client.get(path, headers=place.admin_headers)
    assert_error(r, 422, "validation_error")


@pytest.mark.parametrize("path", ["/api/v1/uploads/a%00b", "/api/v1/uploads/%00"])
def test_nul_in_a_path_segment_names_nothing(client, place, path):
    assert_error(client.get(path, headers=place.tenant_headers), 404, "not_found")


@pytest.mark.parametrize("bad", ["a\u0000b", "a\ud800b", "\udfff"])
def test_bad_characters_in_text_fields_are_validation_errors(client, place, bad):
    r = client.post(
        "/api/v1/admin/communities",
        **raw_json({"code": "BAD01", "name": bad}),
        headers=place.admin_headers,
    )
    assert "name" in assert_error(r, 422, "validation_error")["errors"]

    body = {"subtype_id": place.subtype.id, "room_id": place.room.id, "description": bad}
    r = client.post("/api/v1/tenant/orders", **raw_json(body), headers=place.tenant_headers)
    assert "description" in assert_error(r, 422, "validation_error")["errors"]


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "13812345678", "password": "\ud800"},
        {"phone": "13812345678", "password": "pass\u0000word"},
        {"phone": "1381234\ud8005678", "password": "secret-pass-1"},
        {"phone": "13812345678", "password": "secret-pass-1", "org": "\udbff"},
        {"phone": "13812345678", "password": "secret-pass-1", "\ud800": 1},
    ],
)
def test_bad_characters_on_login_are_validation_errors(client, place, body):
    r = client.post("/api/v1/auth/login", **raw_json(body))
    assert_error(r, 422, "validation_error")


def test_bad_characters_in_nested_values(client, place):
    body = {
        "subtype_id": place.subtype.id,
        "room_id": place.room.id,
        "description": "漏水",
        "image_ids": ["\u0000"],
    }
    r = client.post("/api/v1/tenant/orders", **raw_json(body), headers=place.tenant_headers)
    assert_error(r, 422, "validation_error")


# --- nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    ["[" * 5000, "[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 100 + "]" * 100],
    ids=["open", "balanced", "objects", "hundred"],
)
@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/admin/communities"])
def test_deeply_nested_json_is_a_validation_error(client, place, data, path):
    r = client.post(path, data=data, content_type="application/json", headers=place.admin_headers)
    assert_error(r, 422, "validation_error")


def test_ordinary_nesting_still_works(client, place):
    r = client.post(
        "/api/v1/admin/communities",
        json={"code": "OK01", "name": "阳光花园", "address": "人民路 1 号"},
        headers=place.admin_headers,
    )
    assert r.status_code == 201, r.get_data(as_text=True)


# --- access tokens with a valid signature but odd claims ------------------------------------


def forge(settings, place, **changes: Any) -> dict[str, str]:
    """An access token signed with the server's key, with claims changed (None: removed)."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(place.tenant.id),
        "org": place.org.id,
        "roles": ["tenant"],
        "typ": "access",
        "stf": None,
        "iss": "baoxiu",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=10),
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None or k == "stf"}
    token = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def _drop(name: str) -> dict[str, Any]:
    return {name: None}


@pytest.mark.parametrize(
    "changes",
    [
        _drop("sub"),
        _drop("org"),
        _drop("roles"),
        _drop("exp"),
        _drop("iat"),
        _drop("typ"),
        {"sub": "abc"},
        {"sub": str(HUGE)},
        {"sub": "-1"},
        {"org": "abc"},
        {"org": HUGE},
        {"org": [1]},
        {"org": 1.5},
        {"roles": "tenant"},
        {"stf": "abc"},
        {"stf": HUGE},
        {"exp": "soon"},
        {"exp": [1]},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}"[:30] for k, v in c.items()),
)
@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/tenant/rooms"])
def test_tokens_with_odd_claims_are_unauthorized(client, settings, place, changes, path):
    r = client.get(path, headers=forge(settings, place, **changes))
    assert_error(r, 401, "unauthorized")


@pytest.mark.parametrize("roles", [[None, {"admin": 1}, 7], "admin", [["admin"]]])
def test_a_roles_claim_of_any_shape_grants_nothing(client, settings, place, roles):
    """Roles come from the user's current state, not the token; odd ones are never a 500."""
    headers = forge(settings, place, roles=roles)
    r = client.get("/api/v1/admin/rooms", headers=headers)
    assert_error(r, r.status_code, "forbidden" if r.status_code == 403 else "unauthorized")
    assert r.status_code in (401, 403)


def test_a_forged_token_with_the_right_claims_works(client, settings, place):
    """The forger above is faithful: with unchanged claims the token is accepted."""
    r = client.get("/api/v1/tenant/rooms", headers=forge(settings, place))
    assert r.status_code == 200, r.get_data(as_text=True)


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": "soon"},
        {"exp": [1]},
        {"sub": "abc"},
        {"sub": None},
        {"org": None},
        {"org": "abc"},
        {"jti": None},
        {"jti": ["x"]},
        {"jti": "\u0000"},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}"[:30] for k, v in c.items()),
)
def test_refresh_tokens_with_odd_claims_are_unauthorized(client, settings, place, changes):
    """A refresh token signed with our key, its claims changed; its `jti` names a real row."""
    r = client.post("/api/v1/auth/login", json={"phone": "13812345678", "password": PASSWORD})
    assert r.status_code == 200, r.get_data(as_text=True)
    claims = jwt.decode(r.json["refresh_token"], options={"verify_signature": False})
    claims = {k: v for k, v in {**claims, **changes}.items() if v is not None}
    token = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    r = client.post("/api/v1/auth/refresh", **raw_json({"refresh_token": token}))
    assert_error(r, r.status_code, "unauthorized" if r.status_code == 401 else "validation_error")
    assert r.status_code in (401, 422)
