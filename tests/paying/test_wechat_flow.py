"""The whole WeChat Pay flow through the HTTP API: deposit, notification, balance, replay."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import func, select

from server.charges.models import LedgerEntry
from server.payments.models import Payment
from tests.paying.conftest import NOTIFY_WECHAT, WX_APPID, deliver_all
from tests.paying.helpers import payment_jobs

TENANT = "/api/v1/tenant/orders"
ADMIN = "/api/v1/admin"


def _pay(client, shop, order_id, channel="wechat", key=None, who=None):
    headers = dict(shop.headers(who or shop.tenant))
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"{TENANT}/{order_id}/payments", json={"channel": channel}, headers=headers)


def _notify(client, body, headers):
    return client.post(NOTIFY_WECHAT, data=body, headers=headers, content_type="application/json")


def test_deposit_paid_by_wechat_moves_the_order_into_the_pool_once(
    client, shop, wxpay, merchant_key, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    assert order["status"] == "awaiting_payment" and order["payable_fen"] == 3000

    r = _pay(client, shop, order["id"], key="pay-1")
    assert r.status_code == 200, r.json
    paid = r.json
    assert paid["channel"] == "wechat" and paid["amount_fen"] == 3000
    params = paid["params"]
    assert params["appId"] == WX_APPID and params["signType"] == "RSA"
    assert params["package"].startswith("prepay_id=")
    # paySign verifies with the merchant's key over appId, timeStamp, nonceStr, package.
    message = (
        f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    )
    merchant_key.public_key().verify(
        base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    # WeChat saw the amount the server computed, for the tenant's openid.
    prepay = wxpay.orders[paid["out_trade_no"]]["request"]
    assert (
        prepay["amount"]["total"] == 3000 and prepay["payer"]["openid"] == shop.tenant.wechat_openid
    )

    # Asking again (same key, or none) answers the same payment with the same parameters.
    assert _pay(client, shop, order["id"], key="pay-1").json == paid
    assert _pay(client, shop, order["id"]).json["payment_id"] == paid["payment_id"]
    assert wxpay.calls["jsapi"] <= 1 or len(wxpay.orders) == 1

    wxpay.pay(paid["out_trade_no"])
    body, headers = wxpay.payment_notification(paid["out_trade_no"])
    for _ in range(3):  # WeChat repeats itself
        r = _notify(client, body, headers)
        assert r.status_code == 204 and r.data == b""

    detail = client.get(f"{TENANT}/{order['id']}", headers=shop.headers(shop.tenant)).json
    assert detail["status"] == "pending" and detail["payment_status"] == "paid"
    assert detail["payable_fen"] == 0
    rows = db_session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.order_id == order["id"], LedgerEntry.kind == "payment"
        )
    ).all()
    assert [(r.amount_fen, r.reference) for r in rows] == [(-3000, paid["out_trade_no"])]

    money = client.get(f"{ADMIN}/orders/{order['id']}/money", headers=shop.headers(shop.dispatcher))
    assert money.status_code == 200
    assert money.json["owed_fen"] == 0 and money.json["paid_fen"] == 3000
    assert [p["status"] for p in money.json["payments"]] == ["paid"]

    # Paid: asking to pay again is refused.
    r = _pay(client, shop, order["id"])
    assert r.status_code == 409 and r.json["error"] == "already_paid"
    assert payment_jobs(deliver_all(client.application)) == []


def test_a_changed_amount_closes_the_old_payment_at_wechat_first(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.after.id)
    oid = order["id"]
    tech = shop.techs[0]
    assert (
        client.post(f"/api/v1/tech/orders/{oid}/grab", headers=shop.headers(tech)).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/tech/orders/{oid}/complete",
            json={"result": "已修好"},
            headers=shop.headers(tech),
        ).status_code
        == 200
    )
    # Nothing was charged: nothing to pay.
    r = _pay(client, shop, oid)
    assert r.status_code == 409 and r.json["error"] in ("nothing_to_pay", "already_paid")
    assert (
        db_session.scalar(select(func.count()).select_from(Payment).where(Payment.order_id == oid))
        == 0
    )
