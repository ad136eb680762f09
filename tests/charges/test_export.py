"""Order charges in the console's order export."""

from __future__ import annotations

import csv
import io

from tests.charges.conftest import ADMIN


def test_the_export_lists_each_orders_charges(client, shop):
    oid = shop.taken(client, shop.full, shop.inside, spec_id=shop.clean_spec.id)
    shop.charge(client, oid, shop.inside, "labor", shop.repair, quantity=2)
    shop.charge(client, oid, shop.inside, "material", shop.tap)
    plain = shop.taken(client, shop.after, shop.inside)
    r = client.get(f"{ADMIN}/orders?format=csv", headers=shop.desk())
    assert r.status_code == 200
    rows = {row["工单号"]: row for row in csv.DictReader(io.StringIO(r.data.decode("utf-8-sig")))}
    numbers = {
        o["id"]: o["number"]
        for o in client.get(f"{ADMIN}/orders", headers=shop.desk()).json["items"]
    }
    charged = rows[numbers[oid]]
    assert charged["服务规格"] == "挂机清洗"
    assert charged["费用明细"] == "一般维修×2；水龙头×1"
    assert charged["费用合计（元）"] == "235.00"  # 100.00 + 2 × 50.00 + 35.00
    empty = rows[numbers[plain]]
    assert (empty["服务规格"], empty["费用明细"], empty["费用合计（元）"]) == ("", "", "0.00")
