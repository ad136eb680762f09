"""日志管理 for money: desk waivers and discounts, offline payments and refunds each leave one
audit row in their own transaction; a refused one leaves none."""

from __future__ import annotations

import pytest

# The baseline fixture is autouse: imported, it applies to this module too.
from tests.audit.conftest import audit_baseline, new_rows  # noqa: F401
from tests.paying.helpers import ADMIN, complete_with_charge, paid_ok, wechat_paid


def audit_rows(db_session, kind):
    return new_rows(db_session, kind=kind)


@pytest.fixture
def admin(make, shop):
    return make.admin(shop.org)


def test_offline_payment_and_a_refused_one(client, shop, db_session):
    order = shop.file(client, subtype_id=shop.after.id)
    complete_with_charge(client, shop, db_session, order["id"], price_fen=12000)
    desk = shop.headers(shop.dispatcher)
    too_much = client.post(
        f"{ADMIN}/orders/{order['id']}/offline-payments",
        json={"amount_fen": 99999, "method": "cash", "note": "多收"},
        headers=desk,
    )
    assert too_much.status_code == 422
    assert audit_rows(db_session, "offline_payment") == []
    r = client.post(
        f"{ADMIN}/orders/{order['id']}/offline-payments",
        json={"amount_fen": 12000, "method": "cash", "note": "前台收现金，住户电话 13800000001"},
        headers=desk,
    )
    assert r.status_code == 201, r.json
    [row] = audit_rows(db_session, "offline_payment")
    assert (row.target_type, row.target_id) == ("order", order["id"])
    assert row.actor_user_id == shop.dispatcher.id and row.actor_role == "dispatcher"
    assert row.data["amount_fen"] == 12000 and row.data["method"] == "cash"
    assert "120.00 元" in row.summary and order["number"] in row.summary
    assert "13800000001" not in row.summary + str(row.data)


def test_fee_adjustments(client, shop, admin, make, db_session):
    order = shop.file(client, subtype_id=shop.after.id)
    complete_with_charge(client, shop, db_session, order["id"], price_fen=5000)
    headers = make.headers(admin)
    r = client.post(
        f"{ADMIN}/orders/{order['id']}/fee-adjustments",
        json={"discount_fen": 1000, "reason": "老客户优惠"},
        headers=headers,
    )
    assert r.status_code == 200, r.json
    r = client.post(
        f"{ADMIN}/orders/{order['id']}/fee-adjustments",
        json={"waive": True, "reason": "返修免费"},
        headers=headers,
    )
    assert r.status_code == 200, r.json
    rows = audit_rows(db_session, "fee_adjusted")
    assert [(row.data["waived"], row.data["discount_fen"], row.data["reason"]) for row in rows] == [
        (False, 1000, "老客户优惠"),
        (True, 0, "返修免费"),
    ]
    assert "优惠 10.00 元" in rows[0].summary and "减免全部费用" in rows[1].summary
    assert rows[0].actor_role == "admin"


def test_desk_refund_and_a_refused_one(client, shop, wxpay, admin, make, db_session):
    order = shop.file(client, subtype_id=shop.full.id)
    paid = paid_ok(client, shop, order["id"])
    wechat_paid(client, wxpay, paid["out_trade_no"])
    headers = make.headers(admin)
    r = client.post(
        f"{ADMIN}/orders/{order['id']}/refunds",
        json={"amount_fen": 999999, "reason": "超额"},
        headers=headers,
    )
    assert r.status_code == 409
    assert audit_rows(db_session, "refund") == []
    r = client.post(
        f"{ADMIN}/orders/{order['id']}/refunds",
        json={"amount_fen": 1000, "reason": "服务不满意"},
        headers=headers,
    )
    assert r.status_code == 201, r.json
    [row] = audit_rows(db_session, "refund")
    assert row.target_id == order["id"] and row.data["amount_fen"] == 1000
    assert row.data["reason"] == "服务不满意" and len(row.data["refund_ids"]) == 1
    # Through the log's own API, filtered by target.
    page = client.get(
        "/api/v1/admin/audit-log",
        query_string={"target_type": "order", "target_id": order["id"], "kind": "refund"},
        headers=headers,
    ).json
    assert [item["summary"] for item in page["items"]] == [row.summary]
