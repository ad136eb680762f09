"""Access follows the user's current state on every request, not what their token says.

Found from outside: a deactivated dispatcher's access token kept exporting, assigning and
cancelling for up to 30 minutes, and an admin demoted to dispatcher still created departments
and raised the organisation's grab cap. Tokens now carry a version that deactivation, a change
of roles, a new password and logging out everywhere raise, and roles come from the user's
current (cached) state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from server.kernel.roles import Role
from tests.factories import PASSWORD

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT_ALL = "/api/v1/auth/logout-all"
ME = "/api/v1/me"
ORDERS = "/api/v1/admin/orders"
CUSTOMERS = "/api/v1/admin/customers"
STAFF = "/api/v1/admin/staff"
DEPARTMENTS = "/api/v1/admin/departments"
ORGANISATION = "/api/v1/admin/settings/organisation"


def bearer(body):
    return {"Authorization": f"Bearer {body['access_token']}"}


def login(client, phone, password=PASSWORD):
    r = client.post(LOGIN, json={"phone": phone, "password": password})
    assert r.status_code == 200, r.json
    return r.json


def assert_unauthorized(r):
    assert r.status_code == 401, (r.status_code, r.get_data(as_text=True))
    assert r.json["error"] == "unauthorized"


@pytest.fixture
def boss(make, world):
    return make.headers(make.admin(world.org))


def dispatcher_with_login(client, make, world, phone="13900000031"):
    """A dispatcher with a staff record (the console can deactivate them), logged in."""
    staff = make.staff(world.org, roles=(Role.DISPATCHER,), phone=phone)
    return staff, login(client, phone)


def desk_work(client, world, headers, order_id):
    """Export, list customers, assign and cancel: the calls the outside test made."""
    export = client.get(ORDERS, query_string={"format": "csv"}, headers=headers)
    customers = client.get(CUSTOMERS, headers=headers)
    assign = client.post(
        f"{ORDERS}/{order_id}/assign", json={"staff_id": world.techs[0].id}, headers=headers
    )
    cancel = client.post(f"{ORDERS}/{order_id}/cancel", json={"reason": "测试"}, headers=headers)
    return export, customers, assign, cancel


# --- deactivation ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["delete", "patch"])
def test_a_deactivated_dispatchers_token_stops_at_once(client, make, world, boss, how):
    staff, session = dispatcher_with_login(client, make, world)
    order = world.file(client)
    with client.get(ORDERS, query_string={"format": "csv"}, headers=bearer(session)) as r:
        # Read and closed: a streamed answer holds its session (a SAVEPOINT here) until then.
        assert r.status_code == 200 and r.get_data()

    if how == "delete":
        r = client.delete(f"{STAFF}/{staff.id}", headers=boss)
        assert r.status_code == 204
    else:
        r = client.patch(f"{STAFF}/{staff.id}", json={"is_active": False}, headers=boss)
        assert r.status_code == 200, r.json

    for r in desk_work(client, world, bearer(session), order["id"]):
        assert_unauthorized(r)
    # Nothing was done with the old token, and its refresh token is revoked as well.
    detail = client.get(f"{ORDERS}/{order['id']}", headers=boss).json
    assert detail["status"] == "pending"
    assert_unauthorized(client.post(REFRESH, json={"refresh_token": session["refresh_token"]}))


def test_reactivation_does_not_revive_old_tokens(client, make, world, boss):
    staff, session = dispatcher_with_login(client, make, world)
    assert client.delete(f"{STAFF}/{staff.id}", headers=boss).status_code == 204
    r = client.patch(f"{STAFF}/{staff.id}", json={"is_active": True}, headers=boss)
    assert r.status_code == 200
    assert_unauthorized(client.get(ME, headers=bearer(session)))
    assert client.get(ME, headers=bearer(login(client, "13900000031"))).status_code == 200


# --- roles ----------------------------------------------------------------------------------


def test_a_demoted_admin_loses_the_admin_endpoints_at_once(client, make, world, boss):
    second = make.staff(world.org, roles=(Role.ADMIN, Role.DISPATCHER), phone="13900000032")
    old = login(client, "13900000032")
    r = client.post(DEPARTMENTS, json={"name": "还是管理员"}, headers=bearer(old))
    assert r.status_code == 201, r.json

    r = client.patch(f"{STAFF}/{second.id}", json={"roles": ["dispatcher"]}, headers=boss)
    assert r.status_code == 200 and r.json["roles"] == ["dispatcher"]

    # The token issued as an admin is over...
    assert_unauthorized(client.post(DEPARTMENTS, json={"name": "安保部"}, headers=bearer(old)))
    assert_unauthorized(
        client.patch(ORGANISATION, json={"default_grab_cap": 50}, headers=bearer(old))
    )
    # ...and a new one (a refresh or a login) is a dispatcher's: the desk yes, admin no.
    new = client.post(REFRESH, json={"refresh_token": old["refresh_token"]})
    assert new.status_code == 200 and new.json["user"]["roles"] == ["dispatcher"]
    r = client.post(DEPARTMENTS, json={"name": "安保部"}, headers=bearer(new.json))
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    r = client.patch(ORGANISATION, json={"default_grab_cap": 50}, headers=bearer(new.json))
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert client.get(ORDERS, headers=bearer(new.json)).status_code == 200
    assert client.get(ORGANISATION, headers=boss).json["default_grab_cap"] != 50


def forged(settings, user, *, roles, version=0):
    """A token signed with the server's key whose roles claim says more than the user has."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "org": user.org_id,
        "roles": roles,
        "typ": "access",
        "stf": None,
        "ver": version,
        "iss": "baoxiu",
        "iat": now,
        "exp": now + timedelta(minutes=10),
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, settings.secret_key, 'HS256')}"}


def test_roles_come_from_the_user_not_from_the_token(client, make, world, settings):
    dispatcher = world.dispatcher
    headers = forged(settings, dispatcher, roles=["admin", "dispatcher"])
    assert client.get(ORDERS, headers=headers).status_code == 200
    r = client.post(DEPARTMENTS, json={"name": "安保部"}, headers=headers)
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    r = client.patch(ORGANISATION, json={"default_grab_cap": 50}, headers=headers)
    assert r.status_code == 403


def test_a_promotion_counts_from_the_next_token(client, make, world, boss):
    staff, _ = dispatcher_with_login(client, make, world)
    r = client.patch(f"{STAFF}/{staff.id}", json={"roles": ["admin", "dispatcher"]}, headers=boss)
    assert r.status_code == 200
    fresh = login(client, "13900000031")
    r = client.post(DEPARTMENTS, json={"name": "安保部"}, headers=bearer(fresh))
    assert r.status_code == 201


def test_changes_that_leave_roles_alone_keep_the_token(client, make, world, boss):
    staff, session = dispatcher_with_login(client, make, world)
    r = client.patch(f"{STAFF}/{staff.id}", json={"name": "改名", "on_duty": False}, headers=boss)
    assert r.status_code == 200
    assert client.get(ME, headers=bearer(session)).json["name"] == "改名"


# --- password and logging out ---------------------------------------------------------------


def test_a_new_password_ends_old_tokens(client, make, world, boss):
    staff, session = dispatcher_with_login(client, make, world)
    r = client.patch(f"{STAFF}/{staff.id}", json={"password": "new-secret-9"}, headers=boss)
    assert r.status_code == 200, r.json
    assert_unauthorized(client.get(ME, headers=bearer(session)))
    assert_unauthorized(client.get(ORDERS, headers=bearer(session)))
    assert_unauthorized(client.post(REFRESH, json={"refresh_token": session["refresh_token"]}))
    r = client.post(LOGIN, json={"phone": "13900000031", "password": PASSWORD})
    assert r.status_code == 401
    fresh = login(client, "13900000031", "new-secret-9")
    assert client.get(ORDERS, headers=bearer(fresh)).status_code == 200


def test_logging_out_everywhere(client, make, world):
    _, first = dispatcher_with_login(client, make, world)
    second = login(client, "13900000031")
    r = client.post(LOGOUT_ALL, headers=bearer(first))
    assert r.status_code == 204
    for session in (first, second):
        assert_unauthorized(client.get(ME, headers=bearer(session)))
        assert_unauthorized(client.post(REFRESH, json={"refresh_token": session["refresh_token"]}))
    assert client.get(ME, headers=bearer(login(client, "13900000031"))).status_code == 200


# --- the check itself -----------------------------------------------------------------------


def test_a_normal_token_keeps_working(client, make, world, boss):
    _, session = dispatcher_with_login(client, make, world)
    other, _ = dispatcher_with_login(client, make, world, phone="13900000033")
    # Someone else's deactivation changes nothing for this login.
    assert client.delete(f"{STAFF}/{other.id}", headers=boss).status_code == 204
    for _ in range(3):
        assert client.get(ME, headers=bearer(session)).status_code == 200
    assert client.get(ORDERS, headers=bearer(session)).status_code == 200


class CountingRedis:
    """Delegates to a Redis client, counting the commands the access check sends."""

    def __init__(self, real):
        self.real = real
        self.gets = 0

    def get(self, *args, **kwargs):
        self.gets += 1
        return self.real.get(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_the_hot_path_is_one_redis_get(client, app, make, world, monkeypatch):
    _, session = dispatcher_with_login(client, make, world)
    access = app.extensions["baoxiu"].access
    assert client.get(ME, headers=bearer(session)).status_code == 200  # cached by now
    counting = CountingRedis(access.redis)
    monkeypatch.setattr(access, "redis", counting)
    reads = []
    db = app.extensions["baoxiu"].db
    for factory in ("session_factory", "read_session_factory"):  # the list reads read-only
        monkeypatch.setattr(db, factory, _counting(getattr(db, factory), reads))
    assert client.get(ORDERS, headers=bearer(session)).status_code == 200
    assert counting.gets == 1
    # The request's own unit of work is the only session opened: no database read for access.
    assert len(reads) == 1


def _counting(factory, calls):
    def make_session(*args, **kwargs):
        calls.append(1)
        return factory(*args, **kwargs)

    return make_session


def test_a_cache_miss_reads_the_database_and_fills_the_cache(client, app, make, world):
    staff, session = dispatcher_with_login(client, make, world)
    access = app.extensions["baoxiu"].access
    access.redis.delete(access.key(staff.user_id))
    assert client.get(ME, headers=bearer(session)).status_code == 200
    cached = access.cached(staff.user_id)
    assert cached is not None and cached.roles == {"dispatcher"} and cached.active


def test_a_stale_fill_cannot_undo_a_change(client, app, make, world, boss):
    """A request that read the old state just before a change must not cache it after."""
    from server.accounts.access import AccessState

    staff, session = dispatcher_with_login(client, make, world)
    access = app.extensions["baoxiu"].access
    assert client.get(ME, headers=bearer(session)).status_code == 200
    old = access.cached(staff.user_id)
    assert old is not None
    assert client.delete(f"{STAFF}/{staff.id}", headers=boss).status_code == 204
    access.fill(old)  # the late fill of a request that raced the deactivation
    access.publish(AccessState(old.user_id, old.org_id, old.version, old.roles, True))
    assert_unauthorized(client.get(ME, headers=bearer(session)))
