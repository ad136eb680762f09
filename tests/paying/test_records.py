"""The console's money records: filters, exports, one order's money; and every organisation
(and tenant) sees only its own."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from server.kernel.clock import LOCAL_TZ
from tests.paying.conftest import deliver_all
from tests.paying.helpers import (
    ADMIN,
    TENANT,
    complete_with_charge,
    paid_ok,
    pay,
    refunds_of,
    wechat_paid,
)


class Books:
    """Three orders with money: a WeChat deposit paid then refunded by cancelling, an Alipay
    full prepay still open, a balance taken offline."""

    def __init__(self, client, shop, wxpay, alipay, db_session):
        self.deposit = shop.file(client, subtype_id=shop.deposit.id)
        self.wx = paid_ok(client, shop, self.deposit["id"])
        wechat_paid(client, wxpay, self.wx["out_trade_no"])
        r = client.post(
            f"{TENANT}/{self.deposit['id']}/cancel",
            json={"reason": "不修了"},
            headers=shop.headers(shop.tenant),
        )
        assert r.status_code == 200, r.json
        deliver_all(client.application)
        [self.refund] = refunds_of(db_session, self.deposit["id"])

        self.full = shop.file(client, subtype_id=shop.full.id)
        self.ali = paid_ok(client, shop, self.full["id"], "alipay")

        self.after = shop.file(client, subtype_id=shop.after.id)
        complete_with_charge(client, shop, db_session, self.after["id"], price_fen=12000)
        r = client.post(
            f"{ADMIN}/orders/{self.after['id']}/offline-payments",
            json={"amount_fen": 12000, "method": "cash", "note": "前台收现金"},
            headers=shop.headers(shop.dispatcher),
        )
        assert r.status_code == 201, r.json
        self.offline = r.json


@pytest.fixture
def books(client, shop, wxpay, alipay, db_session):
    return Books(client, shop, wxpay, alipay, db_session)


def _get(client, shop, path, **query):
    r = client.get(f"{ADMIN}{path}", query_string=query, headers=shop.headers(shop.dispatcher))
    assert r.status_code == 200, r.json
    return r.json


def _numbers(page):
    return sorted(item["out_trade_no"] for item in page["items"])


def test_payments_filtered_by_channel_status_order_and_date(client, shop, books):
    everything = _get(client, shop, "/payments")
    assert everything["total"] == 3
    assert _numbers(everything) == sorted(
        [books.wx["out_trade_no"], books.ali["out_trade_no"], books.offline["out_trade_no"]]
    )
    by_channel = {
        c: _numbers(_get(client, shop, "/payments", channel=c))
        for c in ("wechat", "alipay", "offline")
    }
    assert by_channel == {
        "wechat": [books.wx["out_trade_no"]],
        "alipay": [books.ali["out_trade_no"]],
        "offline": [books.offline["out_trade_no"]],
    }
    assert _numbers(_get(client, shop, "/payments", status="open")) == [books.ali["out_trade_no"]]
    assert _get(client, shop, "/payments", status="paid")["total"] == 2
    one = _get(client, shop, "/payments", order_number=books.after["number"])
    assert [(i["order_id"], i["amount_fen"], i["method"]) for i in one["items"]] == [
        (books.after["id"], 12000, "cash")
    ]
    today = datetime.now(LOCAL_TZ).date()
    assert _get(client, shop, "/payments", date_from=today, date_to=today)["total"] == 3
    assert _get(client, shop, "/payments", date_from=today + timedelta(days=1))["total"] == 0
    assert _get(client, shop, "/payments", date_to=today - timedelta(days=1))["total"] == 0
    r = client.get(
        f"{ADMIN}/payments",
        query_string={"date_from": today, "date_to": today - timedelta(days=1)},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 422
    assert _get(client, shop, "/payments", page_size=1)["items"][0]["id"] is not None


def test_refunds_filtered_by_status_source_and_channel(client, shop, books):
    listed = _get(client, shop, "/refunds")
    assert [
        (i["out_refund_no"], i["amount_fen"], i["source"], i["channel"]) for i in listed["items"]
    ] == [(books.refund.out_refund_no, 3000, "cancel", "wechat")]
    assert listed["items"][0]["order_number"] == books.deposit["number"]
    assert listed["items"][0]["out_trade_no"] == books.wx["out_trade_no"]
    assert _get(client, shop, "/refunds", status="processing")["total"] == 1
    assert _get(client, shop, "/refunds", status="success")["total"] == 0
    assert _get(client, shop, "/refunds", source="desk")["total"] == 0
    assert _get(client, shop, "/refunds", channel="alipay")["total"] == 0
    assert _get(client, shop, "/refunds", order_number=books.full["number"])["total"] == 0


def _csv(client, shop, path, **query):
    r = client.get(
        f"{ADMIN}{path}",
        query_string={"format": "csv", **query},
        headers=shop.headers(shop.dispatcher),
    )
    assert r.status_code == 200
    assert r.mimetype.startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_exports_hold_the_filtered_records(client, shop, books):
    header, *rows = _csv(client, shop, "/payments", channel="offline")
    assert header[:6] == ["支付单号", "工单号", "渠道", "用途", "状态", "金额（元）"]
    assert [row[:6] for row in rows] == [
        [
            books.offline["out_trade_no"],
            books.after["number"],
            "offline",
            "balance",
            "paid",
            "120.00",
        ]
    ]
    assert rows[0][9:] == ["cash", "前台收现金"]
    _, *all_rows = _csv(client, shop, "/payments")
    assert len(all_rows) == 3

    header, *rows = _csv(client, shop, "/refunds")
    assert header[0] == "退款单号"
    assert [row[:6] for row in rows] == [
        [
            books.refund.out_refund_no,
            books.deposit["number"],
            books.wx["out_trade_no"],
            "cancel",
            "processing",
            "30.00",
        ]
    ]


def test_xlsx_export(client, shop, books):
    r = client.get(
        f"{ADMIN}/payments", query_string={"format": "xlsx"}, headers=shop.headers(shop.dispatcher)
    )
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert "spreadsheetml" in r.mimetype


# --- isolation ----------------------------------------------------------------------------------


def test_another_organisation_sees_none_of_it(client, shop, make, books):
    other_org = make.org()
    stranger = make.headers(make.admin(other_org))
    for path in ("/payments", "/refunds"):
        r = client.get(f"{ADMIN}{path}", headers=stranger)
        assert r.status_code == 200 and r.json["total"] == 0 and r.json["items"] == []
        r = client.get(f"{ADMIN}{path}", query_string={"format": "csv"}, headers=stranger)
        assert len(r.data.decode("utf-8").splitlines()) == 1  # the header alone
        by_number = client.get(
            f"{ADMIN}{path}",
            query_string={"order_number": books.deposit["number"]},
            headers=stranger,
        )
        assert by_number.json["total"] == 0
    for order in (books.deposit, books.full, books.after):
        r = client.get(f"{ADMIN}/orders/{order['id']}/money", headers=stranger)
        assert r.status_code == 404
    r = client.post(
        f"{ADMIN}/orders/{books.after['id']}/refunds",
        json={"amount_fen": 100, "reason": "试试"},
        headers=stranger,
    )
    assert r.status_code == 404
    r = client.post(
        f"{ADMIN}/orders/{books.full['id']}/offline-payments",
        json={"amount_fen": 100, "method": "cash", "note": "试试"},
        headers=stranger,
    )
    assert r.status_code == 404
    # Nothing moved on my side.
    assert _get(client, shop, "/refunds")["total"] == 1
    assert _get(client, shop, "/payments")["total"] == 3


def test_a_tenant_of_another_room_cannot_pay_my_order(client, shop, wxpay, db_session):
    order = shop.file(client, subtype_id=shop.deposit.id)
    r = pay(client, shop, order["id"], who=shop.neighbour)
    assert r.status_code == 404
    r = pay(client, shop, order["id"], "alipay", who=shop.neighbour)
    assert r.status_code == 404
    assert wxpay.orders == {}


def test_a_tenant_of_another_organisation_cannot_pay_my_order(client, shop, make, wxpay):
    order = shop.file(client, subtype_id=shop.deposit.id)
    other_org = make.org()
    outsider = make.tenant(other_org, wechat_openid="oOutsider0000000000000000001")
    r = client.post(
        f"{TENANT}/{order['id']}/payments",
        json={"channel": "wechat"},
        headers=make.headers(outsider),
    )
    assert r.status_code == 404
    assert wxpay.orders == {}


def test_the_money_view_is_for_the_desk(client, shop, books):
    for who in (shop.tenant, shop.techs[0]):
        r = client.get(f"{ADMIN}/orders/{books.deposit['id']}/money", headers=shop.headers(who))
        assert r.status_code == 403
