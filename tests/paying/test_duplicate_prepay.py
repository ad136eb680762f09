"""A prepay paid twice (an Alipay order string cannot be closed before it is opened, so it
stays payable beside the WeChat payment that replaced it): the extra goes back at once."""

from __future__ import annotations

from tests.paying.conftest import deliver_all
from tests.paying.helpers import (
    assert_ledger_agrees,
    notify_alipay,
    notify_wechat,
    paid_ok,
    payments_of,
    refunds_of,
    tenant_view,
    wechat_paid,
)


def test_a_deposit_paid_twice_is_refunded_once_and_at_once(client, shop, wxpay, alipay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    oid = order["id"]
    by_alipay = paid_ok(client, shop, oid, "alipay")
    by_wechat = paid_ok(client, shop, oid, "wechat")  # the Alipay one is left closing
    assert by_alipay["payment_id"] != by_wechat["payment_id"]

    alipay.open_order_string(by_alipay["params"]["orderStr"])
    alipay.pay(by_alipay["out_trade_no"])
    r = notify_alipay(client, alipay.payment_notification(by_alipay["out_trade_no"]))
    assert r.data == b"success"
    wechat_paid(client, wxpay, by_wechat["out_trade_no"])  # the second one, newest

    assert sorted(p.status for p in payments_of(db_session, oid)) == ["paid", "paid"]
    [refund] = refunds_of(db_session, oid)
    assert (refund.amount_fen, refund.source) == (3000, "late_payment")
    assert "重复支付" in refund.reason
    deliver_all(client.application)
    # One of the two payments gives the 3000 back at its provider, once.
    at_wechat = [r["amount"]["refund"] for r in wxpay.refunds.values()]
    at_alipay = list(alipay.trades[by_alipay["out_trade_no"]].refunds.values())
    assert (at_wechat, at_alipay) in (([3000], []), ([], ["30.00"]))
    if at_wechat:  # WeChat accepts it as processing, then says it succeeded
        notified = notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no))
        assert notified.status_code == 204
    assert refunds_of(db_session, oid)[0].status == "success"
    view = tenant_view(client, shop, oid)
    assert view["status"] == "pending" and view["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    assert len(refunds_of(db_session, oid)) == 1  # nothing refunded twice
