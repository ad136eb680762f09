"""Through the API and the jobs: WeChat notifications with a non-ASCII timestamp, WeChat Pay
platform certificates (validity, the refresh job, the expiry alert) and an organisation's
Alipay app in certificate mode (公钥证书)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from server.notifications.models import Notification
from server.payments import accounts
from server.payments.models import Payment, PaymentAccountSecret
from server.sandbox.alipay import AlipaySandboxCerts
from server.sandbox.wechatpay import platform_certificate
from tests.paying.conftest import APIV3_KEY, MCHID, MERCHANT_SERIAL, SELLER_ID
from tests.paying.helpers import ADMIN, notify_alipay, notify_wechat, paid_ok, tenant_view

ORG_APPID = "wx0123456789abcdef"
NOW = datetime.now(UTC)


def _private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _cert(key: rsa.RSAPrivateKey, serial: int, *, days_left: float, age: float = 300) -> str:
    return platform_certificate(
        key,
        serial=serial,
        not_before=NOW - timedelta(days=age),
        not_after=NOW + timedelta(days=days_left),
    )


@pytest.fixture
def admin(make, shop):
    return make.headers(make.admin(shop.org))


def _account(client, admin, body) -> int:
    r = client.post(f"{ADMIN}/payment-accounts", json=body, headers=admin)
    assert r.status_code == 201, r.json
    return int(r.json["id"])


# --- the notify endpoint ----------------------------------------------------------------------


def test_a_notification_timestamp_of_a_non_ascii_digit_is_refused_not_a_server_error(
    client, shop, wxpay
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    wxpay.pay(paid["out_trade_no"])
    body, headers = wxpay.payment_notification(paid["out_trade_no"])
    for stamp in ("²", f"{int(time.time())}²"):
        r = notify_wechat(client, body, {**headers, "Wechatpay-Timestamp": stamp})
        assert r.status_code == 401, (r.status_code, r.data)
        assert r.json["error"] == "signature_invalid"
    assert tenant_view(client, shop, order["id"])["payment_status"] != "paid"
    assert notify_wechat(client, body, headers).status_code == 204


# --- WeChat Pay platform certificates ---------------------------------------------------------


@pytest.fixture
def cert_merchant(client, admin, wxpay, merchant_key, platform_key):
    """The organisation's own merchant in certificate mode: A (platform_key) expires in 5 days;
    the fake signs with A and hands out what `platform_certificates` holds."""
    current = _cert(platform_key, 0xA1, days_left=5)
    account_id = _account(
        client,
        admin,
        {
            "provider": "wechat",
            "name": "证书模式商户",
            "mchid": MCHID,
            "appid": ORG_APPID,
            "private_key": _private(merchant_key),
            "apiv3_key": APIV3_KEY,
            "cert_serial": MERCHANT_SERIAL,
            "platform_certs": current,
        },
    )
    wxpay.appid = ORG_APPID
    wxpay.platform_serial = "A1"
    wxpay.platform_certificates = [current]
    return account_id, current


def _serials(db_session, account_id: int) -> set[str]:
    row = db_session.scalars(
        select(PaymentAccountSecret).where(PaymentAccountSecret.account_id == account_id)
    ).one()
    db_session.refresh(row)
    return {
        format(c.serial_number, "X")
        for c in x509.load_pem_x509_certificates(row.platform_certs.encode())
    }


def _alerts(db_session) -> list[Notification]:
    return list(
        db_session.scalars(select(Notification).where(Notification.kind == "payment_cert_expiring"))
    )


def test_the_refresh_job_learns_the_next_certificate_and_payments_verify_with_it(
    app, settings, client, shop, wxpay, cert_merchant, db_session
):
    account_id, current = cert_merchant
    next_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    upcoming = _cert(next_key, 0xB2, days_left=1800, age=1)
    wxpay.platform_certificates = [current, upcoming]
    db = app.extensions["baoxiu"].db

    report = accounts.refresh_platform_certificates(db, settings, now=datetime.now(UTC))
    assert report == {"accounts": 1, "learnt": 1, "failed": 0, "alerted": 0}
    assert _serials(db_session, account_id) == {"A1", "B2"}
    assert _alerts(db_session) == []  # B2 lasts: nothing to tell anyone

    # WeChat switches to B2: our payments and their notifications verify with it.
    wxpay.platform_private_key, wxpay.platform_serial = next_key, "B2"
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    assert db_session.get(Payment, paid["payment_id"]).account_id == account_id
    wxpay.pay(paid["out_trade_no"])
    r = notify_wechat(client, *wxpay.payment_notification(paid["out_trade_no"]))
    assert r.status_code == 204, r.data
    assert tenant_view(client, shop, order["id"])["payment_status"] == "paid"

    again = accounts.refresh_platform_certificates(db, settings, now=datetime.now(UTC))
    assert again["learnt"] == 0  # idempotent


def test_no_new_certificate_before_expiry_alerts_the_admins_once(
    app, settings, client, wxpay, cert_merchant, db_session, shop
):
    db = app.extensions["baoxiu"].db
    report = accounts.refresh_platform_certificates(db, settings, now=datetime.now(UTC))
    assert (report["learnt"], report["alerted"]) == (0, 1)
    [alert] = _alerts(db_session)
    assert alert.org_id == shop.org.id and "A1" in alert.body and "过期" in alert.body
    # The next runs before the next mark (7 → 1 days) do not repeat it.
    accounts.refresh_platform_certificates(db, settings, now=datetime.now(UTC))
    assert len(_alerts(db_session)) == 1
    # Past it, once more.
    accounts.refresh_platform_certificates(
        db, settings, now=datetime.now(UTC) + timedelta(days=4.5)
    )
    assert len(_alerts(db_session)) == 2


def test_certificates_from_an_answer_signed_by_an_untrusted_key_are_not_learnt(
    app, settings, wxpay, cert_merchant, db_session
):
    account_id, current = cert_merchant
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _cert(stranger, 0xC3, days_left=1800, age=1)
    wxpay.platform_certificates = [current, forged]
    wxpay.platform_private_key, wxpay.platform_serial = stranger, "C3"
    report = accounts.refresh_platform_certificates(
        app.extensions["baoxiu"].db, settings, now=datetime.now(UTC)
    )
    assert (report["failed"], report["learnt"]) == (1, 0)
    assert _serials(db_session, account_id) == {"A1"}


def test_a_notification_under_an_expired_platform_certificate_is_refused(
    client, shop, admin, wxpay, merchant_key, platform_key
):
    expired = _cert(platform_key, 0xA1, days_left=-1, age=400)
    _account(
        client,
        admin,
        {
            "provider": "wechat",
            "mchid": MCHID,
            "appid": ORG_APPID,
            "private_key": _private(merchant_key),
            "apiv3_key": APIV3_KEY,
            "cert_serial": MERCHANT_SERIAL,
            "platform_certs": expired,
        },
    )
    wxpay.appid, wxpay.platform_serial = ORG_APPID, "A1"
    order = shop.file(client, subtype_id=shop.deposit.id)
    # The prepay answer is signed under the expired certificate: refused, nothing handed out.
    r = client.post(
        f"/api/v1/tenant/orders/{order['id']}/payments",
        json={"channel": "wechat"},
        headers=shop.headers(shop.tenant),
    )
    assert r.status_code == 502 and r.json["error"] == "upstream_error", r.data
    [out_trade_no] = list(wxpay.orders)
    wxpay.pay(out_trade_no)
    r = notify_wechat(client, *wxpay.payment_notification(out_trade_no))
    assert r.status_code == 401 and r.json["error"] == "signature_invalid"


# --- Alipay certificate mode ------------------------------------------------------------------


def _alipay_cert_body(alipay, alipay_keys, certs: AlipaySandboxCerts, **overrides):
    body = {
        "provider": "alipay",
        "name": "证书模式应用",
        "appid": alipay.app_id,
        "seller_id": SELLER_ID,
        "private_key": _private(alipay_keys.app_private_key),
        "app_public_key_cert": certs.app_public_key_cert,
        "alipay_public_key_cert": certs.alipay_public_key_cert,
        "alipay_root_cert": certs.alipay_root_cert,
    }
    body.update(overrides)
    return body


def test_an_organisations_alipay_app_in_certificate_mode_pays(
    client, shop, admin, alipay, alipay_keys, db_session
):
    certs = AlipaySandboxCerts.generate(alipay_keys)
    alipay.certificates = certs  # the sandbox plays an app in certificate mode
    account_id = _account(client, admin, _alipay_cert_body(alipay, alipay_keys, certs))
    shown = client.get(f"{ADMIN}/payment-accounts/{account_id}", headers=admin).json
    assert shown["keys"]["alipay_public_key_fingerprint"]  # the certificate's key
    assert "BEGIN CERTIFICATE" not in str(shown)

    order = shop.file(client, subtype_id=shop.full.id)
    paid = paid_ok(client, shop, order["id"], "alipay")
    assert db_session.get(Payment, paid["payment_id"]).account_id == account_id
    alipay.open_order_string(paid["params"]["orderStr"])  # checks the SNs it carries
    alipay.pay(paid["out_trade_no"])
    r = notify_alipay(client, alipay.payment_notification(paid["out_trade_no"]))
    assert r.data == b"success"
    assert tenant_view(client, shop, order["id"])["payment_status"] == "paid"


def test_alipay_certificate_mode_input_is_checked(client, admin, alipay, alipay_keys):
    certs = AlipaySandboxCerts.generate(alipay_keys)
    both = _alipay_cert_body(
        alipay, alipay_keys, certs, alipay_public_key=_public(alipay_keys.alipay_public_key)
    )
    r = client.post(f"{ADMIN}/payment-accounts", json=both, headers=admin)
    assert r.status_code == 422 and "alipay_public_key" in r.json["errors"]

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mismatch = _alipay_cert_body(alipay, alipay_keys, certs, private_key=_private(stranger))
    r = client.post(f"{ADMIN}/payment-accounts", json=mismatch, headers=admin)
    assert r.status_code == 422 and "app_public_key_cert" in r.json["errors"]

    incomplete = _alipay_cert_body(alipay, alipay_keys, certs, alipay_root_cert="")
    r = client.post(f"{ADMIN}/payment-accounts", json=incomplete, headers=admin)
    assert r.status_code == 422 and "alipay_root_cert" in r.json["errors"]


def test_an_alipay_app_moves_from_public_key_to_certificate_mode(
    client, shop, admin, alipay, alipay_keys, db_session
):
    account_id = _account(
        client,
        admin,
        {
            "provider": "alipay",
            "appid": alipay.app_id,
            "seller_id": SELLER_ID,
            "private_key": _private(alipay_keys.app_private_key),
            "alipay_public_key": _public(alipay_keys.alipay_public_key),
        },
    )
    certs = AlipaySandboxCerts.generate(alipay_keys)
    r = client.patch(
        f"{ADMIN}/payment-accounts/{account_id}",
        json={
            "app_public_key_cert": certs.app_public_key_cert,
            "alipay_public_key_cert": certs.alipay_public_key_cert,
            "alipay_root_cert": certs.alipay_root_cert,
        },
        headers=admin,
    )
    assert r.status_code == 200, r.json
    assert r.json["active_version"] == 2
    alipay.certificates = certs
    order = shop.file(client, subtype_id=shop.full.id)
    paid = paid_ok(client, shop, order["id"], "alipay")
    alipay.open_order_string(paid["params"]["orderStr"])
    alipay.pay(paid["out_trade_no"])
    assert notify_alipay(client, alipay.payment_notification(paid["out_trade_no"])).data == (
        b"success"
    )
