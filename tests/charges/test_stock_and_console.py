"""Stock, requisitions and returns, and the console's price catalogue, through the HTTP API."""

from __future__ import annotations

from sqlalchemy import text

from tests.charges.conftest import ADMIN

TECH_API = "/api/v1/tech"


def _ledger(shop, material):
    return [
        tuple(row)
        for row in shop.db.execute(
            text(
                "SELECT reason, store_delta, tech_delta FROM stock_movements"
                " WHERE material_id = :m ORDER BY id"
            ),
            {"m": material.id},
        )
    ]


def test_requisition_approved_moves_stock_from_the_store_to_the_technician(client, shop):
    tech = shop.headers(shop.outside)
    r = client.post(
        f"{TECH_API}/requisitions",
        json={"material_id": shop.tap.id, "quantity": 4, "note": "换水龙头"},
        headers=tech,
    )
    assert r.status_code == 201 and r.json["status"] == "pending", r.json
    rid = r.json["id"]
    mine = client.get(f"{TECH_API}/requisitions", headers=tech).json
    assert [x["id"] for x in mine["items"]] == [rid]
    # Nothing moves until the desk approves.
    assert client.get(f"{TECH_API}/stock", headers=tech).json["items"] == []
    desk = shop.desk()
    r = client.post(f"{ADMIN}/requisitions/{rid}/approve", json={}, headers=desk)
    assert r.status_code == 200 and r.json["status"] == "approved", r.json
    [held] = client.get(f"{TECH_API}/stock", headers=tech).json["items"]
    assert held["material"]["name"] == "水龙头" and held["qty"] == 4
    # Decided once only.
    r = client.post(f"{ADMIN}/requisitions/{rid}/approve", json={}, headers=desk)
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"
    # Return one unused: back in the store.
    r = client.post(
        f"{TECH_API}/stock/returns", json={"material_id": shop.tap.id, "quantity": 1}, headers=tech
    )
    assert r.status_code == 200 and r.json["items"][0]["qty"] == 3
    r = client.post(
        f"{TECH_API}/stock/returns", json={"material_id": shop.tap.id, "quantity": 9}, headers=tech
    )
    assert r.status_code == 409 and r.json["error"] == "out_of_stock"
    assert _ledger(shop, shop.tap) == [("requisition", -4, 4), ("return", 1, -1)]
    report = client.get(f"{ADMIN}/stock/report", headers=desk).json["items"]
    tap = next(line for line in report if line["material"]["id"] == shop.tap.id)
    # Store 10 − 4 + 1; technicians: 2 (fixture) + 3.
    assert (tap["store_qty"], tap["technician_qty"]) == (7, 5)
    assert tap["value_fen"] == 12 * 3500
    assert {h["staff_id"]: h["qty"] for h in tap["technicians"]} == {
        shop.inside.id: 2,
        shop.outside.id: 3,
    }
    r = client.get(f"{ADMIN}/stock/movements?material_id={shop.tap.id}", headers=desk)
    assert r.status_code == 200, r.json
    moves = r.json
    assert moves["total"] == 2 and moves["items"][0]["reason"] == "return"


def test_a_requisition_beyond_the_store_is_refused_and_stays_pending(client, shop):
    r = client.post(
        f"{TECH_API}/requisitions",
        json={"material_id": shop.tape.id, "quantity": 1},
        headers=shop.headers(shop.inside),
    )
    rid = r.json["id"]
    r = client.post(f"{ADMIN}/requisitions/{rid}/approve", json={}, headers=shop.desk())
    assert r.status_code == 409 and r.json["error"] == "out_of_stock"
    pending = client.get(f"{ADMIN}/requisitions?status=pending", headers=shop.desk()).json
    assert [x["id"] for x in pending["items"]] == [rid]
    r = client.post(
        f"{ADMIN}/requisitions/{rid}/reject", json={"note": "缺货"}, headers=shop.desk()
    )
    assert r.status_code == 200 and r.json["status"] == "rejected"


def test_store_stock_in_and_out_never_below_zero(client, shop):
    desk = shop.desk()
    path = f"{ADMIN}/materials/{shop.tape.id}"
    r = client.post(f"{path}/stock-in", json={"quantity": 5, "note": "采购"}, headers=desk)
    assert r.status_code == 200 and r.json["store_qty"] == 5
    r = client.post(f"{path}/stock-out", json={"quantity": 6}, headers=desk)
    assert r.status_code == 409 and r.json["error"] == "out_of_stock"
    r = client.post(f"{path}/stock-out", json={"quantity": 5, "note": "盘亏"}, headers=desk)
    assert r.status_code == 200 and r.json["store_qty"] == 0
    assert _ledger(shop, shop.tape) == [("stock_in", 5, 0), ("stock_out", -5, 0)]
    # A material with history cannot be deleted, only deactivated.
    assert client.delete(path, headers=desk).status_code == 409
    r = client.patch(path, json={"is_active": False}, headers=desk)
    assert r.status_code == 200 and r.json["is_active"] is False


def test_console_catalogue_crud(client, shop):
    desk = shop.desk()
    # Labour items with per-department prices.
    r = client.post(
        f"{ADMIN}/labor-items",
        json={"name": "上门安装", "unit": "次", "price_fen": 10000},
        headers=desk,
    )
    assert r.status_code == 201, r.json
    item = r.json["id"]
    r = client.put(
        f"{ADMIN}/labor-items/{item}/prices/{shop.outsourced.id}",
        json={"price_fen": 15000},
        headers=desk,
    )
    assert r.status_code == 200 and r.json["prices"] == [
        {"department_id": shop.outsourced.id, "price_fen": 15000}
    ]
    r = client.put(
        f"{ADMIN}/labor-items/{item}/prices/{shop.outsourced.id}",
        json={"price_fen": 14000},
        headers=desk,
    )
    assert r.json["prices"][0]["price_fen"] == 14000
    r = client.delete(f"{ADMIN}/labor-items/{item}/prices/{shop.outsourced.id}", headers=desk)
    assert r.status_code == 200 and r.json["prices"] == []
    r = client.post(
        f"{ADMIN}/labor-items",
        json={"name": "上门安装", "unit": "次", "price_fen": 1},
        headers=desk,
    )
    assert r.status_code == 409
    listed = client.get(f"{ADMIN}/labor-items?q=安装", headers=desk).json
    assert [x["name"] for x in listed["items"]] == ["上门安装"]
    # Service items and materials.
    r = client.post(
        f"{ADMIN}/service-items", json={"name": "夜间加急", "price_fen": 5000}, headers=desk
    )
    assert r.status_code == 201 and r.json["unit"] == "次"
    r = client.post(
        f"{ADMIN}/materials",
        json={"name": "灯泡", "unit": "个", "price_fen": 800, "store_qty": 99},
        headers=desk,
    )
    assert r.status_code == 422  # stock moves only through the ledger
    r = client.post(
        f"{ADMIN}/materials", json={"name": "灯泡", "unit": "个", "price_fen": 800}, headers=desk
    )
    assert r.status_code == 201 and r.json["store_qty"] == 0
    # Prices are bounded.
    r = client.post(
        f"{ADMIN}/service-items", json={"name": "天价", "price_fen": 10**9}, headers=desk
    )
    assert r.status_code == 422
    # Specs of a subtype.
    r = client.post(
        f"{ADMIN}/subtypes/{shop.full.id}/specs",
        json={"name": "柜机清洗", "price_fen": 20000},
        headers=desk,
    )
    assert r.status_code == 201, r.json
    spec = r.json["id"]
    r = client.patch(f"{ADMIN}/specs/{spec}", json={"is_active": False}, headers=desk)
    assert r.status_code == 200
    tenant = shop.headers(shop.world.tenant)
    offered = client.get(f"/api/v1/catalog/subtypes/{shop.full.id}/specs", headers=tenant).json
    assert [s["name"] for s in offered] == ["挂机清洗"]
    everything = client.get(f"{ADMIN}/subtypes/{shop.full.id}/specs", headers=desk).json
    assert len(everything) == 2
    assert client.delete(f"{ADMIN}/specs/{spec}", headers=desk).status_code == 204
    # A technician sees the price list at their own department's prices.
    prices = client.get(f"{TECH_API}/price-list", headers=shop.headers(shop.outside)).json
    repair = next(x for x in prices["labor"] if x["name"] == "一般维修")
    assert repair["price_fen"] == 8000
    mine = client.get(f"{TECH_API}/price-list", headers=shop.headers(shop.inside)).json
    assert next(x for x in mine["materials"] if x["name"] == "水龙头")["qty"] == 2
    # Another organisation's console sees none of it.
    other = shop.make.headers(shop.make.admin(shop.make.org()))
    assert client.get(f"{ADMIN}/labor-items/{item}", headers=other).status_code == 404
    assert client.get(f"{ADMIN}/labor-items", headers=other).json["total"] == 0


def test_subtype_prepay_settings_are_checked(client, shop):
    desk = shop.desk()
    path = f"{ADMIN}/order-types/{shop.order_type.id}/subtypes"
    body = {"name": "换门", "fee_mode": "charge_on_order", "fee_fen": 100, "prepay": "deposit"}
    r = client.post(path, json=body, headers=desk)
    assert r.status_code == 422 and "deposit_fen" in r.json["errors"]
    r = client.post(path, json={**body, "deposit_percent": 20}, headers=desk)
    assert r.status_code == 201 and r.json["deposit_percent"] == 20, r.json
    r = client.post(path, json={**body, "name": "换窗", "deposit_percent": 101}, headers=desk)
    assert r.status_code == 422
    r = client.post(path, json={"name": "拆装", "charge_kinds": ["labor", "nothing"]}, headers=desk)
    assert r.status_code == 422
