"""Logins through the real HTTP API, with WeChat faked at the wire on a loopback port."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from server.kernel.roles import Role
from tests.factories import PASSWORD

LOGIN = "/api/v1/auth/login"
WX_LOGIN = "/api/v1/auth/wechat/login"
WX_PHONE = "/api/v1/auth/wechat/phone"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/me"
ROOMS = "/api/v1/tenant/rooms"


def bearer(body):
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.fixture
def org(make):
    return make.org(code="sun")


@pytest.fixture
def resident(make, org):
    """A registered resident: customer + contact + room, with no login yet."""
    community = make.community(org, name="阳光花园")
    room = make.room(make.building(community, name="1栋"), code="101")
    customer = make.customer(org, name="张三")
    contact = make.contact(customer, phone="13800000001", relation="self")
    make.holds(customer, room, relation="owner")
    return contact, room


# --- password login -------------------------------------------------------------------------


def test_staff_password_login_and_me(client, make, org):
    department = make.department(org, name="工程部", grab_cap=3)
    staff = make.staff(org, phone="13900000001", department_id=department.id)
    r = client.post(LOGIN, json={"phone": "139-0000-0001", "password": PASSWORD})
    assert r.status_code == 200, r.json
    body = r.json
    assert body["expires_in"] == 30 * 60 and body["token_type"] == "Bearer"
    assert body["user"]["roles"] == ["technician"]
    assert body["user"]["staff"]["id"] == staff.id
    assert body["user"]["staff"]["grab_cap"] == 3
    me = client.get(ME, headers=bearer(body))
    assert me.status_code == 200 and me.json["org_code"] == "sun"
    assert me.json["staff"]["department_name"] == "工程部"


@pytest.mark.parametrize("password", ["wrong-password", ""])
def test_wrong_password(client, make, org, password):
    make.staff(org, phone="13900000002")
    r = client.post(LOGIN, json={"phone": "13900000002", "password": password})
    expected = 422 if password == "" else 401
    assert r.status_code == expected
    if expected == 401:
        assert r.json["error"] == "unauthorized" and r.json["message"] == "手机号或密码错误"


def test_unknown_phone_is_the_same_401(client, org):
    r = client.post(LOGIN, json={"phone": "13912345678", "password": PASSWORD})
    assert r.status_code == 401 and r.json["message"] == "手机号或密码错误"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"phone", "password"}),
        ({"phone": "12345", "password": "x"}, {"phone"}),
        ({"phone": 13900000000, "password": "x"}, {"phone"}),
        ({"phone": "13900000000", "password": "x", "extra": 1}, {"extra"}),
        ({"phone": "13900000000", "password": "x", "org": ""}, {"org"}),
    ],
)
def test_login_validation(client, body, fields):
    r = client.post(LOGIN, json=body)
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert set(r.json["errors"]) == fields


def test_deactivated_user_cannot_log_in(client, make, org):
    staff = make.staff(org, phone="13900000003")
    staff.user.is_active = False
    make.session.flush()
    r = client.post(LOGIN, json={"phone": "13900000003", "password": PASSWORD})
    assert r.status_code == 403 and r.json["error"] == "forbidden"


def test_same_phone_in_two_organisations_needs_the_org(client, make, org):
    other = make.org(code="moon")
    make.staff(org, phone="13900000004")
    theirs = make.staff(other, phone="13900000004")
    r = client.post(LOGIN, json={"phone": "13900000004", "password": PASSWORD})
    assert r.status_code == 422 and "org" in r.json["errors"]
    r = client.post(LOGIN, json={"phone": "13900000004", "password": PASSWORD, "org": "moon"})
    assert r.status_code == 200 and r.json["user"]["id"] == theirs.user_id


# --- WeChat login ---------------------------------------------------------------------------


def test_wechat_login_creates_the_tenant_once(client, fake_wechat, org):
    code = fake_wechat.login_code(openid="oUser1")
    first = client.post(WX_LOGIN, json={"code": code, "org": org.code})
    assert first.status_code == 200, first.json
    user = first.json["user"]
    assert user["roles"] == ["tenant"] and user["phone"] is None and user["wechat_bound"]
    again = client.post(
        WX_LOGIN, json={"code": fake_wechat.login_code(openid="oUser1"), "org": org.code}
    )
    assert again.json["user"]["id"] == user["id"]
    assert client.get(ROOMS, headers=bearer(first.json)).json["items"] == []


def test_wechat_code_reuse_is_40029_as_a_clear_400(client, fake_wechat, org):
    code = fake_wechat.login_code()
    assert client.post(WX_LOGIN, json={"code": code, "org": org.code}).status_code == 200
    r = client.post(WX_LOGIN, json={"code": code, "org": org.code})
    assert r.status_code == 400
    assert r.json["error"] == "wechat_code_invalid" and r.json["message"]


@pytest.mark.parametrize(
    ("errcode", "status", "error"),
    [
        (-1, 503, "upstream_unavailable"),
        (45011, 429, "rate_limited"),
        (40226, 403, "wechat_user_blocked"),
        (40013, 502, "upstream_error"),
        (40164, 502, "upstream_error"),
    ],
)
def test_wechat_errors_become_clear_answers(client, fake_wechat, org, errcode, status, error):
    fake_wechat.fail_next("/sns/jscode2session", errcode)
    r = client.post(WX_LOGIN, json={"code": fake_wechat.login_code(), "org": org.code})
    assert r.status_code == status and r.json["error"] == error
    assert "Traceback" not in r.get_data(as_text=True)


def test_wechat_unreachable_is_503(client, app, org, monkeypatch):
    monkeypatch.setattr(app.extensions["baoxiu"].wechat, "base_url", "http://127.0.0.1:9")
    r = client.post(WX_LOGIN, json={"code": "anything", "org": org.code})
    assert r.status_code == 503 and r.json["error"] == "upstream_unavailable"


def test_wechat_login_needs_the_org_when_there_are_several(client, fake_wechat, make, org):
    make.org(code="moon")
    r = client.post(WX_LOGIN, json={"code": fake_wechat.login_code()})
    assert r.status_code == 422 and "org" in r.json["errors"]
    r = client.post(WX_LOGIN, json={"code": fake_wechat.login_code(), "org": "nope"})
    assert r.status_code == 422 and "org" in r.json["errors"]
    r = client.post(WX_LOGIN, json={"code": fake_wechat.login_code(), "org": "moon"})
    assert r.status_code == 200


# --- phone binding --------------------------------------------------------------------------


def wechat_tenant(client, fake_wechat, org, openid="oTenant"):
    r = client.post(WX_LOGIN, json={"code": fake_wechat.login_code(openid=openid), "org": org.code})
    assert r.status_code == 200, r.json
    return r.json


def test_bind_registered_phone_then_see_rooms(client, fake_wechat, resident, org):
    _, room = resident
    login = wechat_tenant(client, fake_wechat, org)
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13800000001")}, headers=bearer(login)
    )
    assert r.status_code == 200, r.json
    assert r.json["user"]["phone"] == "13800000001"
    rooms = client.get(ROOMS, headers=bearer(r.json)).json["items"]
    assert [item["room"]["id"] for item in rooms] == [room.id]
    assert rooms[0]["relation"] == "owner"
    assert rooms[0]["room"]["label"] == "阳光花园 1栋 101"


def test_unregistered_phone_is_refused(client, fake_wechat, resident, org):
    login = wechat_tenant(client, fake_wechat, org)
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13700009999")}, headers=bearer(login)
    )
    assert r.status_code == 403 and r.json["error"] == "phone_not_registered"
    assert client.get(ME, headers=bearer(login)).json["phone"] is None


def test_foreign_number_is_not_registered(client, fake_wechat, resident, org):
    login = wechat_tenant(client, fake_wechat, org)
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13800000001", 852)}, headers=bearer(login)
    )
    assert r.status_code == 403 and r.json["error"] == "phone_not_registered"


def test_country_code_as_a_number_is_accepted(client, fake_wechat, resident, org):
    login = wechat_tenant(client, fake_wechat, org)
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13800000001", 86)}, headers=bearer(login)
    )
    assert r.status_code == 200


def test_access_token_is_fetched_once_and_cached(client, fake_wechat, make, org, resident):
    customer = make.customer(org)
    make.contact(customer, phone="13800000002")
    for openid, phone in (("oA", "13800000001"), ("oB", "13800000002")):
        login = wechat_tenant(client, fake_wechat, org, openid=openid)
        r = client.post(
            WX_PHONE, json={"code": fake_wechat.phone_code(phone)}, headers=bearer(login)
        )
        assert r.status_code == 200
    assert fake_wechat.calls["stable_token"] == 1
    assert fake_wechat.calls["getuserphonenumber"] == 2


def test_rejected_token_40001_is_refreshed_once_and_retried(client, fake_wechat, resident, org):
    login = wechat_tenant(client, fake_wechat, org)
    client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13700000000")}, headers=bearer(login)
    )  # caches a token (and fails: not registered)
    fake_wechat.revoke_tokens()
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13800000001")}, headers=bearer(login)
    )
    assert r.status_code == 200, r.json
    assert fake_wechat.calls["stable_token"] == 2


def test_token_rejected_twice_is_502_not_a_crash(client, fake_wechat, resident, org):
    login = wechat_tenant(client, fake_wechat, org)
    fake_wechat.fail_next("/wxa/business/getuserphonenumber", 40001, 40001)
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13800000001")}, headers=bearer(login)
    )
    assert r.status_code == 502 and r.json["error"] == "upstream_error"


def test_phone_code_reuse_is_400(client, fake_wechat, resident, org):
    login = wechat_tenant(client, fake_wechat, org)
    code = fake_wechat.phone_code("13800000001")
    assert client.post(WX_PHONE, json={"code": code}, headers=bearer(login)).status_code == 200
    r = client.post(WX_PHONE, json={"code": code}, headers=bearer(login))
    assert r.status_code == 400 and r.json["error"] == "wechat_code_invalid"


def test_binding_joins_the_existing_login_of_that_phone(client, fake_wechat, make, org, resident):
    existing = make.tenant(org, phone="13800000001")
    login = wechat_tenant(client, fake_wechat, org)
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13800000001")}, headers=bearer(login)
    )
    assert r.status_code == 200 and r.json["user"]["id"] == existing.id
    # The placeholder login is gone; its token no longer works.
    assert client.get(ME, headers=bearer(login)).status_code == 401
    again = client.post(
        WX_LOGIN, json={"code": fake_wechat.login_code(openid="oTenant"), "org": org.code}
    )
    assert again.json["user"]["id"] == existing.id


def test_phone_bound_to_another_wechat_is_a_conflict(client, fake_wechat, make, org, resident):
    make.tenant(org, phone="13800000001", wechat_openid="oSomeoneElse")
    login = wechat_tenant(client, fake_wechat, org)
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13800000001")}, headers=bearer(login)
    )
    assert r.status_code == 409 and r.json["error"] == "phone_bound_elsewhere"


def test_phone_binding_needs_a_tenant_token(client, make, org, fake_wechat):
    staff = make.staff(org)
    r = client.post(WX_PHONE, json={"code": "x"}, headers=make.headers(staff.user))
    assert r.status_code == 403
    assert client.post(WX_PHONE, json={"code": "x"}).status_code == 401


# --- tokens ---------------------------------------------------------------------------------


def password_login(client, make, org):
    make.staff(org, phone="13900000009")
    r = client.post(LOGIN, json={"phone": "13900000009", "password": PASSWORD})
    assert r.status_code == 200
    return r.json


def test_refresh_rotates(client, make, org):
    first = password_login(client, make, org)
    r = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get(ME, headers=bearer(second)).status_code == 200


def test_replayed_refresh_token_revokes_the_family(client, make, org):
    first = password_login(client, make, org)
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json
    replay = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json["error"] == "unauthorized"
    r = client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401


def test_replayed_refresh_token_ends_the_access_tokens_too(client, make, org):
    """The thief who rotated a stolen refresh token must not keep its access token either."""
    first = password_login(client, make, org)
    thief = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json
    assert client.get(ME, headers=bearer(thief)).status_code == 200
    replay = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json["error"] == "unauthorized"
    for pair in (thief, first):
        r = client.get(ME, headers=bearer(pair))
        assert r.status_code == 401 and r.json["error"] == "unauthorized"
    again = client.post(LOGIN, json={"phone": "13900000009", "password": PASSWORD})
    assert again.status_code == 200
    assert client.get(ME, headers=bearer(again.json)).status_code == 200


def test_access_token_is_not_a_refresh_token(client, make, org):
    first = password_login(client, make, org)
    r = client.post(REFRESH, json={"refresh_token": first["access_token"]})
    assert r.status_code == 401
    r = client.get(ME, headers={"Authorization": f"Bearer {first['refresh_token']}"})
    assert r.status_code == 401


def test_expired_access_token(client, app, make, org):
    user = make.tenant(org)
    past = datetime.now(UTC) - timedelta(hours=2)
    pair = app.extensions["baoxiu"].tokens.issue(make.session, user=user, now=past)
    make.session.flush()
    r = client.get(ME, headers={"Authorization": f"Bearer {pair.access_token}"})
    assert r.status_code == 401 and r.json["error"] == "token_expired"
    r = client.post(REFRESH, json={"refresh_token": pair.refresh_token})
    assert r.status_code == 200


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer not-a-jwt", "Basic abc", "Token x"])
def test_bad_authorization_headers(client, header):
    r = client.get(ME, headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and r.json["error"] == "unauthorized"


def test_token_signed_with_another_key(client, make, org):
    import jwt

    now = datetime.now(UTC)
    forged = jwt.encode(
        {
            "sub": "1",
            "org": org.id,
            "roles": ["admin"],
            "typ": "access",
            "iss": "baoxiu",
            "iat": now,
            "exp": now + timedelta(minutes=5),
        },
        "another-key-another-key-another-key",
        algorithm="HS256",
    )
    r = client.get(ME, headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_deactivated_user_token_stops_working(client, make, org):
    staff = make.staff(org)
    headers = make.headers(staff.user)
    staff.user.is_active = False
    make.session.flush()
    assert client.get(ME, headers=headers).status_code == 401


# --- tenant isolation -----------------------------------------------------------------------


def test_tenant_sees_only_their_current_rooms(client, make, org, resident):
    contact, room = resident
    building = room.building
    other_room = make.room(building, code="102")
    neighbour = make.customer(org)
    make.contact(neighbour, phone="13800000002")
    make.holds(neighbour, other_room, relation="tenant")
    # Past and future relations of the resident do not count today.
    old = make.room(building, code="103")
    make.holds(contact.customer, old, start_date=date(2019, 1, 1), end_date=date(2020, 1, 1))
    future = make.room(building, code="104")
    make.holds(contact.customer, future, start_date=date.today() + timedelta(days=30))

    me = make.headers(make.tenant(org, phone="13800000001"))
    ids = [i["room"]["id"] for i in client.get(ROOMS, headers=me).json["items"]]
    assert ids == [room.id]
    them = make.headers(make.tenant(org, phone="13800000002"))
    ids = [i["room"]["id"] for i in client.get(ROOMS, headers=them).json["items"]]
    assert ids == [other_room.id]


def test_family_member_sees_the_household_rooms(client, make, org, resident):
    contact, room = resident
    make.contact(contact.customer, phone="13800000003", relation="family", name="王芳")
    headers = make.headers(make.tenant(org, phone="13800000003"))
    assert [i["room"]["id"] for i in client.get(ROOMS, headers=headers).json["items"]] == [room.id]


def test_same_phone_in_another_org_sees_nothing_here(client, make, org, resident):
    other = make.org()
    headers = make.headers(make.tenant(other, phone="13800000001"))
    assert client.get(ROOMS, headers=headers).json["items"] == []


def test_staff_cannot_use_tenant_endpoints(client, make, org):
    staff = make.staff(org, roles=(Role.DISPATCHER,))
    r = client.get(ROOMS, headers=make.headers(staff.user))
    assert r.status_code == 403 and r.json["error"] == "forbidden"


# --- no network call inside a database transaction ------------------------------------------


@pytest.fixture
def transaction_watch(app, monkeypatch):
    """Records, for each WeChat call, whether the request's transaction was open at the time."""
    from flask import g

    wechat = app.extensions["baoxiu"].wechat
    seen = []

    def watch(name):
        original = getattr(wechat, name)

        def call(*args, **kwargs):
            uow = g.get("uow")
            seen.append((name, uow is not None and uow.session.in_transaction()))
            return original(*args, **kwargs)

        monkeypatch.setattr(wechat, name, call)

    watch("code2session")
    watch("phone_number")
    return seen


def test_wechat_is_called_before_the_transaction_opens(
    client, fake_wechat, resident, transaction_watch, org
):
    login = wechat_tenant(client, fake_wechat, org)
    r = client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code("13800000001")}, headers=bearer(login)
    )
    assert r.status_code == 200, r.json
    assert transaction_watch == [("code2session", False), ("phone_number", False)]


# --- tokens signed with our key but not shaped like ours --------------------------------------


def forge(settings, **claims):
    import jwt

    now = datetime.now(UTC)
    base = {"iss": "baoxiu", "iat": now, "exp": now + timedelta(minutes=10)}
    merged = {k: v for k, v in {**base, **claims}.items() if v is not None}
    return jwt.encode(merged, settings.secret_key, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "abc"},
        {"sub": "１２"},  # full-width digits: str.isdigit() says yes, int() agrees, we do not
        {"sub": "0"},
        {"sub": str(2**63)},
        {"jti": 5},
        {"jti": None},
        {"org": "x"},
        {"exp": "soon"},
    ],
    ids=repr,
)
def test_refresh_tokens_with_odd_claims_are_unauthorized(client, settings, make, org, claims):
    import jwt

    user = make.tenant(org)
    issued = make.tokens.issue(make.session, user=user, now=datetime.now(UTC))
    make.session.flush()
    jti = jwt.decode(issued.refresh_token, options={"verify_signature": False})["jti"]
    # A real refresh token's jti: only the odd claim can be what refuses it.
    base = {"sub": str(user.id), "org": org.id, "typ": "refresh", "jti": jti}
    token = forge(settings, **{**base, **claims})
    r = client.post(REFRESH, json={"refresh_token": token})
    assert r.status_code == 401 and r.json["error"] == "unauthorized", r.json


@pytest.mark.parametrize(
    "claims",
    [
        {"ver": "1"},
        {"ver": -1},
        {"ver": True},
        {"ver": 1},  # a version the user never had
        {"stf": True},
        {"stf": 0},
        {"org": True},
        {"roles": [1, "tenant"]},
        {"exp": float("inf")},
    ],
    ids=repr,
)
def test_access_tokens_with_odd_claims_are_unauthorized(client, settings, make, org, claims):
    user = make.tenant(org)
    base = {"sub": str(user.id), "org": org.id, "roles": ["tenant"], "typ": "access", "ver": 0}
    headers = {"Authorization": f"Bearer {forge(settings, **{**base, **claims})}"}
    r = client.get(ME, headers=headers)
    assert r.status_code == 401 and r.json["error"] == "unauthorized", r.json


def test_a_token_of_another_organisation_is_refused(client, settings, make, org):
    user = make.tenant(org)
    elsewhere = make.org()
    token = forge(
        settings, sub=str(user.id), org=elsewhere.id, roles=["tenant"], typ="access", ver=0
    )
    r = client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
