"""An organisation's own WeChat Pay merchant and Alipay app (POST /admin/payment-accounts):
its payments are made, verified and refunded with its keys, not the default account's."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from server.payments.models import Payment
from tests.paying.conftest import (
    APIV3_KEY,
    MCHID,
    MERCHANT_SERIAL,
    PLATFORM_KEY_ID,
    SELLER_ID,
    deliver_all,
)
from tests.paying.helpers import (
    ADMIN,
    TENANT,
    assert_ledger_agrees,
    notify_alipay,
    notify_wechat,
    paid_ok,
    refunds_of,
    tenant_view,
)

ORG_APPID = "wx0123456789abcdef"


def _private(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public(key):
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture
def admin(make, shop):
    return make.headers(make.admin(shop.org))


def _account(client, admin, body):
    r = client.post(f"{ADMIN}/payment-accounts", json=body, headers=admin)
    assert r.status_code == 201, r.json
    return r.json["id"]


def test_an_organisations_own_wechat_merchant_pays_and_refunds(
    client, shop, wxpay, admin, merchant_key, platform_key, db_session
):
    account_id = _account(
        client,
        admin,
        {
            "provider": "wechat",
            "name": "本物业商户",
            "mchid": MCHID,
            "appid": ORG_APPID,
            "private_key": _private(merchant_key),
            "apiv3_key": APIV3_KEY,
            "cert_serial": MERCHANT_SERIAL,
            "platform_public_key": _public(platform_key.public_key()),
            "platform_public_key_id": PLATFORM_KEY_ID,
        },
    )
    wxpay.appid = ORG_APPID  # the fake plays this merchant's WeChat Pay

    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    assert paid["params"]["appId"] == ORG_APPID
    payment = db_session.get(Payment, paid["payment_id"])
    assert (payment.account_id, payment.account_version, payment.appid) == (
        account_id,
        1,
        ORG_APPID,
    )
    wxpay.pay(paid["out_trade_no"])
    assert (
        notify_wechat(client, *wxpay.payment_notification(paid["out_trade_no"])).status_code == 204
    )
    assert tenant_view(client, shop, order["id"])["payment_status"] == "paid"

    r = client.post(
        f"{TENANT}/{order['id']}/cancel",
        json={"reason": "不修了"},
        headers=shop.headers(shop.tenant),
    )
    assert r.status_code == 200
    deliver_all(client.application)
    [refund] = refunds_of(db_session, order["id"])
    assert wxpay.refunds[refund.out_refund_no]["amount"]["refund"] == 3000
    assert (
        notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no)).status_code == 204
    )
    assert tenant_view(client, shop, order["id"])["payment_status"] == "refunded"
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 0


def test_an_organisations_own_alipay_app_checks_its_seller(
    client, shop, alipay, alipay_keys, admin, db_session
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
    order = shop.file(client, subtype_id=shop.full.id)
    paid = paid_ok(client, shop, order["id"], "alipay")
    assert db_session.get(Payment, paid["payment_id"]).account_id == account_id
    alipay.open_order_string(paid["params"]["orderStr"])
    alipay.pay(paid["out_trade_no"])
    wrong = alipay.payment_notification(paid["out_trade_no"], seller_id="2088000000009999")
    r = notify_alipay(client, wrong)
    assert r.status_code == 401 and r.json["error"] == "signature_invalid"
    assert tenant_view(client, shop, order["id"])["payment_status"] != "paid"
    r = notify_alipay(client, alipay.payment_notification(paid["out_trade_no"]))
    assert r.data == b"success"
    assert tenant_view(client, shop, order["id"])["payment_status"] == "paid"


def test_a_payment_outlives_its_account_being_switched_off(
    client, shop, wxpay, admin, merchant_key, platform_key, db_session
):
    account_id = _account(
        client,
        admin,
        {
            "provider": "wechat",
            "mchid": MCHID,
            "appid": ORG_APPID,
            "private_key": _private(merchant_key),
            "apiv3_key": APIV3_KEY,
            "cert_serial": MERCHANT_SERIAL,
            "platform_public_key": _public(platform_key.public_key()),
            "platform_public_key_id": PLATFORM_KEY_ID,
        },
    )
    wxpay.appid = ORG_APPID
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    r = client.delete(f"{ADMIN}/payment-accounts/{account_id}", headers=admin)
    assert r.status_code in (200, 204), r.data

    # Paid after the switch-off: verified with the keys the payment was made with, and
    # refunded with them too.
    wxpay.pay(paid["out_trade_no"])
    r = notify_wechat(client, *wxpay.payment_notification(paid["out_trade_no"]))
    assert r.status_code == 204
    assert tenant_view(client, shop, order["id"])["payment_status"] == "paid"
    tenant = shop.headers(shop.tenant)
    r = client.post(f"{TENANT}/{order['id']}/cancel", json={"reason": "不修了"}, headers=tenant)
    assert r.status_code == 200
    deliver_all(client.application)
    [refund] = refunds_of(db_session, order["id"])
    assert refund.status == "processing"
    assert wxpay.refunds[refund.out_refund_no]["out_trade_no"] == paid["out_trade_no"]
