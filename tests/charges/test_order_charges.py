"""Charges on an order through the HTTP API: priced by the server, stock from the technician."""

from __future__ import annotations

from sqlalchemy import text

from server.charges.models import ServiceItem
from server.charges.rules import MAX_LINES
from tests.charges.conftest import TECH


def test_labour_is_priced_by_the_technicians_department(client, shop):
    inside = shop.taken(client, shop.after, shop.inside)
    outside = shop.taken(client, shop.after, shop.outside)
    a = shop.charge(client, inside, shop.inside, "labor", shop.repair, quantity=2)
    b = shop.charge(client, outside, shop.outside, "labor", shop.repair, quantity=2)
    [line_a], [line_b] = a["charges"], b["charges"]
    assert (line_a["unit_price_fen"], line_a["amount_fen"]) == (5000, 10000)
    assert (line_b["unit_price_fen"], line_b["amount_fen"]) == (8000, 16000)
    assert line_a["name"] == "一般维修" and line_a["unit"] == "小时"
    # A department without a price of its own pays the item's default price.
    loner = shop.make.staff(shop.world.org, department_id=shop.make.department(shop.world.org).id)
    third = shop.taken(client, shop.after, loner)
    [line_c] = shop.charge(client, third, loner, "labor", shop.repair)["charges"]
    assert line_c["unit_price_fen"] == 6000


def test_the_client_never_sends_a_price(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    r = client.post(
        f"{TECH}/{oid}/charges",
        json={"kind": "service", "item_id": shop.visit.id, "quantity": 1, "unit_price_fen": 1},
        headers=shop.headers(shop.inside),
    )
    assert r.status_code == 422 and "unit_price_fen" in r.json["errors"]
    [line] = shop.charge(client, oid, shop.inside, "service", shop.visit)["charges"]
    assert line["amount_fen"] == 2000


def test_a_material_comes_from_the_technicians_stock_and_goes_back(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    detail = shop.charge(client, oid, shop.inside, "material", shop.tap, quantity=2)
    assert shop.qty(shop.inside, shop.tap) == 0
    # None left: a clear 409 that says what to do.
    r = client.post(
        f"{TECH}/{oid}/charges",
        json={"kind": "material", "item_id": shop.tap.id},
        headers=shop.headers(shop.inside),
    )
    assert r.status_code == 409 and r.json["error"] == "out_of_stock"
    assert r.json["message"] == "暂无库存，请申领"
    # Never had any: the same answer.
    shop.charge(client, oid, shop.inside, "material", shop.tape, expect=409)
    [line] = detail["charges"]
    r = client.delete(f"{TECH}/{oid}/charges/{line['id']}", headers=shop.headers(shop.inside))
    assert r.status_code == 200 and r.json["charges"] == []
    assert shop.qty(shop.inside, shop.tap) == 2
    ledger = shop.db.execute(
        text(
            "SELECT reason, tech_delta, order_id, actor_user_id FROM stock_movements"
            " WHERE material_id = :m ORDER BY id"
        ),
        {"m": shop.tap.id},
    ).all()
    user_id = shop.inside.user_id
    assert [tuple(row) for row in ledger] == [
        ("charge", -2, oid, user_id),
        ("charge_removed", 2, oid, user_id),
    ]


def test_charges_show_in_the_tenants_order_detail(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    shop.charge(client, oid, shop.inside, "service", shop.visit)
    shop.charge(client, oid, shop.inside, "material", shop.tap)
    seen = shop.tenant_view(client, oid)
    assert [(c["kind"], c["name"], c["amount_fen"]) for c in seen["charges"]] == [
        ("service", "上门费", 2000),
        ("material", "水龙头", 3500),
    ]


def test_only_the_holder_before_completion(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    line = shop.charge(client, oid, shop.inside, "service", shop.visit)["charges"][0]
    # Someone else's order is invisible to a technician.
    shop.charge(client, oid, shop.outside, "service", shop.visit, expect=404)
    shop.complete(client, oid, shop.inside)
    r = shop.charge(client, oid, shop.inside, "service", shop.visit, expect=409)
    assert r["error"] == "invalid_transition"
    r = client.delete(f"{TECH}/{oid}/charges/{line['id']}", headers=shop.headers(shop.inside))
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"


def test_the_subtype_decides_which_kinds_may_be_charged(client, shop):
    oid = shop.taken(client, shop.labour_only, shop.inside)
    r = shop.charge(client, oid, shop.inside, "material", shop.tap, expect=422)
    assert "kind" in r["errors"]
    assert shop.qty(shop.inside, shop.tap) == 2
    shop.charge(client, oid, shop.inside, "labor", shop.repair)


def test_unknown_or_foreign_items_and_bad_quantities(client, shop, make):
    oid = shop.taken(client, shop.after, shop.inside)
    other_org = make.org()
    foreign = ServiceItem(org_id=other_org.id, name="上门费", unit="次", price_fen=1)
    shop.db.add(foreign)
    shop.db.flush()
    shop.charge(client, oid, shop.inside, "service", foreign, expect=422)
    for quantity in (0, -1, 10_000, 1.5, "2"):
        r = client.post(
            f"{TECH}/{oid}/charges",
            json={"kind": "service", "item_id": shop.visit.id, "quantity": quantity},
            headers=shop.headers(shop.inside),
        )
        assert r.status_code == 422, (quantity, r.json)


def test_an_order_holds_a_bounded_number_of_lines(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    shop.db.execute(
        text(
            "INSERT INTO order_charges (org_id, order_id, kind, item_id, name, unit,"
            " unit_price_fen, quantity, amount_fen, staff_id, created_at)"
            " SELECT :org, :order, 'service', :item, '上门费', '次', 2000, 1, 2000, :staff, now()"
            " FROM generate_series(1, :n)"
        ),
        {
            "org": shop.world.org.id,
            "order": oid,
            "item": shop.visit.id,
            "staff": shop.inside.id,
            "n": MAX_LINES,
        },
    )
    r = shop.charge(client, oid, shop.inside, "service", shop.visit, expect=422)
    assert "kind" in r["errors"]
    assert shop.complete(client, oid, shop.inside)["payable_fen"] == MAX_LINES * 2000


def test_a_retried_charge_with_the_same_key_is_added_once(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    headers = {**shop.headers(shop.inside), "Idempotency-Key": "charge-1"}
    body = {"kind": "material", "item_id": shop.tap.id, "quantity": 1}
    first = client.post(f"{TECH}/{oid}/charges", json=body, headers=headers)
    again = client.post(f"{TECH}/{oid}/charges", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(shop.tenant_view(client, oid)["charges"]) == 1
    assert shop.qty(shop.inside, shop.tap) == 1


def test_cancelling_an_order_gives_its_materials_back(client, shop):
    oid = shop.taken(client, shop.after, shop.inside)
    shop.charge(client, oid, shop.inside, "material", shop.tap, quantity=2)
    assert shop.qty(shop.inside, shop.tap) == 0
    r = client.post(
        f"/api/v1/admin/orders/{oid}/cancel", json={"reason": "住户已自行修好"}, headers=shop.desk()
    )
    assert r.status_code == 200, r.json
    assert shop.qty(shop.inside, shop.tap) == 2
    assert [c for c in r.json["charges"] if c["kind"] == "material"] == []
    ledger = shop.db.execute(
        text(
            "SELECT reason, tech_delta, order_id FROM stock_movements"
            " WHERE material_id = :m ORDER BY id"
        ),
        {"m": shop.tap.id},
    ).all()
    assert [tuple(row) for row in ledger] == [
        ("charge", -2, oid),
        ("charge_removed", 2, oid),
    ]
