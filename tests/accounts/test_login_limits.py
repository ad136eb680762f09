"""Login limits: guessing is stopped per client address and per account, and an attacker
cannot lock the real user out.

Found from outside: the only limit was 10 failures per phone (any organisation), so anyone
could lock a real user out for 15 minutes; 90 guesses over 30 phones from one address went
through; the real user's login reset the attacker's count; and WeChat login had no limit at
all (each bogus code cost a call against the mini-program's WeChat quota).
"""

from __future__ import annotations

import dataclasses

import pytest

from server.accounts.passwords import hash_password
from server.config import ConfigError, Settings
from server.web.throttle import (
    ACCOUNT_MAX_FAILURES,
    ADDRESS_MAX_FAILURES,
    PAIR_MAX_FAILURES,
    WECHAT_ADDRESS_MAX_FAILURES,
    WINDOW_SECONDS,
    address_bucket,
    forwarded_client,
    trusted_networks,
)
from tests.factories import PASSWORD

LOGIN = "/api/v1/auth/login"
WX_LOGIN = "/api/v1/auth/wechat/login"

ATTACKER = "203.0.113.7"
USER = "198.51.100.20"


def attempt(client, phone, password, *, address, org=None, headers=None):
    body = {"phone": phone, "password": password}
    if org:
        body["org"] = org
    return client.post(LOGIN, json=body, environ_base={"REMOTE_ADDR": address}, headers=headers)


def assert_limited(r):
    assert r.status_code == 429, (r.status_code, r.get_data(as_text=True))
    assert r.json["error"] == "rate_limited" and "分钟后再试" in r.json["message"]
    assert 0 < int(r.headers["Retry-After"]) <= WINDOW_SECONDS


@pytest.fixture
def org(make):
    return make.org(code="sun")


@pytest.fixture
def victim(make, org):
    return make.staff(org, phone="13900000051")


# --- per account and address ------------------------------------------------------------------


def test_guesses_from_one_address_do_not_lock_out_the_real_user(client, victim):
    for _ in range(PAIR_MAX_FAILURES):
        assert attempt(client, "13900000051", "guess", address=ATTACKER).status_code == 401
    # The attacker's address is done with this account, even with the right password...
    assert_limited(attempt(client, "13900000051", PASSWORD, address=ATTACKER))
    # ...and the real user, elsewhere, logs in.
    assert attempt(client, "13900000051", PASSWORD, address=USER).status_code == 200


def test_the_real_users_login_does_not_clear_the_attackers_count(client, victim):
    for _ in range(PAIR_MAX_FAILURES - 1):
        attempt(client, "13900000051", "guess", address=ATTACKER)
    assert attempt(client, "13900000051", PASSWORD, address=USER).status_code == 200
    assert attempt(client, "13900000051", "guess", address=ATTACKER).status_code == 401
    assert_limited(attempt(client, "13900000051", "guess", address=ATTACKER))


def test_a_success_clears_only_that_address_for_that_account(client, victim):
    for _ in range(PAIR_MAX_FAILURES - 1):
        attempt(client, "13900000051", "guess", address=USER)
    assert attempt(client, "13900000051", PASSWORD, address=USER).status_code == 200
    for _ in range(PAIR_MAX_FAILURES - 1):
        assert attempt(client, "13900000051", "guess", address=USER).status_code == 401
    assert attempt(client, "13900000051", PASSWORD, address=USER).status_code == 200


def test_the_same_phone_in_another_organisation_is_not_locked(client, make, victim):
    other = make.org(code="moon")
    make.staff(other, phone="13900000051")
    for _ in range(PAIR_MAX_FAILURES):
        attempt(client, "13900000051", "guess", org="sun", address=ATTACKER)
    assert_limited(attempt(client, "13900000051", PASSWORD, org="sun", address=ATTACKER))
    r = attempt(client, "13900000051", PASSWORD, org="moon", address=ATTACKER)
    assert r.status_code == 200 and r.json["user"]["org_code"] == "moon"


def test_many_addresses_close_the_account_to_new_addresses_only(client, victim):
    assert attempt(client, "13900000051", PASSWORD, address=USER).status_code == 200
    botnet = [f"192.0.2.{n}" for n in range(1, ACCOUNT_MAX_FAILURES // PAIR_MAX_FAILURES + 1)]
    for address in botnet:
        for _ in range(PAIR_MAX_FAILURES):
            assert attempt(client, "13900000051", "guess", address=address).status_code == 401
    # A new address is refused even with the right password; the user's own still logs in.
    assert_limited(attempt(client, "13900000051", PASSWORD, address="192.0.2.200"))
    assert attempt(client, "13900000051", PASSWORD, address=USER).status_code == 200


def test_one_address_cannot_reach_the_account_ceiling():
    assert ADDRESS_MAX_FAILURES < ACCOUNT_MAX_FAILURES
    assert PAIR_MAX_FAILURES <= ADDRESS_MAX_FAILURES


# --- per address ----------------------------------------------------------------------------


def test_one_address_guessing_over_many_phones_is_stopped(client, make, org):
    phones = [f"1390000{n:04d}" for n in range(100, 130)]
    for phone in phones[:10]:
        make.staff(org, phone=phone)  # some exist, most do not: the answers are the same
    answers = [
        attempt(client, phone, f"guess-{n}", address=ATTACKER) for phone in phones for n in range(3)
    ]
    assert [r.status_code for r in answers[:ADDRESS_MAX_FAILURES]] == [401] * ADDRESS_MAX_FAILURES
    for r in answers[ADDRESS_MAX_FAILURES:]:
        assert_limited(r)
    # Only that address: the owners of those phones log in from theirs.
    assert attempt(client, phones[0], PASSWORD, address=USER).status_code == 200


def test_a_success_does_not_reset_the_addresses_failures(client, make, org):
    make.staff(org, phone="13900000052")  # the attacker's own account
    phones = [f"1390000{n:04d}" for n in range(200, 210)]
    for phone in phones:
        make.staff(org, phone=phone)
    failures = 0
    for phone in phones:
        for _ in range(2):
            if failures < ADDRESS_MAX_FAILURES - 1:
                assert attempt(client, phone, "guess", address=ATTACKER).status_code == 401
                failures += 1
    assert attempt(client, "13900000052", PASSWORD, address=ATTACKER).status_code == 200
    assert attempt(client, phones[-1], "guess", address=ATTACKER).status_code == 401
    assert_limited(attempt(client, phones[-1], PASSWORD, address=ATTACKER))


def test_ipv6_addresses_count_per_64(client, victim):
    for n in range(PAIR_MAX_FAILURES):
        attempt(client, "13900000051", "guess", address=f"2001:db8:1:2::{n + 1:x}")
    assert_limited(attempt(client, "13900000051", PASSWORD, address="2001:db8:1:2::ffff"))
    assert attempt(client, "13900000051", PASSWORD, address="2001:db8:1:3::1").status_code == 200


def test_x_forwarded_for_is_ignored_without_trusted_proxies(client, victim):
    for n in range(PAIR_MAX_FAILURES):
        spoofed = {"X-Forwarded-For": f"10.9.8.{n}"}
        attempt(client, "13900000051", "guess", address=ATTACKER, headers=spoofed)
    assert_limited(
        attempt(
            client,
            "13900000051",
            PASSWORD,
            address=ATTACKER,
            headers={"X-Forwarded-For": "10.9.8.200"},
        )
    )


def test_behind_a_trusted_proxy_the_forwarded_client_counts(client, app, victim, monkeypatch):
    wiring = app.extensions["baoxiu"]
    monkeypatch.setattr(
        wiring, "settings", dataclasses.replace(wiring.settings, trusted_proxies=("10.0.0.0/8",))
    )
    proxy = "10.0.0.2"
    via = {"X-Forwarded-For": ATTACKER}
    for _ in range(PAIR_MAX_FAILURES):
        attempt(client, "13900000051", "guess", address=proxy, headers=via)
    assert_limited(attempt(client, "13900000051", PASSWORD, address=proxy, headers=via))
    via = {"X-Forwarded-For": f"{ATTACKER}, {USER}"}  # a client cannot pick its own address
    assert attempt(client, "13900000051", PASSWORD, address=proxy, headers=via).status_code == 200


@pytest.mark.parametrize(
    ("peer", "forwarded", "client_address"),
    [
        ("203.0.113.7", ["1.2.3.4"], "203.0.113.7"),  # not a proxy: header ignored
        ("10.0.0.2", ["1.2.3.4"], "1.2.3.4"),
        ("10.0.0.2", ["6.6.6.6, 1.2.3.4"], "1.2.3.4"),  # the left part is the client's claim
        ("10.0.0.2", ["1.2.3.4, 10.0.0.9"], "1.2.3.4"),  # two proxies
        ("10.0.0.2", ["1.2.3.4", "10.0.0.9"], "1.2.3.4"),  # header sent twice
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["garbage"], "10.0.0.2"),
        ("10.0.0.2", ["10.0.0.5"], "10.0.0.5"),
    ],
)
def test_forwarded_client(peer, forwarded, client_address):
    trusted = trusted_networks(("10.0.0.0/8",))
    assert forwarded_client(peer, forwarded, trusted) == client_address


def test_address_buckets():
    assert address_bucket("203.0.113.7") == "203.0.113.7"
    assert address_bucket("2001:db8:1:2::5") == "2001:db8:1:2::/64"
    assert address_bucket("::ffff:203.0.113.7") == "203.0.113.7"


def test_trusted_proxies_setting():
    settings = Settings.from_env({"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.168.1.1/32")
    assert Settings.from_env({}).trusted_proxies == ()
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        Settings.from_env({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})


# --- what a wrong password says ---------------------------------------------------------------


def test_a_wrong_password_answers_alike_for_none_one_or_several_organisations(client, make, org):
    other = make.org(code="moon")
    make.staff(org, phone="13900000061")
    make.staff(org, phone="13900000062")
    make.staff(other, phone="13900000062")
    answers = [
        attempt(client, phone, "wrong-password", address=f"198.51.100.{n}")
        for n, phone in enumerate(("13900000060", "13900000061", "13900000062"))
    ]
    assert {(r.status_code, r.get_data(as_text=True)) for r in answers} == {
        (401, answers[0].get_data(as_text=True))
    }
    assert answers[0].json["error"] == "unauthorized"
    # The right password for a phone in several organisations asks which one.
    r = attempt(client, "13900000062", PASSWORD, address=USER)
    assert r.status_code == 422 and "org" in r.json["errors"]


def test_the_password_picks_the_account_among_organisations(client, make, org):
    other = make.org(code="moon")
    make.staff(org, phone="13900000063")
    theirs = make.staff(other, phone="13900000063")
    theirs.user.password_hash = hash_password("moon-password-1")
    make.session.flush()
    r = attempt(client, "13900000063", "moon-password-1", address=USER)
    assert r.status_code == 200 and r.json["user"]["id"] == theirs.user_id


def test_a_deactivated_twin_does_not_ask_for_the_organisation(client, make, org):
    other = make.org(code="moon")
    gone = make.staff(org, phone="13900000064")
    gone.user.is_active = False
    active = make.staff(other, phone="13900000064")
    make.session.flush()
    r = attempt(client, "13900000064", PASSWORD, address=USER)
    assert r.status_code == 200 and r.json["user"]["id"] == active.user_id


# --- WeChat login -----------------------------------------------------------------------------


def test_bogus_wechat_codes_are_refused_before_calling_wechat(client, fake_wechat, org):
    def wx(code, address):
        return client.post(
            WX_LOGIN, json={"code": code, "org": org.code}, environ_base={"REMOTE_ADDR": address}
        )

    for n in range(WECHAT_ADDRESS_MAX_FAILURES):
        r = wx(f"bogus-{n}", ATTACKER)
        assert r.status_code == 400 and r.json["error"] == "wechat_code_invalid"
    assert fake_wechat.calls["jscode2session"] == WECHAT_ADDRESS_MAX_FAILURES
    assert_limited(wx("bogus-more", ATTACKER))
    assert_limited(wx(fake_wechat.login_code(), ATTACKER))
    assert fake_wechat.calls["jscode2session"] == WECHAT_ADDRESS_MAX_FAILURES
    # Other addresses log in as usual.
    assert wx(fake_wechat.login_code(), USER).status_code == 200
