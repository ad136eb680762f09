"""Console: payment accounts — secrets sealed and never answered, versions, validation, scoping."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text

from server.payments.accounts import (
    AlipayAccount,
    WeChatPayAccount,
    account_version,
    payment_account_for,
)
from server.payments.crypto import SecretUnreadable
from tests.payments.keys import (
    APIV3_KEY,
    CERT_SERIAL,
    MCHID,
    PUBLIC_KEY_ID,
    alipay_body,
    platform_certificate_pem,
    private_der,
    private_key,
    private_key_body,
    private_pem,
    wechat_body,
)

ACCOUNTS = "/api/v1/admin/payment-accounts"


def one(account_id: int) -> str:
    return f"{ACCOUNTS}/{account_id}"


def create(client, headers, body):
    r = client.post(ACCOUNTS, json=body, headers=headers)
    assert r.status_code == 201, r.json
    return r.json


def assert_no_secret(payload, *pems: str) -> None:
    dumped = json.dumps(payload, ensure_ascii=False)
    assert APIV3_KEY not in dumped
    assert "PRIVATE KEY" not in dumped
    for pem in pems:
        body = private_key_body(pem)
        assert body not in dumped
        for start in range(0, len(body) - 40, 40):  # no piece of the key material either
            assert body[start : start + 40] not in dumped


def test_create_list_and_get_never_answer_secrets(client, admin_headers):
    created = create(client, admin_headers, wechat_body())
    assert created["provider"] == "wechat" and created["mchid"] == MCHID
    assert created["is_active"] is True and created["active_version"] == 1
    keys = created["keys"]
    assert keys["has_private_key"] is True and keys["has_apiv3_key"] is True
    assert keys["cert_serial"] == CERT_SERIAL
    assert keys["platform_public_key_id"] == PUBLIC_KEY_ID
    assert len(keys["private_key_fingerprint"]) == 64
    assert len(keys["platform_public_key_fingerprint"]) == 64
    alipay = create(client, admin_headers, alipay_body())
    assert alipay["keys"]["has_apiv3_key"] is False and alipay["seller_id"] == "2088000000000001"

    listed = client.get(ACCOUNTS, headers=admin_headers)
    shown = client.get(one(created["id"]), headers=admin_headers)
    assert listed.status_code == 200 and shown.status_code == 200
    assert {a["id"] for a in listed.json} == {created["id"], alipay["id"]}
    for payload in (created, alipay, listed.json, shown.json):
        assert_no_secret(payload, private_pem("merchant"), private_pem("alipay-app"))


def test_the_database_holds_only_ciphertext(client, admin_headers, db_session):
    create(client, admin_headers, wechat_body())
    rows = db_session.execute(text("SELECT * FROM payment_account_secrets")).mappings().all()
    assert len(rows) == 1
    raw = b"".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in rows[0].values()
    )
    assert APIV3_KEY.encode() not in raw
    assert b"PRIVATE KEY" not in raw
    assert private_key_body(private_pem("merchant")).encode()[:64] not in raw
    assert private_der("merchant")[:64] not in raw
    assert rows[0]["key_version"] == 1 and len(bytes(rows[0]["private_key_nonce"])) == 12


def test_ciphertext_moved_to_another_row_or_organisation_does_not_open(
    client, make, admin_headers, db_session, settings
):
    mine = create(client, admin_headers, wechat_body())
    other_org = make.org()
    theirs = create(client, make.headers(make.admin(other_org)), wechat_body())
    db_session.execute(
        text(
            "UPDATE payment_account_secrets AS dst SET private_key_nonce = src.private_key_nonce,"
            " private_key_ciphertext = src.private_key_ciphertext"
            " FROM payment_account_secrets AS src"
            " WHERE src.account_id = :src AND dst.account_id = :dst"
        ),
        {"src": theirs["id"], "dst": mine["id"]},
    )
    # The APIv3 key's ciphertext put in the private key's place (same row, other field).
    db_session.execute(
        text(
            "UPDATE payment_account_secrets SET private_key_nonce = apiv3_key_nonce,"
            " private_key_ciphertext = apiv3_key_ciphertext WHERE account_id = :id"
        ),
        {"id": theirs["id"]},
    )
    db_session.expire_all()
    for account_id in (mine["id"], theirs["id"]):
        with pytest.raises(SecretUnreadable):
            account_version(db_session, settings=settings, account_id=account_id, version=1)


def test_rotation_keeps_old_versions_readable_and_uses_the_new_one(
    client, admin_headers, db_session, org, settings
):
    created = create(client, admin_headers, wechat_body())
    r = client.patch(
        one(created["id"]), json={"private_key": private_pem("merchant-2")}, headers=admin_headers
    )
    assert r.status_code == 200, r.json
    assert r.json["active_version"] == 2
    assert [(v["version"], v["status"]) for v in r.json["versions"]] == [
        (1, "retired"),
        (2, "active"),
    ]
    assert r.json["keys"]["private_key_fingerprint"] != created["keys"]["private_key_fingerprint"]
    assert_no_secret(r.json, private_pem("merchant"), private_pem("merchant-2"))

    def numbers(key: rsa.RSAPrivateKey) -> int:
        return key.public_key().public_numbers().n

    old = account_version(db_session, settings=settings, account_id=created["id"], version=1)
    new = account_version(db_session, settings=settings, account_id=created["id"], version=2)
    assert isinstance(old, WeChatPayAccount) and isinstance(new, WeChatPayAccount)
    assert numbers(old.merchant.private_key) == numbers(private_key("merchant"))
    assert numbers(new.merchant.private_key) == numbers(private_key("merchant-2"))
    assert new.merchant.apiv3_key == APIV3_KEY.encode()  # carried over into the new version

    active = payment_account_for(db_session, settings=settings, org_id=org.id, channel="wechat")
    assert isinstance(active, WeChatPayAccount)
    assert (active.account_id, active.version) == (created["id"], 2)
    assert active.merchant.platform.preferred_serial == PUBLIC_KEY_ID

    # Renaming is no rotation.
    r = client.patch(one(created["id"]), json={"name": "新名称"}, headers=admin_headers)
    assert r.status_code == 200 and r.json["active_version"] == 2 and r.json["name"] == "新名称"


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        (
            {"private_key": "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----"},
            "private_key",
            "无法解析",
        ),
        ({"private_key": private_pem("weak", 1024)}, "private_key", "2048"),
        ({"apiv3_key": "short"}, "apiv3_key", "32"),
        ({"apiv3_key": APIV3_KEY + "x"}, "apiv3_key", "32"),
        ({"mchid": "abc"}, "mchid", "商户号"),
        ({"appid": "wxNOTVALID"}, "appid", "AppID"),
        ({"platform_public_key": "garbage"}, "platform_public_key", "公钥"),
        ({"platform_public_key_id": "KEY_1"}, "platform_public_key_id", "PUB_KEY_ID_"),
        ({"cert_serial": "not hex!"}, "cert_serial", "序列号"),
        ({"seller_id": "2088000000000001"}, "seller_id", "不使用"),
    ],
)
def test_wechat_input_is_validated_per_field(client, admin_headers, overrides, field, fragment):
    r = client.post(ACCOUNTS, json=wechat_body(**overrides), headers=admin_headers)
    assert r.status_code == 422, r.json
    assert r.json["error"] == "validation_error"
    assert any(fragment in text for text in r.json["errors"][field]), r.json
    assert client.get(ACCOUNTS, headers=admin_headers).json == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"appid": "wx0123456789abcdef"}, "appid"),
        (
            {"alipay_public_key": "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----"},
            "alipay_public_key",
        ),
        ({"private_key": private_pem("weak", 1024)}, "private_key"),
        ({"seller_id": "1234"}, "seller_id"),
    ],
)
def test_alipay_input_is_validated_per_field(client, admin_headers, overrides, field):
    r = client.post(ACCOUNTS, json=alipay_body(**overrides), headers=admin_headers)
    assert r.status_code == 422 and field in r.json["errors"], r.json


def test_a_bad_rotation_changes_nothing(client, admin_headers):
    created = create(client, admin_headers, wechat_body())
    r = client.patch(
        one(created["id"]),
        json={"private_key": private_pem("weak", 1024), "apiv3_key": "short"},
        headers=admin_headers,
    )
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"private_key", "apiv3_key"}
    shown = client.get(one(created["id"]), headers=admin_headers).json
    assert shown["active_version"] == 1 and len(shown["versions"]) == 1


def test_one_active_account_per_provider_and_delete_deactivates(
    client, admin_headers, db_session, org, settings
):
    created = create(client, admin_headers, wechat_body())
    r = client.post(ACCOUNTS, json=wechat_body(), headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "conflict"

    assert client.delete(one(created["id"]), headers=admin_headers).status_code == 204
    shown = client.get(one(created["id"]), headers=admin_headers).json
    assert shown["is_active"] is False
    # The test configuration has no WECHATPAY_*: no account to pay with any more …
    assert (
        payment_account_for(db_session, settings=settings, org_id=org.id, channel="wechat") is None
    )
    # … but payments already made with version 1 still verify.
    kept = account_version(db_session, settings=settings, account_id=created["id"], version=1)
    assert isinstance(kept, WeChatPayAccount)
    r = client.patch(one(created["id"]), json={"apiv3_key": APIV3_KEY}, headers=admin_headers)
    assert r.status_code == 409
    assert client.post(ACCOUNTS, json=wechat_body(), headers=admin_headers).status_code == 201


def test_alipay_account_builds_the_client(client, admin_headers, db_session, org, settings):
    created = create(client, admin_headers, alipay_body())
    found = payment_account_for(db_session, settings=settings, org_id=org.id, channel="alipay")
    assert isinstance(found, AlipayAccount)
    assert found.account_id == created["id"] and found.client.app_id == "2021000000000001"
    assert found.seller_id == "2088000000000001"
    assert found.client.gateway == settings.alipay_gateway


def test_another_organisations_accounts_are_not_found(client, make, admin_headers):
    created = create(client, admin_headers, wechat_body())
    stranger = make.headers(make.admin(make.org()))
    assert client.get(ACCOUNTS, headers=stranger).json == []
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"name": "x"}} if method == "patch" else {}
        r = getattr(client, method)(one(created["id"]), headers=stranger, **kwargs)
        assert r.status_code == 404 and r.json["error"] == "not_found"
    assert client.get(one(created["id"]), headers=admin_headers).json["is_active"] is True


def test_only_admins_configure_payments(client, make, org):
    headers = make.headers(make.dispatcher(org))
    assert client.get(ACCOUNTS, headers=headers).status_code == 403
    assert client.post(ACCOUNTS, json=wechat_body(), headers=headers).status_code == 403
    assert client.get("/api/v1/admin/payment-channels", headers=headers).status_code == 403
    r = client.put("/api/v1/admin/payment-channels", json={"channels": []}, headers=headers)
    assert r.status_code == 403


def test_platform_certificates_instead_of_a_public_key(
    client, admin_headers, db_session, org, settings
):
    pem, serial = platform_certificate_pem("platform-cert")
    body = wechat_body(platform_certs=pem)
    del body["platform_public_key"], body["platform_public_key_id"]
    created = create(client, admin_headers, body)
    assert created["keys"]["platform_cert_serials"] == [serial]
    assert created["keys"]["platform_public_key_id"] is None
    found = payment_account_for(db_session, settings=settings, org_id=org.id, channel="wechat")
    assert isinstance(found, WeChatPayAccount)
    assert found.merchant.platform.preferred_serial == serial

    r = client.patch(
        one(created["id"]),
        json={"platform_certs": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----"},
        headers=admin_headers,
    )
    assert r.status_code == 422 and "platform_certs" in r.json["errors"]
