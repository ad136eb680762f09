"""Regressions found by probing a live server from outside (issue #8): each test is one request
that once answered 500 or moved money wrongly."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from server.payments import followup
from server.payments.rules import PAYMENT_EXPIRES_MINUTES, QUERY_AFTER_MINUTES
from tests.paying.conftest import deliver_all
from tests.paying.helpers import (
    ADMIN,
    TENANT,
    assert_ledger_agrees,
    notify_wechat,
    paid_ok,
    payments_of,
    refunds_of,
    tenant_view,
    wechat_paid,
)


@pytest.mark.parametrize("path", ["/payments", "/refunds"])
def test_records_up_to_the_last_day_there_is(client, shop, wxpay, path):
    # date_to=9999-12-31 once overflowed computing "the next day" (500): the last day there is
    # sets no upper bound, as the order board does.
    order = shop.file(client, subtype_id=shop.deposit.id)
    payment = paid_ok(client, shop, order["id"])
    wechat_paid(client, wxpay, payment["out_trade_no"])
    r = client.post(
        f"{TENANT}/{order['id']}/cancel",
        json={"reason": "不修了"},
        headers=shop.headers(shop.tenant),
    )
    assert r.status_code == 200, r.json
    deliver_all(client.application)

    for date_to in ("9999-12-31", "9999-12-30"):
        r = client.get(
            f"{ADMIN}{path}",
            query_string={"date_to": date_to},
            headers=shop.headers(shop.dispatcher),
        )
        assert r.status_code == 200, r.json
        assert r.json["total"] == 1
    r = client.get(
        f"{ADMIN}{path}",
        query_string={"date_from": "9999-12-31", "date_to": "9999-12-31", "format": "csv"},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 200
    assert r.data.decode("utf-8-sig").strip().count("\n") == 0  # the header row only


def test_a_refund_notification_for_another_amount_is_not_booked(client, shop, wxpay, db_session):
    # A signed REFUND.SUCCESS whose amount is not our refund's was once booked as a success of
    # ours: the ledger said one thing, WeChat another.
    order = shop.file(client, subtype_id=shop.deposit.id)
    payment = paid_ok(client, shop, order["id"])
    wechat_paid(client, wxpay, payment["out_trade_no"])
    r = client.post(
        f"{TENANT}/{order['id']}/cancel",
        json={"reason": "不修了"},
        headers=shop.headers(shop.tenant),
    )
    assert r.status_code == 200, r.json
    deliver_all(client.application)
    [refund] = refunds_of(db_session, order["id"])
    asked = refund.amount_fen
    assert refund.status in ("pending", "processing")

    wxpay.refunds[refund.out_refund_no]["amount"]["refund"] = asked - 1
    r = notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no))
    assert r.status_code == 204  # heard: WeChat need not redeliver it
    db_session.expire_all()
    [refund] = refunds_of(db_session, order["id"])
    assert refund.status in ("pending", "processing")
    assert tenant_view(client, shop, order["id"])["payment_status"] != "refunded"

    wxpay.refunds[refund.out_refund_no]["amount"]["refund"] = asked
    r = notify_wechat(client, *wxpay.refund_notification(refund.out_refund_no))
    assert r.status_code == 204
    assert tenant_view(client, shop, order["id"])["payment_status"] == "refunded"
    assert assert_ledger_agrees(client, shop, db_session, order["id"]) == 0


def test_a_replaced_alipay_payment_not_opened_yet_is_no_sweep_error(
    client, shop, wxpay, alipay, db_session, caplog
):
    # Alipay has no trade before the buyer opens the order string, so a replaced one cannot be
    # closed until it expires. The sweep once logged that expected wait as an error with a
    # traceback every two minutes, per payment, for half an hour.
    order = shop.file(client, subtype_id=shop.deposit.id)
    first = paid_ok(client, shop, order["id"], "alipay")
    paid_ok(client, shop, order["id"], "wechat")
    wiring = client.application.extensions["baoxiu"]
    later = datetime.now(UTC) + timedelta(minutes=QUERY_AFTER_MINUTES + 1)

    with caplog.at_level(logging.INFO, logger="server.payments.followup"):
        counts = followup.sweep(wiring.db, wiring.settings, now=later)

    assert counts["errors"] == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    db_session.expire_all()
    by_number = {p.out_trade_no: p for p in payments_of(db_session, order["id"])}
    assert by_number[first["out_trade_no"]].status == "closing"  # closed once it expires

    # Once expired it is closed, by the same sweep.
    expired = datetime.now(UTC) + timedelta(minutes=PAYMENT_EXPIRES_MINUTES + 1)
    assert followup.sweep(wiring.db, wiring.settings, now=expired)["errors"] == 0
    db_session.expire_all()
    by_number = {p.out_trade_no: p for p in payments_of(db_session, order["id"])}
    assert by_number[first["out_trade_no"]].status == "closed"
