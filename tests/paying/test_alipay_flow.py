"""The Alipay flow through the HTTP API: order string, the buyer pays, the signed notification;
balances after completion (and after a reopen)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from server.payments.models import Payment
from tests.paying.conftest import ALIPAY_APPID
from tests.paying.helpers import (
    TENANT,
    assert_ledger_agrees,
    complete_with_charge,
    grab,
    ledger_rows,
    notify_alipay,
    paid_ok,
    pay,
    payments_of,
    service_item,
    tenant_view,
    wechat_paid,
)


def test_full_prepay_paid_with_alipay_is_booked_once(client, shop, alipay, db_session):
    order = shop.file(client, subtype_id=shop.full.id)
    assert order["status"] == "awaiting_payment" and order["payable_fen"] == 8800
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 8800

    paid = paid_ok(client, shop, order["id"], "alipay")
    assert paid["channel"] == "alipay" and paid["amount_fen"] == 8800
    order_str = paid["params"]["orderStr"]
    fields = dict(parse_qsl(order_str))
    assert fields["app_id"] == ALIPAY_APPID and fields["method"] == "alipay.trade.app.pay"
    # The buyer's app hands the string to Alipay: it verifies our signature and opens the trade.
    trade = alipay.open_order_string(order_str)
    assert trade.out_trade_no == paid["out_trade_no"] and trade.total_amount == "88.00"
    alipay.pay(paid["out_trade_no"])

    body = alipay.payment_notification(paid["out_trade_no"])
    for _ in range(3):  # Alipay redelivers until it reads `success`
        r = notify_alipay(client, body)
        assert r.status_code == 200 and r.data == b"success"
    # A fresh notification of the same trade (new notify_id) changes nothing either.
    r = notify_alipay(client, alipay.payment_notification(paid["out_trade_no"]))
    assert r.data == b"success"

    detail = tenant_view(client, shop, order["id"])
    assert detail["status"] == "pending" and detail["payment_status"] == "paid"
    [payment] = payments_of(db_session, order["id"])
    assert (payment.status, payment.provider_txn_id) == ("paid", trade.trade_no)
    assert ledger_rows(db_session, order["id"], "payment") == [(-8800, paid["out_trade_no"])]
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 0


def test_the_balance_after_completion_paid_with_alipay(client, shop, alipay, db_session):
    order = shop.file(client, subtype_id=shop.after.id)
    oid = order["id"]
    assert order["status"] == "pending" and order["payable_fen"] == 0
    done = complete_with_charge(client, shop, db_session, oid, price_fen=15000)
    assert done["status"] == "completed" and done["payable_fen"] == 15000
    assert assert_ledger_agrees(client, shop, db_session, oid) == 15000

    # The rating closes the order: it waits for the balance.
    rate = {"score": 5, "comment": "很好"}
    r = client.post(f"{TENANT}/{oid}/rating", json=rate, headers=shop.headers(shop.tenant))
    assert r.status_code == 402 and r.json["error"] == "payment_required"

    paid = paid_ok(client, shop, oid, "alipay")
    assert paid["amount_fen"] == 15000
    payment = db_session.get(Payment, paid["payment_id"])
    assert payment.purpose == "balance"
    alipay.open_order_string(paid["params"]["orderStr"])
    alipay.pay(paid["out_trade_no"])
    r = notify_alipay(client, alipay.payment_notification(paid["out_trade_no"]))
    assert r.status_code == 200 and r.data == b"success"

    detail = tenant_view(client, shop, oid)
    assert detail["payment_status"] == "paid" and detail["payable_fen"] == 0
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    r = client.post(f"{TENANT}/{oid}/rating", json=rate, headers=shop.headers(shop.tenant))
    assert r.status_code == 200 and r.json["status"] == "closed"
    assert tenant_view(client, shop, oid)["payment_status"] == "paid"


def test_a_reopened_order_asks_only_for_what_was_added(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.after.id)
    oid = order["id"]
    complete_with_charge(client, shop, db_session, oid, price_fen=12000)
    first = paid_ok(client, shop, oid)
    wechat_paid(client, wxpay, first["out_trade_no"])
    assert tenant_view(client, shop, oid)["payment_status"] == "paid"

    r = client.post(
        f"{TENANT}/{oid}/reopen", json={"reason": "又漏了"}, headers=shop.headers(shop.tenant)
    )
    assert r.status_code == 200, r.json
    r = pay(client, shop, oid)
    assert r.status_code == 409  # nothing is owed while the work goes on
    tech = shop.techs[1]
    grab(client, shop, oid, tech)
    item = service_item(shop, db_session, 3000)
    r = client.post(
        f"/api/v1/tech/orders/{oid}/charges",
        json={"kind": "service", "item_id": item.id, "quantity": 1},
        headers=shop.headers(tech),
    )
    assert r.status_code == 201, r.json
    r = client.post(
        f"/api/v1/tech/orders/{oid}/complete",
        json={"result": "换了管子"},
        headers=shop.headers(tech),
    )
    assert r.status_code == 200 and r.json["payable_fen"] == 3000
    second = paid_ok(client, shop, oid)
    assert second["amount_fen"] == 3000 and second["out_trade_no"] != first["out_trade_no"]
    wechat_paid(client, wxpay, second["out_trade_no"])
    assert tenant_view(client, shop, oid)["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    assert [(a, r) for a, r in ledger_rows(db_session, oid, "payment")] == [
        (-12000, first["out_trade_no"]),
        (-3000, second["out_trade_no"]),
    ]
