"""Money arriving for a cancelled order (settled and given back by itself), money the desk
takes by hand, and orders the company pays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.booking.holds import UNPAID_ORDER_HOURS, expire_unpaid_holds
from server.kernel.roles import Role
from tests.paying.conftest import deliver_all
from tests.paying.helpers import (
    ADMIN,
    TENANT,
    assert_ledger_agrees,
    complete_with_charge,
    ledger_rows,
    notify_wechat,
    paid_ok,
    pay,
    payment_jobs,
    payments_of,
    refunds_of,
    tenant_view,
)


def _cancel(client, shop, order_id):
    r = client.post(
        f"{TENANT}/{order_id}/cancel", json={"reason": "不修了"}, headers=shop.headers(shop.tenant)
    )
    assert r.status_code == 200, r.json
    assert r.json["status"] == "cancelled"


def test_a_payment_notified_after_the_order_was_cancelled_is_booked_and_refunded(
    client, shop, wxpay, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    oid = order["id"]
    paid = paid_ok(client, shop, oid)
    _cancel(client, shop, oid)  # while awaiting payment; the close job has not run yet
    wxpay.pay(paid["out_trade_no"])  # ... and the tenant pays anyway

    r = notify_wechat(client, *wxpay.payment_notification(paid["out_trade_no"]))
    assert r.status_code == 204
    [payment] = payments_of(db_session, oid)
    assert payment.status == "paid"
    assert ledger_rows(db_session, oid, "payment") == [(-3000, paid["out_trade_no"])]
    [refund] = refunds_of(db_session, oid)
    assert (refund.amount_fen, refund.source, refund.status) == (3000, "late_payment", "pending")
    assert tenant_view(client, shop, oid)["status"] == "cancelled"
    assert assert_ledger_agrees(client, shop, db_session, oid) == -3000

    deliver_all(client.application)
    assert wxpay.refunds[refund.out_refund_no]["amount"]["refund"] == 3000
    assert len(refunds_of(db_session, oid)) == 1  # the settlement job adds no second refund
    r = notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no))
    assert r.status_code == 204
    assert tenant_view(client, shop, oid)["payment_status"] == "refunded"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_a_cancelled_orders_payment_found_paid_by_the_close_job_is_refunded(
    client, shop, wxpay, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    oid = order["id"]
    paid = paid_ok(client, shop, oid)
    wxpay.pay(paid["out_trade_no"])  # paid; the notification is late
    _cancel(client, shop, oid)

    deliver_all(client.application)  # the close job asks WeChat first: paid
    assert wxpay.orders[paid["out_trade_no"]]["state"] in ("SUCCESS", "REFUND")
    [payment] = payments_of(db_session, oid)
    assert payment.status == "paid"
    [refund] = refunds_of(db_session, oid)
    assert (refund.amount_fen, refund.source) == (3000, "late_payment")
    assert refund.status == "processing"
    # The late notification then changes nothing.
    assert (
        notify_wechat(client, *wxpay.payment_notification(paid["out_trade_no"])).status_code == 204
    )
    assert ledger_rows(db_session, oid, "payment") == [(-3000, paid["out_trade_no"])]
    assert len(refunds_of(db_session, oid)) == 1
    assert assert_ledger_agrees(client, shop, db_session, oid) == -3000


def test_a_cancelled_orders_unpaid_payment_is_closed_at_wechat(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    _cancel(client, shop, order["id"])
    deliver_all(client.application)
    assert wxpay.orders[paid["out_trade_no"]]["state"] == "CLOSED"
    assert [p.status for p in payments_of(db_session, order["id"])] == ["closed"]
    r = pay(client, shop, order["id"])
    assert r.status_code == 409 and r.json["error"] == "nothing_to_pay"
    assert refunds_of(db_session, order["id"]) == []
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 0


# --- the desk takes money by hand ------------------------------------------------------------


def _offline(client, shop, order_id, amount_fen, method="cash", note="前台收现金"):
    return client.post(
        f"{ADMIN}/orders/{order_id}/offline-payments",
        json={"amount_fen": amount_fen, "method": method, "note": note},
        headers=shop.headers(shop.dispatcher),
    )


def test_an_offline_payment_pays_the_balance_and_never_more(client, shop, db_session):
    order = shop.file(client, subtype_id=shop.after.id)
    oid = order["id"]
    complete_with_charge(client, shop, db_session, oid, price_fen=12000)

    over = _offline(client, shop, oid, 12001)
    assert over.status_code == 422 and "amount_fen" in over.json["errors"]
    part = _offline(client, shop, oid, 5000, method="transfer", note="银行转账")
    assert part.status_code == 201, part.json
    assert (part.json["channel"], part.json["method"], part.json["status"]) == (
        "offline",
        "transfer",
        "paid",
    )
    assert part.json["created_by_user_id"] == shop.dispatcher.id
    view = tenant_view(client, shop, oid)
    assert view["payable_fen"] == 7000 and view["payment_status"] == "partially_paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 7000
    assert _offline(client, shop, oid, 7001).status_code == 422

    rest = _offline(client, shop, oid, 7000)
    assert rest.status_code == 201
    view = tenant_view(client, shop, oid)
    assert view["payable_fen"] == 0 and view["payment_status"] == "paid"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    r = _offline(client, shop, oid, 1)
    assert r.status_code == 409 and r.json["error"] == "already_paid"
    r = pay(client, shop, oid)
    assert r.status_code == 409 and r.json["error"] == "already_paid"


def test_an_offline_payment_needs_a_method_and_a_note(client, shop, db_session):
    order = shop.file(client, subtype_id=shop.full.id)
    assert _offline(client, shop, order["id"], 8800, method="cheque").status_code == 422
    assert _offline(client, shop, order["id"], 8800, note="").status_code == 422
    assert payments_of(db_session, order["id"]) == []
    # The prepay taken at the desk moves the order into the pool like a paid one.
    assert _offline(client, shop, order["id"], 8800).status_code == 201
    view = tenant_view(client, shop, order["id"])
    assert view["status"] == "pending" and view["payment_status"] == "paid"


def test_an_order_the_company_pays_asks_the_tenant_for_nothing(client, shop, make, db_session):
    desk = make.staff(shop.org, roles=(Role.DISPATCHER,))
    r = client.post(
        "/api/v1/tech/orders",
        json={
            "subtype_id": shop.deposit.id,
            "room_id": shop.room.id,
            "description": "门锁坏了",
            "contact_phone": "13800000001",
            "payer": "company",
        },
        headers=shop.headers(desk),
    )
    assert r.status_code == 201, r.json
    oid = r.json["id"]
    assert r.json["status"] == "pending" and r.json["payable_fen"] == 0
    r = pay(client, shop, oid)
    assert r.status_code == 409 and r.json["error"] == "nothing_to_pay"
    complete_with_charge(client, shop, db_session, oid, price_fen=20000)
    view = tenant_view(client, shop, oid)
    assert view["payable_fen"] == 0
    r = pay(client, shop, oid)
    assert r.status_code == 409 and r.json["error"] == "nothing_to_pay"
    r = _offline(client, shop, oid, 100)
    assert r.status_code == 409 and r.json["error"] == "nothing_to_pay"
    assert payments_of(db_session, oid) == []
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_money_taken_at_the_desk_closes_the_tenants_open_payment(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    oid = order["id"]
    open_one = paid_ok(client, shop, oid)  # the tenant opened WeChat Pay, then came to the desk
    r = _offline(client, shop, oid, 3000)
    assert r.status_code == 201, r.json
    assert tenant_view(client, shop, oid)["payment_status"] == "paid"

    # The tenant must not be able to pay the same deposit a second time at WeChat.
    deliver_all(client.application)
    assert wxpay.orders[open_one["out_trade_no"]]["state"] == "CLOSED"
    assert [(p.channel, p.status) for p in payments_of(db_session, oid)] == [
        ("wechat", "closed"),
        ("offline", "paid"),
    ]
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_a_deposit_taken_at_the_desk_is_given_back_at_the_desk(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    oid = order["id"]
    assert _offline(client, shop, oid, 3000).status_code == 201
    _cancel(client, shop, oid)

    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    # Nothing to ask a provider: the desk hands the cash back, the refund is done when written.
    assert (refund.amount_fen, refund.status, refund.source) == (3000, "success", "cancel")
    assert wxpay.refunds == {}
    assert ledger_rows(db_session, oid, "refund") == [(3000, refund.out_refund_no)]
    assert tenant_view(client, shop, oid)["payment_status"] == "refunded"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0
    # The settlement jobs come to an end.
    assert payment_jobs(deliver_all(client.application)) == []


def test_an_unpaid_order_withdrawn_after_a_day_has_its_payment_closed(
    client, shop, wxpay, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    later = datetime.now(UTC) + timedelta(hours=UNPAID_ORDER_HOURS, minutes=1)
    assert expire_unpaid_holds(db_session, now=later) >= 1
    db_session.flush()
    assert tenant_view(client, shop, order["id"])["status"] == "cancelled"

    deliver_all(client.application)
    assert wxpay.orders[paid["out_trade_no"]]["state"] == "CLOSED"
    assert [p.status for p in payments_of(db_session, order["id"])] == ["closed"]
    assert refunds_of(db_session, order["id"]) == []
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 0
