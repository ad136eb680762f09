"""Refunds end to end: written with the change that makes them owed, submitted to the provider
after the commit under our out_refund_no, followed to success (notification or sweep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.payments import followup
from tests.paying.conftest import deliver_all
from tests.paying.helpers import (
    ADMIN,
    TENANT,
    assert_ledger_agrees,
    ledger_rows,
    notify_alipay,
    notify_wechat,
    paid_ok,
    payment_jobs,
    refunds_of,
    tenant_view,
    wechat_paid,
)


@pytest.fixture
def admin(make, shop):
    return make.headers(make.admin(shop.org))


def _cancel(client, shop, order_id):
    r = client.post(
        f"{TENANT}/{order_id}/cancel", json={"reason": "不修了"}, headers=shop.headers(shop.tenant)
    )
    assert r.status_code == 200, r.json
    return r.json


def _desk_refund(client, headers, order_id, amount_fen, key=None, reason="服务不满意，部分退款"):
    h = dict(headers)
    if key:
        h["Idempotency-Key"] = key
    return client.post(
        f"{ADMIN}/orders/{order_id}/refunds",
        json={"amount_fen": amount_fen, "reason": reason},
        headers=h,
    )


def _wx_order_paid(client, shop, wxpay, subtype):
    order = shop.file(client, subtype_id=subtype.id)
    paid = paid_ok(client, shop, order["id"])
    wechat_paid(client, wxpay, paid["out_trade_no"])
    return order["id"], paid["out_trade_no"]


def test_cancelling_a_paid_deposit_refunds_it_through_wechat(client, shop, wxpay, db_session):
    oid, out_trade_no = _wx_order_paid(client, shop, wxpay, shop.deposit)
    cancelled = _cancel(client, shop, oid)
    assert cancelled["status"] == "cancelled"
    # Owed back 3000 until the refund is through.
    assert assert_ledger_agrees(client, shop, db_session, oid) == -3000

    outcomes = deliver_all(client.application)
    assert any("submit_refund:delivered" in o for o in outcomes), outcomes
    [refund] = refunds_of(db_session, oid)
    assert (refund.amount_fen, refund.source, refund.status) == (3000, "cancel", "processing")
    at_wechat = wxpay.refunds[refund.out_refund_no]
    assert at_wechat["out_trade_no"] == out_trade_no and at_wechat["amount"]["refund"] == 3000
    assert at_wechat["status"] == "PROCESSING"
    assert assert_ledger_agrees(client, shop, db_session, oid) == -3000

    body, headers = wxpay.refund_notification(refund.out_refund_no, status="SUCCESS")
    for _ in range(2):
        assert notify_wechat(client, body, headers).status_code == 204
    [refund] = refunds_of(db_session, oid)
    assert refund.status == "success" and refund.provider_refund_id == at_wechat["refund_id"]
    assert refund.succeeded_at is not None
    view = tenant_view(client, shop, oid)
    assert view["payment_status"] == "refunded"
    # The tenant follows both in the order detail.
    assert [(p["channel"], p["status"], p["amount_fen"]) for p in view["payments"]] == [
        ("wechat", "paid", 3000)
    ]
    assert [(r["status"], r["amount_fen"], r["source"]) for r in view["refunds"]] == [
        ("success", 3000, "cancel")
    ]
    assert ledger_rows(db_session, oid, "refund") == [(3000, refund.out_refund_no)]
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    # Settling the refunded order again owes nothing more: no second refund anywhere.
    deliver_all(client.application)
    assert len(refunds_of(db_session, oid)) == 1 and len(wxpay.refunds) == 1


def test_desk_partial_refunds_add_up_and_never_exceed_what_was_paid(
    client, shop, wxpay, admin, db_session
):
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.full)  # 8800 paid
    first = _desk_refund(client, admin, oid, 1000)
    assert first.status_code == 201, first.json
    [view] = first.json
    assert (view["amount_fen"], view["source"], view["status"]) == (1000, "desk", "pending")
    assert _desk_refund(client, admin, oid, 2500).status_code == 201
    # 8800 − 3500 left: a penny more is refused, and nothing is written.
    over = _desk_refund(client, admin, oid, 5301)
    assert over.status_code == 409 and over.json["error"] == "refund_exceeds_paid"
    assert len(refunds_of(db_session, oid)) == 2

    deliver_all(client.application)
    refunds = refunds_of(db_session, oid)
    assert [r.status for r in refunds] == ["processing", "processing"]
    assert sum(wxpay.refunds[r.out_refund_no]["amount"]["refund"] for r in refunds) == 3500
    for refund in refunds:
        r = notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no))
        assert r.status_code == 204
    assert [r.status for r in refunds_of(db_session, oid)] == ["success", "success"]
    money = client.get(f"{ADMIN}/orders/{oid}/money", headers=admin).json
    assert money["paid_fen"] == 8800 and money["refunded_fen"] == 3500
    assert sorted(r["amount_fen"] for r in money["refunds"]) == [1000, 2500]
    assert_ledger_agrees(client, shop, db_session, oid)
    # Exactly what is left may still go back.
    assert _desk_refund(client, admin, oid, 5300).status_code == 201
    assert _desk_refund(client, admin, oid, 1).json["error"] == "refund_exceeds_paid"


def test_a_desk_refund_retried_with_its_idempotency_key_is_made_once(
    client, shop, wxpay, admin, db_session
):
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.full)
    first = _desk_refund(client, admin, oid, 1200, key="refund-1")
    again = _desk_refund(client, admin, oid, 1200, key="refund-1")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert len(refunds_of(db_session, oid)) == 1
    # The same key for another amount is a conflict, not a second refund.
    other = _desk_refund(client, admin, oid, 1300, key="refund-1")
    assert other.status_code == 409 and other.json["error"] == "idempotency_conflict"
    deliver_all(client.application)
    assert len(wxpay.refunds) == 1


def test_only_admins_refund(client, shop, wxpay, db_session):
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.full)
    r = _desk_refund(client, shop.headers(shop.dispatcher), oid, 100)
    assert r.status_code == 403
    assert refunds_of(db_session, oid) == []


def test_a_refund_stuck_processing_is_followed_by_the_sweep(client, shop, wxpay, db_session):
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.deposit)
    _cancel(client, shop, oid)
    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    assert refund.status == "processing"
    wiring = client.application.extensions["baoxiu"]

    # Still processing at WeChat: the sweep asks, nothing moves.
    later = datetime.now(UTC) + timedelta(minutes=3)
    assert followup.sweep(wiring.db, wiring.settings, now=later)["refunds"] == 1
    assert refunds_of(db_session, oid)[0].status == "processing"

    # WeChat finishes it, but its notification never arrives.
    wxpay.refunds[refund.out_refund_no].update(
        status="SUCCESS", success_time="2026-11-30T12:00:00+08:00"
    )
    counts = followup.sweep(wiring.db, wiring.settings, now=later + timedelta(minutes=3))
    assert counts == {"payments": 0, "refunds": 1, "errors": 0}
    [refund] = refunds_of(db_session, oid)
    assert refund.status == "success"
    assert tenant_view(client, shop, oid)["payment_status"] == "refunded"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_an_abnormal_refund_waits_for_the_desk_in_the_records(
    client, shop, wxpay, admin, db_session
):
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.deposit)
    _cancel(client, shop, oid)
    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    r = notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no, status="ABNORMAL"))
    assert r.status_code == 204
    assert refunds_of(db_session, oid)[0].status == "abnormal"

    listed = client.get(f"{ADMIN}/refunds", query_string={"status": "abnormal"}, headers=admin)
    assert listed.status_code == 200
    assert [(i["out_refund_no"], i["status"]) for i in listed.json["items"]] == [
        (refund.out_refund_no, "abnormal")
    ]
    assert (
        client.get(f"{ADMIN}/refunds", query_string={"status": "success"}, headers=admin).json[
            "items"
        ]
        == []
    )
    # Not refunded: still owed back, and the ledger says so.
    assert tenant_view(client, shop, oid)["payment_status"] != "refunded"
    assert assert_ledger_agrees(client, shop, db_session, oid) == -3000
    # An abnormal refund still holds its share: no second refund of the same money.
    assert _desk_refund(client, admin, oid, 1).json["error"] == "refund_exceeds_paid"


def test_an_alipay_refund_succeeds_at_once(client, shop, alipay, db_session):
    order = shop.file(client, subtype_id=shop.full.id)
    oid = order["id"]
    paid = paid_ok(client, shop, oid, "alipay")
    alipay.open_order_string(paid["params"]["orderStr"])
    alipay.pay(paid["out_trade_no"])
    assert (
        notify_alipay(client, alipay.payment_notification(paid["out_trade_no"])).data == b"success"
    )
    _cancel(client, shop, oid)

    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    assert (refund.status, refund.amount_fen, refund.source) == ("success", 8800, "cancel")
    trade = alipay.trades[paid["out_trade_no"]]
    assert trade.refunds == {refund.out_refund_no: "88.00"}
    assert tenant_view(client, shop, oid)["payment_status"] == "refunded"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    # Alipay then notifies the refund (TRADE_CLOSED, refund_fee): answered, nothing moves.
    body = alipay.refund_notification(paid["out_trade_no"], refund.out_refund_no)
    assert notify_alipay(client, body).data == b"success"
    assert payment_jobs(deliver_all(client.application)) == []
    assert ledger_rows(db_session, oid, "refund") == [(8800, refund.out_refund_no)]
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_a_discount_on_a_paid_completed_order_is_refunded_by_itself(
    client, shop, wxpay, db_session
):
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.full)  # 8800 paid up front
    r = client.post(f"/api/v1/tech/orders/{oid}/grab", headers=shop.headers(shop.techs[0]))
    assert r.status_code == 200, r.json
    r = client.post(
        f"/api/v1/tech/orders/{oid}/complete",
        json={"result": "已疏通"},
        headers=shop.headers(shop.techs[0]),
    )
    assert r.status_code == 200 and r.json["payment_status"] == "paid"
    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"discount_fen": 800, "reason": "等待时间过长"},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 200, r.json
    assert assert_ledger_agrees(client, shop, db_session, oid) == -800

    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    assert (refund.amount_fen, refund.source, refund.status) == (800, "settlement", "processing")
    assert (
        notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no)).status_code == 204
    )
    view = tenant_view(client, shop, oid)
    assert view["payable_fen"] == 0 and view["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    deliver_all(client.application)
    assert len(refunds_of(db_session, oid)) == 1


def test_a_refund_wechat_closed_releases_its_share_for_another(
    client, shop, wxpay, admin, db_session
):
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.deposit)
    _cancel(client, shop, oid)
    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    r = notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no, status="CLOSED"))
    assert r.status_code == 204
    assert refunds_of(db_session, oid)[0].status == "closed"
    # Still owed back: the ledger says so, and the desk may refund it again.
    assert assert_ledger_agrees(client, shop, db_session, oid) == -3000
    again = _desk_refund(client, admin, oid, 3000, reason="原退款关闭，重新退款")
    assert again.status_code == 201, again.json
    assert _desk_refund(client, admin, oid, 1).json["error"] == "refund_exceeds_paid"


def test_a_desk_refund_on_a_paid_completed_order_is_not_asked_back(
    client, shop, wxpay, admin, db_session
):
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.full)
    tech = shop.headers(shop.techs[0])
    assert client.post(f"/api/v1/tech/orders/{oid}/grab", headers=tech).status_code == 200
    r = client.post(f"/api/v1/tech/orders/{oid}/complete", json={"result": "好"}, headers=tech)
    assert r.status_code == 200 and r.json["payment_status"] == "paid"
    assert _desk_refund(client, admin, oid, 1000).status_code == 201
    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    assert (
        notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no)).status_code == 204
    )
    view = tenant_view(client, shop, oid)
    # A goodwill refund: recorded as a discount of the same amount, so nothing is owed again.
    assert view["payable_fen"] == 0 and view["payment_status"] == "paid"
    assert view["fee"]["discount_fen"] == 1000 and view["fee"]["total_fen"] == 7800
    assert [e["action"] for e in view["timeline"]][-1] == "adjust_fee"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    deliver_all(client.application)
    assert len(refunds_of(db_session, oid)) == 1  # the settlement refunds nothing more


def test_a_refund_larger_than_the_last_payment_is_split_over_both_providers(
    client, shop, wxpay, alipay, db_session
):
    # 订金 3000 by WeChat; after completion the 7000 balance by Alipay.
    oid, deposit_no = _wx_order_paid(client, shop, wxpay, shop.deposit)
    tech = shop.headers(shop.techs[0])
    assert client.post(f"/api/v1/tech/orders/{oid}/grab", headers=tech).status_code == 200
    r = client.post(f"/api/v1/tech/orders/{oid}/complete", json={"result": "好"}, headers=tech)
    assert r.status_code == 200 and r.json["payable_fen"] == 7000
    balance = paid_ok(client, shop, oid, "alipay")
    assert balance["amount_fen"] == 7000
    alipay.open_order_string(balance["params"]["orderStr"])
    alipay.pay(balance["out_trade_no"])
    assert notify_alipay(client, alipay.payment_notification(balance["out_trade_no"])).data == (
        b"success"
    )
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0

    # The desk discounts 8000: owed back, refunded newest payment first.
    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"discount_fen": 8000, "reason": "工期延误"},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 200, r.json
    deliver_all(client.application)
    refunds = refunds_of(db_session, oid)
    by_amount = sorted((r.amount_fen, r.status) for r in refunds)
    assert by_amount == [(1000, "processing"), (7000, "success")]
    assert alipay.trades[balance["out_trade_no"]].refunds == {
        next(r.out_refund_no for r in refunds if r.amount_fen == 7000): "70.00"
    }
    [(wx_no, wx_refund)] = wxpay.refunds.items()
    assert wx_refund["out_trade_no"] == deposit_no and wx_refund["amount"]["refund"] == 1000
    assert assert_ledger_agrees(client, shop, db_session, oid) == -1000
    r = notify_wechat(client, *wxpay.refund_notification(wx_no))
    assert r.status_code == 204
    view = tenant_view(client, shop, oid)
    assert view["payable_fen"] == 0 and view["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_a_desk_refund_before_completion_counts_at_settlement(
    client, shop, wxpay, admin, db_session
):
    # Price 10000, deposit 3000 paid by WeChat; the desk gives 1000 back before the work.
    oid, _ = _wx_order_paid(client, shop, wxpay, shop.deposit)
    assert _desk_refund(client, admin, oid, 1000).status_code == 201
    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    r = notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no))
    assert r.status_code == 204
    view = tenant_view(client, shop, oid)
    assert view["status"] == "pending" and view["payable_fen"] == 0
    assert_ledger_agrees(client, shop, db_session, oid)

    tech = shop.headers(shop.techs[0])
    assert client.post(f"/api/v1/tech/orders/{oid}/grab", headers=tech).status_code == 200
    r = client.post(f"/api/v1/tech/orders/{oid}/complete", json={"result": "好"}, headers=tech)
    assert r.status_code == 200, r.json
    # 10000 less the 1000 given back is 9000; 3000 − 1000 = 2000 kept: 7000 left to pay.
    assert r.json["payable_fen"] == 7000
    assert assert_ledger_agrees(client, shop, db_session, oid) == 7000
    balance = paid_ok(client, shop, oid)
    assert balance["amount_fen"] == 7000
    wechat_paid(client, wxpay, balance["out_trade_no"])
    view = tenant_view(client, shop, oid)
    assert view["payable_fen"] == 0 and view["payment_status"] == "paid"
    money = client.get(f"{ADMIN}/orders/{oid}/money", headers=admin).json
    assert (money["paid_fen"], money["refunded_fen"], money["owed_fen"]) == (10000, 1000, 0)
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
