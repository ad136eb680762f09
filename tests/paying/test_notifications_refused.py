"""Notifications that must not move money: refused with 401 signature_invalid (nothing
recorded), or answered but not settled when the amount is not ours."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from server.payments.models import Payment
from tests.fakes.wechatpay import FakeWeChatPay
from tests.paying.conftest import (
    APIV3_KEY,
    MCHID,
    MERCHANT_SERIAL,
    PLATFORM_KEY_ID,
    WX_APPID,
    deliver_all,
)
from tests.paying.helpers import (
    ADMIN,
    ledger_rows,
    notify_alipay,
    notify_wechat,
    paid_ok,
    payments_of,
    refunds_of,
    tenant_view,
)
from tests.payments.keys import private_pem, wechat_body

OTHER_KEY_ID = "PUB_KEY_ID_0119000009992026113000000000000009"
OTHER_APIV3 = "another-org-apiv3-key-0123456789"


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _nothing_recorded(client, shop, db_session, order_id, status="awaiting_payment"):
    detail = tenant_view(client, shop, order_id)
    assert detail["status"] == status and detail["payment_status"] != "paid"
    assert [p.status for p in payments_of(db_session, order_id)] == ["open"]
    assert ledger_rows(db_session, order_id, "payment") == []


@pytest.fixture
def wx_paid(client, shop, wxpay):
    """A deposit order whose tenant paid at WeChat; no notification has arrived yet."""
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    wxpay.pay(paid["out_trade_no"])
    return order["id"], paid["out_trade_no"]


def _refused(r):
    assert r.status_code == 401, (r.status_code, r.data)
    assert r.json["error"] == "signature_invalid"


def _another_platform(wxpay: FakeWeChatPay, *, serial: str, apiv3: str) -> FakeWeChatPay:
    """A WeChat Pay with its own platform key (and key id, APIv3 key) that knows our orders."""
    other = FakeWeChatPay(
        mchid=MCHID,
        appid=WX_APPID,
        merchant_serial=MERCHANT_SERIAL,
        merchant_public_key=wxpay.merchant_public_key,
        platform_private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        platform_serial=serial,
        apiv3_key=apiv3.encode(),
    )
    other.orders = wxpay.orders
    return other


def test_a_tampered_body_is_refused(client, shop, wxpay, db_session, wx_paid):
    order_id, out_trade_no = wx_paid
    body, headers = wxpay.payment_notification(out_trade_no)
    envelope = json.loads(body)
    envelope["summary"] = "支付成功!"
    _refused(notify_wechat(client, json.dumps(envelope, ensure_ascii=False).encode(), headers))
    _refused(notify_wechat(client, body + b" ", headers))
    _nothing_recorded(client, shop, db_session, order_id)
    # The genuine one still goes through afterwards.
    assert notify_wechat(client, body, headers).status_code == 204
    assert tenant_view(client, shop, order_id)["payment_status"] == "paid"


def test_a_stale_timestamp_is_refused(client, shop, wxpay, db_session, wx_paid):
    order_id, out_trade_no = wx_paid
    stale = int(time.time()) - 301
    _refused(notify_wechat(client, *wxpay.payment_notification(out_trade_no, timestamp=stale)))
    future = int(time.time()) + 400
    _refused(notify_wechat(client, *wxpay.payment_notification(out_trade_no, timestamp=future)))
    _nothing_recorded(client, shop, db_session, order_id)


def test_a_probe_signature_is_refused(client, shop, wxpay, db_session, wx_paid):
    order_id, out_trade_no = wx_paid
    body, headers = wxpay.payment_notification(out_trade_no)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"][:40]
    _refused(notify_wechat(client, body, headers))
    _nothing_recorded(client, shop, db_session, order_id)


def test_an_unknown_serial_or_no_serial_is_refused(client, shop, wxpay, db_session, wx_paid):
    order_id, out_trade_no = wx_paid
    body, headers = wxpay.payment_notification(out_trade_no)
    _refused(notify_wechat(client, body, {**headers, "Wechatpay-Serial": OTHER_KEY_ID}))
    _refused(
        notify_wechat(client, body, {k: v for k, v in headers.items() if k != "Wechatpay-Serial"})
    )
    _nothing_recorded(client, shop, db_session, order_id)


def test_signed_by_another_platform_key_is_refused(client, shop, wxpay, db_session, wx_paid):
    order_id, out_trade_no = wx_paid
    # Our key id, our APIv3 key, but not WeChat's private key.
    forger = _another_platform(wxpay, serial=PLATFORM_KEY_ID, apiv3=APIV3_KEY)
    _refused(notify_wechat(client, *forger.payment_notification(out_trade_no)))
    _nothing_recorded(client, shop, db_session, order_id)


def test_another_organisations_account_cannot_vouch_for_our_payment(
    client, shop, wxpay, make, db_session, wx_paid
):
    order_id, out_trade_no = wx_paid
    # A second organisation configures its OWN WeChat Pay merchant (its platform key, key id
    # and APIv3 key) — keys that verify and decrypt perfectly, just not for our payment.
    other = _another_platform(wxpay, serial=OTHER_KEY_ID, apiv3=OTHER_APIV3)
    org2 = make.org()
    r = client.post(
        f"{ADMIN}/payment-accounts",
        json=wechat_body(
            mchid="1900000999",
            private_key=private_pem("org2-merchant"),
            apiv3_key=OTHER_APIV3,
            platform_public_key=_public_pem(other.platform_private_key),
            platform_public_key_id=OTHER_KEY_ID,
        ),
        headers=make.headers(make.admin(org2)),
    )
    assert r.status_code == 201, r.json
    # Its notification names our out_trade_no, our mchid and appid, the right amount.
    _refused(notify_wechat(client, *other.payment_notification(out_trade_no)))
    _nothing_recorded(client, shop, db_session, order_id)


def test_a_wechat_amount_mismatch_is_answered_but_not_settled(
    client, shop, wxpay, db_session, wx_paid
):
    order_id, out_trade_no = wx_paid
    tx = wxpay.transaction(out_trade_no)
    tx["amount"] = {**tx["amount"], "total": 1, "payer_total": 1}
    body, headers = wxpay.notification("TRANSACTION.SUCCESS", "transaction", tx, summary="支付成功")
    r = notify_wechat(client, body, headers)
    assert r.status_code == 204  # WeChat must not keep retrying a lie
    _nothing_recorded(client, shop, db_session, order_id)
    [payment] = payments_of(db_session, order_id)
    assert "金额不符" in payment.note


# --- Alipay -----------------------------------------------------------------------------------


@pytest.fixture
def ali_paid(client, shop, alipay):
    order = shop.file(client, subtype_id=shop.full.id)
    paid = paid_ok(client, shop, order["id"], "alipay")
    alipay.open_order_string(paid["params"]["orderStr"])
    alipay.pay(paid["out_trade_no"])
    return order["id"], paid["out_trade_no"]


def test_alipay_bad_signature_is_refused(client, shop, alipay, db_session, ali_paid):
    order_id, out_trade_no = ali_paid
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _refused(notify_alipay(client, alipay.payment_notification(out_trade_no, key=stranger)))
    genuine = alipay.payment_notification(out_trade_no)
    _refused(notify_alipay(client, genuine.replace(b"total_amount=88.00", b"total_amount=0.01")))
    _nothing_recorded(client, shop, db_session, order_id)


def test_alipay_wrong_app_id_is_refused(client, shop, alipay, db_session, ali_paid):
    order_id, out_trade_no = ali_paid
    body = alipay.payment_notification(out_trade_no, app_id="2021000000009999")
    _refused(notify_alipay(client, body))
    _nothing_recorded(client, shop, db_session, order_id)


def test_alipay_wrong_seller_id_is_refused(client, shop, alipay, db_session, ali_paid):
    order_id, out_trade_no = ali_paid
    body = alipay.payment_notification(out_trade_no, seller_id="2088000000009999")
    _refused(notify_alipay(client, body))
    _nothing_recorded(client, shop, db_session, order_id)


def test_an_alipay_amount_mismatch_is_answered_but_not_settled(
    client, shop, alipay, db_session, ali_paid
):
    order_id, out_trade_no = ali_paid
    r = notify_alipay(client, alipay.payment_notification(out_trade_no, total_amount="0.01"))
    assert r.status_code == 200 and r.data == b"success"
    _nothing_recorded(client, shop, db_session, order_id)
    payment = db_session.get(Payment, payments_of(db_session, order_id)[0].id)
    assert "金额不符" in payment.note


def test_a_refund_notification_from_another_account_is_refused(
    client, shop, wxpay, make, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    wxpay.pay(paid["out_trade_no"])
    r = notify_wechat(client, *wxpay.payment_notification(paid["out_trade_no"]))
    assert r.status_code == 204
    r = client.post(
        f"/api/v1/tenant/orders/{order['id']}/cancel",
        json={"reason": "不修了"},
        headers=shop.headers(shop.tenant),
    )
    assert r.status_code == 200
    deliver_all(client.application)
    [refund] = refunds_of(db_session, order["id"])
    assert refund.status == "processing"

    other = _another_platform(wxpay, serial=OTHER_KEY_ID, apiv3=OTHER_APIV3)
    other.refunds = wxpay.refunds
    org2 = make.org()
    r = client.post(
        f"{ADMIN}/payment-accounts",
        json=wechat_body(
            mchid="1900000999",
            private_key=private_pem("org2-merchant"),
            apiv3_key=OTHER_APIV3,
            platform_public_key=_public_pem(other.platform_private_key),
            platform_public_key_id=OTHER_KEY_ID,
        ),
        headers=make.headers(make.admin(org2)),
    )
    assert r.status_code == 201, r.json
    _refused(notify_wechat(client, *other.refund_notification(refund.out_refund_no)))
    assert refunds_of(db_session, order["id"])[0].status == "processing"
    assert ledger_rows(db_session, order["id"], "refund") == []


def test_garbage_is_refused_not_a_server_error(client, shop, wxpay, db_session, wx_paid):
    order_id, out_trade_no = wx_paid
    _refused(notify_wechat(client, b"", {}))
    _refused(notify_wechat(client, b"{not json", {}))
    body, headers = wxpay.payment_notification(out_trade_no)
    _refused(notify_wechat(client, body, {**headers, "Wechatpay-Timestamp": "soon"}))
    _refused(notify_wechat(client, body, {**headers, "Wechatpay-Signature": "!!!"}))
    # Signed by WeChat, but the resource is sealed with another APIv3 key.
    sealed = _another_platform(wxpay, serial=PLATFORM_KEY_ID, apiv3=OTHER_APIV3)
    sealed.platform_private_key = wxpay.platform_private_key
    _refused(notify_wechat(client, *sealed.payment_notification(out_trade_no)))
    # Signed, well formed JSON, but no resource.
    envelope = json.dumps({"id": "x", "event_type": "TRANSACTION.SUCCESS"}).encode()
    _refused(notify_wechat(client, envelope, wxpay.sign(envelope)))
    _nothing_recorded(client, shop, db_session, order_id)


def test_alipay_garbage_is_refused_not_a_server_error(client, shop, alipay, db_session, ali_paid):
    order_id, out_trade_no = ali_paid
    _refused(notify_alipay(client, b""))
    _refused(notify_alipay(client, b"\xff\xfe\x00garbage"))
    _refused(
        notify_alipay(client, b"app_id=2021000000000001&out_trade_no=" + out_trade_no.encode())
    )
    genuine = alipay.payment_notification(out_trade_no)
    unsigned = b"&".join(p for p in genuine.split(b"&") if not p.startswith(b"sign="))
    _refused(notify_alipay(client, unsigned))
    _nothing_recorded(client, shop, db_session, order_id)
