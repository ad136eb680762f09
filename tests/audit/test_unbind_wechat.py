"""解绑微信: a resident changed WeChat; the desk unbinds the old one so the new one can bind.
The whole story through the real HTTP API, WeChat faked at the wire."""

from __future__ import annotations

import pytest

from server.kernel.roles import Role
from tests.audit.conftest import new_rows

WX_LOGIN = "/api/v1/auth/wechat/login"
WX_PHONE = "/api/v1/auth/wechat/phone"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/me"
ROOMS = "/api/v1/tenant/rooms"
UNBIND = "/api/v1/admin/wechat-unbindings"
PHONE = "13800000101"


def bearer(body):
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.fixture
def resident(make, org):
    community = make.community(org, name="阳光花园")
    room = make.room(make.building(community, name="2栋"), code="1001")
    customer = make.customer(org, name="赵六")
    make.contact(customer, phone=PHONE, relation="self")
    make.holds(customer, room, relation="owner")
    return room


def wechat_login(client, fake_wechat, org, openid):
    r = client.post(WX_LOGIN, json={"code": fake_wechat.login_code(openid=openid), "org": org.code})
    assert r.status_code == 200, r.json
    return r.json


def bind(client, fake_wechat, login):
    return client.post(
        WX_PHONE, json={"code": fake_wechat.phone_code(PHONE)}, headers=bearer(login)
    )


def test_a_new_wechat_binds_after_the_desk_unbinds_the_old_one(
    client, make, org, resident, fake_wechat, db_session
):
    # WeChat A binds the phone and sees the room.
    a = wechat_login(client, fake_wechat, org, "oWeChatA")
    a_bound = bind(client, fake_wechat, a)
    assert a_bound.status_code == 200, a_bound.json
    assert client.get(ROOMS, headers=bearer(a_bound.json)).json["items"][0]["room"]["id"] == (
        resident.id
    )
    account_id = a_bound.json["user"]["id"]

    # The resident's new WeChat B is refused, with a way out named.
    b = wechat_login(client, fake_wechat, org, "oWeChatB")
    refused = bind(client, fake_wechat, b)
    assert refused.status_code == 409
    assert refused.json["error"] == "phone_bound_elsewhere"
    assert refused.json["message"].startswith("该手机号已绑定其他微信账号")

    # The desk unbinds, with a reason.
    dispatcher = make.dispatcher(org)
    desk = make.headers(dispatcher)
    r = client.post(UNBIND, json={"phone": PHONE, "reason": "住户更换了微信号"}, headers=desk)
    assert r.status_code == 200, r.json
    assert r.json == {"user_id": account_id, "name": r.json["name"], "phone": "138****0101"}

    # WeChat A's sessions are over: access token refused, refresh token revoked.
    assert client.get(ME, headers=bearer(a_bound.json)).status_code == 401
    r = client.post(REFRESH, json={"refresh_token": a_bound.json["refresh_token"]})
    assert r.status_code == 401

    # WeChat B binds and joins the same account (rooms, history).
    b_bound = bind(client, fake_wechat, b)
    assert b_bound.status_code == 200, b_bound.json
    assert b_bound.json["user"]["id"] == account_id
    assert client.get(ROOMS, headers=bearer(b_bound.json)).json["items"][0]["room"]["id"] == (
        resident.id
    )

    # WeChat A logging in again is a stranger: a new placeholder without the phone or rooms.
    again = wechat_login(client, fake_wechat, org, "oWeChatA")
    assert again["user"]["id"] != account_id and again["user"]["phone"] is None
    assert client.get(ROOMS, headers=bearer(again)).json["items"] == []

    bindings = new_rows(db_session, kind="wechat_bound")
    assert [(b.target_id, b.data["joined_existing_account"]) for b in bindings] == [
        (account_id, False),
        (account_id, True),
    ]
    [row] = new_rows(db_session, kind="wechat_unbound")
    assert (row.org_id, row.target_type, row.target_id) == (org.id, "user", account_id)
    assert (row.actor_user_id, row.actor_role) == (dispatcher.id, "dispatcher")
    assert row.data["reason"] == "住户更换了微信号" and row.data["phone"] == "138****0101"
    assert PHONE not in row.summary and "住户更换了微信号" in row.summary
    assert "oWeChatA" not in str(row.data) + row.summary


def test_refusals_leave_no_row(client, make, org, resident, db_session):
    desk = make.headers(make.dispatcher(org))
    # No account with that phone in this organisation.
    r = client.post(UNBIND, json={"phone": "13700000009", "reason": "换号"}, headers=desk)
    assert r.status_code == 404
    # An account that has no WeChat.
    make.tenant(org, phone=PHONE)
    r = client.post(UNBIND, json={"phone": PHONE, "reason": "换号"}, headers=desk)
    assert r.status_code == 409 and r.json["error"] == "wechat_not_bound"
    # A reason is required.
    r = client.post(UNBIND, json={"phone": PHONE, "reason": "  "}, headers=desk)
    assert r.status_code == 422 and "reason" in r.json["errors"]
    assert new_rows(db_session) == []


def test_only_the_desk_of_the_same_organisation_unbinds(client, make, org, db_session):
    tenant = make.tenant(org, phone=PHONE, wechat_openid="oBound")
    technician = make.staff(org).user
    for user in (tenant, technician):
        r = client.post(UNBIND, json={"phone": PHONE, "reason": "x"}, headers=make.headers(user))
        assert r.status_code == 403
    elsewhere = make.org()
    r = client.post(
        UNBIND,
        json={"phone": PHONE, "reason": "x"},
        headers=make.headers(make.user(elsewhere, roles=[Role.ADMIN.value])),
    )
    assert r.status_code == 404
    db_session.refresh(tenant)
    assert tenant.wechat_openid == "oBound"
