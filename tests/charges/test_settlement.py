"""Settlement at completion through the HTTP API: each fee mode and payer, waivers, refunds due."""

from __future__ import annotations

from server.kernel.roles import Role
from tests.charges.conftest import ADMIN, TECH, TENANT


def _todo_ids(client, shop):
    r = client.get(f"{TENANT}?box=todo", headers=shop.headers(shop.world.tenant))
    return [o["id"] for o in r.json["items"]]


def test_charge_after_completion_bills_the_actual_charges(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    shop.charge(client, oid, shop.inside, "labor", shop.repair, quantity=2)  # 2 × 50.00
    shop.charge(client, oid, shop.inside, "material", shop.tap)  # 35.00
    shop.charge(client, oid, shop.inside, "service", shop.visit)  # 20.00
    before = shop.tenant_view(client, oid)
    assert before["payable_fen"] == 0 and before["payment_status"] == "none"
    done = shop.complete(client, oid, shop.inside)
    assert done["payable_fen"] == 15500 and done["payment_status"] == "unpaid"
    fee = shop.tenant_view(client, oid)["fee"]
    assert (fee["total_fen"], fee["paid_fen"], fee["refund_due_fen"]) == (15500, 0, 0)
    assert oid in _todo_ids(client, shop)


def test_charge_on_order_needs_a_spec_and_a_deposit_first(client, shop):
    r = shop.file(client, shop.on_order, expect=422)
    assert "spec_id" in r["errors"]
    r = shop.file(client, shop.after, expect=422, spec_id=shop.lock_spec.id)
    assert "spec_id" in r["errors"]
    r = shop.file(client, shop.on_order, expect=422, spec_id=shop.clean_spec.id)
    assert "spec_id" in r["errors"]
    filed = shop.file(client, shop.on_order, spec_id=shop.lock_spec.id)
    # 30 % of 120.00 before the order enters the pool.
    assert filed["status"] == "awaiting_payment" and filed["payable_fen"] == 3600
    assert filed["payment_status"] == "unpaid"
    assert filed["fee"]["spec_name"] == "普通门锁" and filed["fee"]["prepay"] == "deposit"
    shop.pay(filed["id"], 3600)
    paid = shop.tenant_view(client, filed["id"])
    assert paid["status"] == "pending" and paid["payable_fen"] == 0
    assert paid["payment_status"] == "paid"
    r = client.post(f"{TECH}/{filed['id']}/grab", headers=shop.headers(shop.outside))
    assert r.status_code == 200
    shop.charge(client, filed["id"], shop.outside, "labor", shop.repair)  # 80.00 outsourced
    done = shop.complete(client, filed["id"], shop.outside)
    # 120.00 spec + 80.00 labour − 36.00 deposit.
    assert done["payable_fen"] == 16400 and done["payment_status"] == "partially_paid"
    assert done["fee"]["total_fen"] == 20000
    assert filed["id"] in _todo_ids(client, shop)


def test_a_full_prepay_on_a_cheaper_job_leaves_a_refund_due(client, shop):
    oid = shop.taken(client, shop.full, shop.inside, spec_id=shop.clean_spec.id)
    done = shop.complete(client, oid, shop.inside)
    assert done["payment_status"] == "paid" and done["payable_fen"] == 0
    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"discount_fen": 2500, "reason": "老客户优惠"},
        headers=shop.desk(),
    )
    assert r.status_code == 200, r.json
    fee = r.json["fee"]
    assert (fee["total_fen"], fee["paid_fen"], fee["refund_due_fen"]) == (7500, 10000, 2500)
    [event] = [e for e in r.json["timeline"] if e["action"] == "adjust_fee"]
    assert event["reason"] == "老客户优惠" and event["data"]["discount_fen"] == 2500
    assert shop.tenant_view(client, oid)["fee"]["refund_due_fen"] == 2500


def test_the_desk_waives_what_is_owed(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    shop.charge(client, oid, shop.inside, "service", shop.visit)
    assert shop.complete(client, oid, shop.inside)["payable_fen"] == 2000
    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"waive": True, "reason": "返修免费"},
        headers=shop.desk(),
    )
    assert r.status_code == 200, r.json
    assert r.json["payable_fen"] == 0 and r.json["payment_status"] == "none"
    assert r.json["fee"]["waived"] is True and r.json["fee"]["total_fen"] == 0
    # A reason is required, and something to adjust.
    for body in ({"waive": True}, {"reason": "x"}, {"discount_fen": -1, "reason": "x"}):
        r = client.post(f"{ADMIN}/orders/{oid}/fee-adjustments", json=body, headers=shop.desk())
        assert r.status_code == 422, body
    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"waive": True, "reason": "x"},
        headers=shop.headers(shop.inside),
    )
    assert r.status_code == 403


def test_a_discount_before_completion_applies_at_settlement(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    r = client.post(
        f"{ADMIN}/orders/{oid}/fee-adjustments",
        json={"discount_fen": 500, "reason": "投诉补偿"},
        headers=shop.desk(),
    )
    assert r.status_code == 200 and r.json["payable_fen"] == 0
    shop.charge(client, oid, shop.inside, "service", shop.visit)
    assert shop.complete(client, oid, shop.inside)["payable_fen"] == 1500


def test_company_pays_leaves_nothing_for_the_tenant(client, shop):
    body = {
        "subtype_id": shop.after.id,
        "room_id": shop.world.room.id,
        "description": "公司代付",
        "contact_phone": "13800000001",
        "payer": "company",
    }
    desk = shop.make.staff(shop.world.org, roles=(Role.DISPATCHER,))
    r = client.post(TECH, json=body, headers=shop.headers(desk))
    assert r.status_code == 201, r.json
    oid = r.json["id"]
    client.post(f"{TECH}/{oid}/grab", headers=shop.headers(shop.inside))
    shop.charge(client, oid, shop.inside, "labor", shop.repair)
    shop.charge(client, oid, shop.inside, "material", shop.tap)
    done = shop.complete(client, oid, shop.inside)
    assert done["payable_fen"] == 0 and done["payment_status"] == "none"
    assert done["fee"]["company_cost_fen"] == 8500 and done["fee"]["total_fen"] == 8500


def test_a_free_subtype_is_the_organisations_cost(client, shop):
    oid = shop.taken(client, shop.free, shop.inside)
    shop.charge(client, oid, shop.inside, "material", shop.tap)
    done = shop.complete(client, oid, shop.inside)
    assert done["payable_fen"] == 0 and done["payment_status"] == "none"
    assert done["fee"]["company_cost_fen"] == 3500


def test_cancelling_after_a_deposit_leaves_the_deposit_due_back(client, shop):
    filed = shop.file(client, shop.on_order, spec_id=shop.smart_spec.id)
    assert filed["payable_fen"] == 9000
    shop.pay(filed["id"], 9000)
    r = client.post(
        f"{TENANT}/{filed['id']}/cancel",
        json={"reason": "不修了"},
        headers=shop.headers(shop.world.tenant),
    )
    assert r.status_code == 200, r.json
    fee = r.json["fee"]
    assert (fee["paid_fen"], fee["refund_due_fen"]) == (9000, 9000)
    assert r.json["payable_fen"] == 0


def test_cancelling_unpaid_owes_nothing(client, shop):
    filed = shop.file(client, shop.on_order, spec_id=shop.smart_spec.id)
    r = client.post(
        f"{TENANT}/{filed['id']}/cancel",
        json={"reason": "不修了"},
        headers=shop.headers(shop.world.tenant),
    )
    assert r.status_code == 200, r.json
    assert r.json["payable_fen"] == 0 and r.json["payment_status"] == "none"
    assert r.json["fee"]["refund_due_fen"] == 0


def test_a_cancelled_order_is_not_adjusted(client, shop):
    filed = shop.file(client, shop.after)
    r = client.post(
        f"{TENANT}/{filed['id']}/cancel",
        json={"reason": "不修了"},
        headers=shop.headers(shop.world.tenant),
    )
    assert r.status_code == 200
    r = client.post(
        f"{ADMIN}/orders/{filed['id']}/fee-adjustments",
        json={"waive": True, "reason": "x"},
        headers=shop.desk(),
    )
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"


def test_company_paying_a_pay_on_order_filing_asks_the_tenant_for_nothing(client, shop):
    # Probe: the desk filed 公司代付 on a subtype charged on order (spec 智能门锁, 30 % deposit)
    # and the tenant's app showed payable_fen 9000 (¥90 to pay) with payment_status "none".
    body = {
        "subtype_id": shop.on_order.id,
        "room_id": shop.world.room.id,
        "description": "公司代付换锁",
        "contact_phone": "13800000001",
        "payer": "company",
        "spec_id": shop.smart_spec.id,
    }
    desk = shop.make.staff(shop.world.org, roles=(Role.DISPATCHER,))
    r = client.post(TECH, json=body, headers=shop.headers(desk))
    assert r.status_code == 201, r.json
    filed = r.json
    assert filed["status"] == "pending"
    assert filed["payable_fen"] == 0 and filed["payment_status"] == "none"
    assert filed["fee"]["spec_price_fen"] == 30000  # the price stays on record
    seen = shop.tenant_view(client, filed["id"])
    assert seen["payable_fen"] == 0 and seen["payment_status"] == "none"
    listed = client.get(TENANT, headers=shop.headers(shop.world.tenant)).json["items"]
    assert [o["payable_fen"] for o in listed if o["id"] == filed["id"]] == [0]
