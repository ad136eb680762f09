"""An organisation set up for charges: two departments, priced labour, stocked materials."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from server.charges.fees import record_payment as _record_payment
from server.charges.models import (
    LaborItem,
    LaborPrice,
    Material,
    ServiceItem,
    ServiceSpec,
    TechnicianStock,
)
from server.orders.actors import Actor

TENANT = "/api/v1/tenant/orders"
TECH = "/api/v1/tech/orders"
ADMIN = "/api/v1/admin"


class Shop:
    """The `world` plus an outsourced department, a catalogue of prices and stock."""

    def __init__(self, world, make, db_session):
        self.world, self.make, self.db = world, make, db_session
        self.payments = 0
        org = world.org
        self.internal = world.department
        self.outsourced = make.department(org, name="外包维修队", grab_cap=3)
        self.inside = world.techs[0]
        self.outside = make.staff(org, department_id=self.outsourced.id, post_id=world.post.id)
        # A type every technician may take (no binding), with one subtype per fee mode.
        self.order_type = make.order_type(org, name="综合维修")
        self.free = make.subtype(self.order_type, name="免费检查")
        self.after = make.subtype(
            self.order_type, name="疏通下水道", fee_mode="charge_after_completion"
        )
        self.on_order = make.subtype(
            self.order_type,
            name="换锁",
            fee_mode="charge_on_order",
            fee_fen=1,
            prepay="deposit",
            deposit_percent=30,
        )
        self.full = make.subtype(
            self.order_type, name="空调清洗", fee_mode="charge_on_order", fee_fen=1, prepay="full"
        )
        self.labour_only = make.subtype(
            self.order_type,
            name="上门安装",
            fee_mode="charge_after_completion",
            charge_kinds=["labor"],
        )
        self.lock_spec = self._add(
            ServiceSpec(
                org_id=org.id, subtype_id=self.on_order.id, name="普通门锁", price_fen=12000
            )
        )
        self.smart_spec = self._add(
            ServiceSpec(
                org_id=org.id, subtype_id=self.on_order.id, name="智能门锁", price_fen=30000
            )
        )
        self.clean_spec = self._add(
            ServiceSpec(org_id=org.id, subtype_id=self.full.id, name="挂机清洗", price_fen=10000)
        )
        self.repair = self._add(
            LaborItem(org_id=org.id, name="一般维修", unit="小时", price_fen=6000)
        )
        self._add(
            LaborPrice(
                org_id=org.id,
                labor_item_id=self.repair.id,
                department_id=self.internal.id,
                price_fen=5000,
            )
        )
        self._add(
            LaborPrice(
                org_id=org.id,
                labor_item_id=self.repair.id,
                department_id=self.outsourced.id,
                price_fen=8000,
            )
        )
        self.tap = self._add(
            Material(org_id=org.id, name="水龙头", unit="个", price_fen=3500, store_qty=10)
        )
        self.tape = self._add(
            Material(org_id=org.id, name="生料带", unit="卷", price_fen=250, store_qty=0)
        )
        self.visit = self._add(ServiceItem(org_id=org.id, name="上门费", unit="次", price_fen=2000))
        self.stock(self.inside, self.tap, 2)

    def _add(self, obj):
        self.db.add(obj)
        self.db.flush()
        return obj

    def stock(self, staff, material, qty):
        self._add(
            TechnicianStock(
                org_id=self.world.org.id, staff_id=staff.id, material_id=material.id, qty=qty
            )
        )

    def headers(self, who):
        return self.world.headers(who)

    def desk(self):
        return self.make.headers(self.make.admin(self.world.org))

    def file(self, client, subtype, expect=201, **body):
        body = {
            "subtype_id": subtype.id,
            "room_id": self.world.room.id,
            "description": "修",
            **body,
        }
        r = client.post(TENANT, json=body, headers=self.headers(self.world.tenant))
        assert r.status_code == expect, r.json
        return r.json

    def taken(self, client, subtype, tech, **body):
        """An order filed by the tenant (paid up front if need be) and grabbed by `tech`."""
        order = self.file(client, subtype, **body)
        if order["status"] == "awaiting_payment":
            self.pay(order["id"], order["payable_fen"])
        r = client.post(f"{TECH}/{order['id']}/grab", headers=self.headers(tech))
        assert r.status_code == 200, r.json
        return order["id"]

    def pay(self, order_id, amount_fen):
        """What the payments issue will do once a payment is confirmed."""
        actor = Actor(user_id=self.world.tenant.id, org_id=self.world.org.id, role="tenant")
        self.payments += 1
        _record_payment(
            self.db,
            actor=actor,
            order_id=order_id,
            amount_fen=amount_fen,
            reference=f"TEST{order_id}x{self.payments}",
            channel="offline",
            now=datetime.now(UTC),
        )
        self.db.flush()

    def charge(self, client, order_id, tech, kind, item, quantity=1, expect=201):
        r = client.post(
            f"{TECH}/{order_id}/charges",
            json={"kind": kind, "item_id": item.id, "quantity": quantity},
            headers=self.headers(tech),
        )
        assert r.status_code == expect, r.json
        return r.json

    def complete(self, client, order_id, tech):
        r = client.post(
            f"{TECH}/{order_id}/complete", json={"result": "修好了"}, headers=self.headers(tech)
        )
        assert r.status_code == 200, r.json
        return r.json

    def tenant_view(self, client, order_id):
        r = client.get(f"{TENANT}/{order_id}", headers=self.headers(self.world.tenant))
        assert r.status_code == 200, r.json
        return r.json

    def qty(self, staff, material):
        return self.db.scalar(
            text("SELECT qty FROM technician_stock WHERE staff_id = :s AND material_id = :m"),
            {"s": staff.id, "m": material.id},
        )


@pytest.fixture
def shop(world, make, db_session):
    return Shop(world, make, db_session)
