"""What follows a payment when the notification does not come, and when the amount changes:
the sweep asks the provider, expired payments are closed there, a replaced payment is closed at
its provider before the new one is used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.payments import followup
from server.payments.rules import PAYMENT_EXPIRES_MINUTES, QUERY_AFTER_MINUTES
from tests.paying.conftest import deliver_all
from tests.paying.helpers import (
    ADMIN,
    assert_ledger_agrees,
    complete_with_charge,
    ledger_rows,
    notify_alipay,
    notify_wechat,
    paid_ok,
    pay,
    payments_of,
    refunds_of,
    tenant_view,
    wechat_paid,
)


def _sweep(client, minutes):
    """The periodic job, run as if `minutes` had passed."""
    wiring = client.application.extensions["baoxiu"]
    later = datetime.now(UTC) + timedelta(minutes=minutes)
    return followup.sweep(wiring.db, wiring.settings, now=later)


def test_a_missed_wechat_notification_is_found_by_the_sweep(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    wxpay.pay(paid["out_trade_no"])  # ... and the notification is lost

    # Too early: nobody is asked yet.
    assert _sweep(client, 0)["payments"] == 0
    assert tenant_view(client, shop, order["id"])["payment_status"] != "paid"

    counts = _sweep(client, QUERY_AFTER_MINUTES + 1)
    assert counts["payments"] == 1 and counts["errors"] == 0
    detail = tenant_view(client, shop, order["id"])
    assert detail["status"] == "pending" and detail["payment_status"] == "paid"
    [payment] = payments_of(db_session, order["id"])
    assert payment.status == "paid"
    assert payment.provider_txn_id == wxpay.orders[paid["out_trade_no"]]["transaction_id"]
    assert ledger_rows(db_session, order["id"], "payment") == [(-3000, paid["out_trade_no"])]
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 0
    # The notification arriving late changes nothing; neither does another sweep.
    assert _sweep(client, QUERY_AFTER_MINUTES + 10)["payments"] == 0
    assert ledger_rows(db_session, order["id"], "payment") == [(-3000, paid["out_trade_no"])]


def test_an_unpaid_open_payment_is_asked_about_and_left_open(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid_ok(client, shop, order["id"])
    assert _sweep(client, QUERY_AFTER_MINUTES + 1)["payments"] == 1
    [payment] = payments_of(db_session, order["id"])
    assert payment.status == "open" and payment.query_count == 1
    assert payment.last_queried_at is not None


def test_an_unpaid_expired_payment_is_closed_at_wechat(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    assert wxpay.orders[paid["out_trade_no"]]["state"] == "NOTPAY"

    counts = _sweep(client, PAYMENT_EXPIRES_MINUTES + 1)
    assert counts == {"payments": 1, "refunds": 0, "errors": 0}
    assert wxpay.orders[paid["out_trade_no"]]["state"] == "CLOSED"
    [payment] = payments_of(db_session, order["id"])
    assert payment.status == "closed" and payment.closed_at is not None
    assert tenant_view(client, shop, order["id"])["payment_status"] != "paid"
    # Paying now is a new payment, not the closed one.
    again = paid_ok(client, shop, order["id"])
    assert again["out_trade_no"] != paid["out_trade_no"]
    assert [p.status for p in payments_of(db_session, order["id"])] == ["closed", "open"]


def test_a_missed_alipay_notification_is_found_by_the_sweep(client, shop, alipay, db_session):
    order = shop.file(client, subtype_id=shop.full.id)
    paid = paid_ok(client, shop, order["id"], "alipay")
    trade = alipay.open_order_string(paid["params"]["orderStr"])
    alipay.pay(paid["out_trade_no"])

    assert _sweep(client, QUERY_AFTER_MINUTES + 1)["payments"] == 1
    detail = tenant_view(client, shop, order["id"])
    assert detail["payment_status"] == "paid" and detail["status"] == "pending"
    [payment] = payments_of(db_session, order["id"])
    assert (payment.status, payment.provider_txn_id) == ("paid", trade.trade_no)
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 0


def test_an_alipay_order_string_never_opened_is_closed_once_expired(
    client, shop, alipay, db_session
):
    order = shop.file(client, subtype_id=shop.full.id)
    paid = paid_ok(client, shop, order["id"], "alipay")
    counts = _sweep(client, PAYMENT_EXPIRES_MINUTES + 1)
    assert counts["payments"] == 1 and counts["errors"] == 0
    assert [p.status for p in payments_of(db_session, order["id"])] == ["closed"]
    assert paid["out_trade_no"] not in alipay.trades


# --- the amount changes while a payment is open ---------------------------------------------


def test_a_discount_after_completion_closes_the_open_balance_payment_first(
    client, shop, wxpay, db_session
):
    order = shop.file(client, subtype_id=shop.after.id)
    oid = order["id"]
    complete_with_charge(client, shop, db_session, oid, price_fen=15000)
    first = paid_ok(client, shop, oid)
    assert first["amount_fen"] == 15000

    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"discount_fen": 5000, "reason": "老住户优惠"},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 200, r.json
    assert r.json["payable_fen"] == 10000
    assert assert_ledger_agrees(client, shop, db_session, oid) == 10000

    second = paid_ok(client, shop, oid)
    assert second["amount_fen"] == 10000 and second["out_trade_no"] != first["out_trade_no"]
    # The old one was closed at WeChat before the new one was handed out.
    assert wxpay.orders[first["out_trade_no"]]["state"] == "CLOSED"
    assert wxpay.orders[second["out_trade_no"]]["request"]["amount"]["total"] == 10000
    assert [(p.status, p.amount_fen) for p in payments_of(db_session, oid)] == [
        ("closed", 15000),
        ("open", 10000),
    ]
    wxpay.pay(second["out_trade_no"])
    assert (
        notify_wechat(client, *wxpay.payment_notification(second["out_trade_no"])).status_code
        == 204
    )
    assert tenant_view(client, shop, oid)["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_part_paid_at_the_desk_closes_the_open_deposit_payment(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    oid = order["id"]
    first = paid_ok(client, shop, oid)
    r = client.post(
        f"{ADMIN}/orders/{oid}/offline-payments",
        json={"amount_fen": 1000, "method": "cash", "note": "前台收现金"},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 201, r.json
    assert tenant_view(client, shop, oid)["payable_fen"] == 2000
    # The 3000 the tenant has open is no longer what is owed: closed at WeChat by the job.
    deliver_all(client.application)
    assert wxpay.orders[first["out_trade_no"]]["state"] == "CLOSED"

    second = paid_ok(client, shop, oid)
    assert second["amount_fen"] == 2000
    assert assert_ledger_agrees(client, shop, db_session, oid) == 2000


def test_a_replaced_payment_found_paid_is_settled_not_closed(
    client, shop, wxpay, alipay, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    oid = order["id"]
    first = paid_ok(client, shop, oid)
    wxpay.pay(first["out_trade_no"])  # paid at WeChat; the notification is still on its way
    # The tenant, seeing nothing happen, tries Alipay: WeChat is asked first, and it was paid.
    r = pay(client, shop, oid, "alipay")
    assert r.status_code == 409 and r.json["error"] == "already_paid"
    assert wxpay.orders[first["out_trade_no"]]["state"] == "SUCCESS"
    assert [(p.channel, p.status) for p in payments_of(db_session, oid)] == [("wechat", "paid")]
    assert tenant_view(client, shop, oid)["status"] == "pending"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_a_payment_paid_just_before_it_expired_is_settled_not_closed(
    client, shop, wxpay, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    wxpay.pay(paid["out_trade_no"])  # at the last minute; the notification is lost

    counts = _sweep(client, PAYMENT_EXPIRES_MINUTES + 5)
    assert counts["payments"] == 1 and counts["errors"] == 0
    assert wxpay.orders[paid["out_trade_no"]]["state"] == "SUCCESS"  # never closed
    assert [p.status for p in payments_of(db_session, order["id"])] == ["paid"]
    assert tenant_view(client, shop, order["id"])["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 0


def test_a_query_reporting_another_amount_is_not_settled(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    wxpay.pay(paid["out_trade_no"])
    wxpay.orders[paid["out_trade_no"]]["request"]["amount"]["total"] = 1

    _sweep(client, QUERY_AFTER_MINUTES + 1)
    [payment] = payments_of(db_session, order["id"])
    assert payment.status != "paid" and "金额不符" in payment.note
    assert ledger_rows(db_session, order["id"], "payment") == []
    assert tenant_view(client, shop, order["id"])["status"] == "awaiting_payment"


def test_an_old_alipay_string_paid_after_the_amount_dropped(client, shop, alipay, db_session):
    order = shop.file(client, subtype_id=shop.after.id)
    oid = order["id"]
    complete_with_charge(client, shop, db_session, oid, price_fen=15000)
    first = paid_ok(client, shop, oid, "alipay")
    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"discount_fen": 5000, "reason": "老住户优惠"},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 200, r.json
    # Alipay has no trade to close before the buyer opens the string: the old one stays
    # `closing` for its job, and the tenant gets the new amount.
    second = paid_ok(client, shop, oid, "alipay")
    assert second["amount_fen"] == 10000
    assert [(p.amount_fen, p.status) for p in payments_of(db_session, oid)] == [
        (15000, "closing"),
        (10000, "open"),
    ]

    # ... but the tenant pays the old string they still hold.
    alipay.open_order_string(first["params"]["orderStr"])
    alipay.pay(first["out_trade_no"])
    assert notify_alipay(client, alipay.payment_notification(first["out_trade_no"])).data == (
        b"success"
    )
    deliver_all(client.application)
    # Booked; the 5000 paid beyond what is owed goes back; the new payment is no longer
    # offered (closing: Alipay has no trade for it yet; paid anyway, it would be refunded).
    payments = payments_of(db_session, oid)
    assert [(p.amount_fen, p.status) for p in payments] == [(15000, "paid"), (10000, "closing")]
    assert second["out_trade_no"] not in alipay.trades
    [refund] = refunds_of(db_session, oid)
    assert (refund.amount_fen, refund.source, refund.status) == (5000, "settlement", "success")
    assert tenant_view(client, shop, oid)["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_an_old_wechat_payment_paid_after_its_close_failed_closes_the_new_one(
    client, shop, wxpay, db_session
):
    order = shop.file(client, subtype_id=shop.after.id)
    oid = order["id"]
    complete_with_charge(client, shop, db_session, oid, price_fen=15000)
    first = paid_ok(client, shop, oid)
    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"discount_fen": 5000, "reason": "老住户优惠"},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 200, r.json
    # WeChat cannot close the old one just now: it stays closing for its job.
    wxpay.fail_next(
        f"/v3/pay/transactions/out-trade-no/{first['out_trade_no']}/close", 500, "SYSTEM_ERROR"
    )
    second = paid_ok(client, shop, oid)
    assert second["amount_fen"] == 10000
    assert wxpay.orders[first["out_trade_no"]]["state"] == "NOTPAY"

    # The tenant pays the old one after all, before its job runs.
    wechat_paid(client, wxpay, first["out_trade_no"])
    deliver_all(client.application)
    # The new one is closed at WeChat (no second payment), the 5000 too much comes back.
    assert wxpay.orders[second["out_trade_no"]]["state"] == "CLOSED"
    assert [(p.amount_fen, p.status) for p in payments_of(db_session, oid)] == [
        (15000, "paid"),
        (10000, "closed"),
    ]
    [refund] = refunds_of(db_session, oid)
    assert (refund.amount_fen, refund.source) == (5000, "settlement")
    assert (
        notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no)).status_code == 204
    )
    assert tenant_view(client, shop, oid)["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
