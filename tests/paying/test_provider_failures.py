"""When a provider fails, refuses or lies: nothing is lost, nothing is paid out twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.outbox import delivery
from server.outbox.models import OutboxItem
from server.outbox.rules import Status
from tests.paying.conftest import deliver_all
from tests.paying.helpers import (
    ADMIN,
    TENANT,
    assert_ledger_agrees,
    notify_wechat,
    paid_ok,
    pay,
    payments_of,
    refunds_of,
    tenant_view,
    wechat_paid,
)

REFUNDS = "/v3/refund/domestic/refunds"


def _deliver_later(app, minutes=30):
    """Deliver pending items as a worker would once their retry is due."""
    db = app.extensions["baoxiu"].db
    later = datetime.now(UTC) + timedelta(minutes=minutes)
    with db.transaction() as uow:
        due = list(
            uow.session.execute(
                select(OutboxItem.id, OutboxItem.job).where(
                    OutboxItem.status == Status.PENDING.value
                )
            )
        )
    return [delivery.deliver(db, outbox_id=i, job=job, clock=lambda: later).value for i, job in due]


def _cancelled_after_deposit(client, shop, wxpay):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    wechat_paid(client, wxpay, paid["out_trade_no"])
    r = client.post(
        f"{TENANT}/{order['id']}/cancel",
        json={"reason": "不修了"},
        headers=shop.headers(shop.tenant),
    )
    assert r.status_code == 200, r.json
    return order["id"]


def test_a_refund_wechat_fails_to_take_is_retried_with_the_same_number(
    client, shop, wxpay, db_session
):
    oid = _cancelled_after_deposit(client, shop, wxpay)
    wxpay.fail_next(REFUNDS, 500, "SYSTEM_ERROR", "系统繁忙")
    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    assert refund.status == "pending" and wxpay.refunds == {}

    _deliver_later(client.application)
    [refund] = refunds_of(db_session, oid)
    assert refund.status == "processing"
    assert list(wxpay.refunds) == [refund.out_refund_no]
    tries = [r for r in wxpay.requests_seen if r["path"] == REFUNDS]
    assert len(tries) == 2


def test_a_refund_wechat_accepted_but_whose_answer_was_lost_is_not_paid_twice(
    client, shop, wxpay, db_session
):
    oid = _cancelled_after_deposit(client, shop, wxpay)
    wxpay.tamper_next()  # ... the next answer: WeChat has the refund, we cannot trust the reply
    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    assert refund.out_refund_no in wxpay.refunds
    _deliver_later(client.application)
    [refund] = refunds_of(db_session, oid)
    assert refund.status == "processing"
    assert len(wxpay.refunds) == 1
    body, headers = wxpay.refund_notification(refund.out_refund_no)
    assert notify_wechat(client, body, headers).status_code == 204
    assert tenant_view(client, shop, oid)["payment_status"] == "refunded"
    assert assert_ledger_agrees(client, shop, db_session, oid) == 0


def test_a_refund_wechat_refuses_waits_for_the_desk_as_abnormal(
    client, shop, wxpay, make, db_session
):
    oid = _cancelled_after_deposit(client, shop, wxpay)
    wxpay.fail_next(REFUNDS, 403, "NOT_ENOUGH", "基本账户余额不足")
    deliver_all(client.application)
    [refund] = refunds_of(db_session, oid)
    assert refund.status == "abnormal" and "NOT_ENOUGH" in refund.failure
    admin = make.headers(make.admin(shop.org))
    listed = client.get(f"{ADMIN}/refunds", query_string={"status": "abnormal"}, headers=admin)
    assert [i["failure"] for i in listed.json["items"]] == [refund.failure]
    assert assert_ledger_agrees(client, shop, db_session, oid) == -3000


def test_a_prepay_wechat_cannot_answer_is_retried_with_the_same_payment(
    client, shop, wxpay, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    wxpay.fail_next("/v3/pay/transactions/jsapi", 503, "SYSTEM_ERROR", "系统繁忙")
    r = pay(client, shop, order["id"])
    assert r.status_code in (502, 503), r.json
    [payment] = payments_of(db_session, order["id"])
    assert payment.status == "creating" and payment.params is None

    again = paid_ok(client, shop, order["id"])
    assert again["payment_id"] == payment.id and again["out_trade_no"] == payment.out_trade_no
    assert again["params"]["package"].startswith("prepay_id=")
    assert list(wxpay.orders) == [payment.out_trade_no]


def test_a_tampered_prepay_answer_is_not_handed_to_the_tenant(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    wxpay.tamper_next()
    r = pay(client, shop, order["id"])
    assert r.status_code == 502, r.json
    [payment] = payments_of(db_session, order["id"])
    assert payment.params is None
    # Asked again, WeChat gives the same prepay_id for the same out_trade_no, verified this time.
    again = paid_ok(client, shop, order["id"])
    assert again["out_trade_no"] == payment.out_trade_no
    prepay_id = wxpay.orders[payment.out_trade_no]["prepay_id"]
    assert again["params"]["package"] == f"prepay_id={prepay_id}"


def test_a_notification_for_a_payment_we_never_made_is_answered_and_ignored(
    client, shop, wxpay, db_session
):
    order = shop.file(client, subtype_id=shop.deposit.id)
    paid = paid_ok(client, shop, order["id"])
    tx = wxpay.pay(paid["out_trade_no"])
    tx["out_trade_no"] = "P20261130ffffffffffffffff"
    body, headers = wxpay.notification("TRANSACTION.SUCCESS", "transaction", tx, summary="支付成功")
    assert notify_wechat(client, body, headers).status_code == 204
    assert [p.status for p in payments_of(db_session, order["id"])] == ["open"]


def test_one_idempotency_key_for_two_orders_is_a_conflict(client, shop, wxpay):
    first = shop.file(client, subtype_id=shop.deposit.id)
    second = shop.file(client, subtype_id=shop.deposit.id)
    assert pay(client, shop, first["id"], key="same").status_code == 200
    r = pay(client, shop, second["id"], key="same")
    assert r.status_code == 409 and r.json["error"] == "idempotency_conflict"
    assert len(wxpay.orders) == 1


def test_wechat_pay_needs_a_wechat_login(client, shop, make, wxpay, db_session):
    shop.tenant.wechat_openid = None
    db_session.flush()
    order = shop.file(client, subtype_id=shop.deposit.id)
    r = pay(client, shop, order["id"])
    assert r.status_code == 422 and "channel" in r.json["errors"]
    assert wxpay.orders == {}
    r = pay(client, shop, order["id"], "cash")
    assert r.status_code == 422
