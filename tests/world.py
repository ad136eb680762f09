"""Fixtures most console tests share: an organisation and its admin's bearer header."""

from __future__ import annotations

import pytest


@pytest.fixture
def org(make):
    return make.org()


@pytest.fixture
def admin_headers(make, org):
    return make.headers(make.admin(org))


class World:
    """One organisation set up for orders: a room with its resident, technicians, a type."""

    def __init__(self, make):
        self.make = make
        self.org = make.org()
        community = make.community(self.org, name="阳光花园")
        self.building = make.building(community, name="1栋")
        self.room = make.room(self.building, code="101")
        self.other_room = make.room(self.building, code="102")
        customer = make.customer(self.org, name="张三")
        make.contact(customer, phone="13800000001")
        make.holds(customer, self.room)
        neighbour = make.customer(self.org, name="李四")
        make.contact(neighbour, phone="13800000002")
        make.holds(neighbour, self.other_room, relation="tenant")
        self.tenant = make.tenant(self.org, phone="13800000001", name="张三")
        self.neighbour = make.tenant(self.org, phone="13800000002", name="李四")
        self.department = make.department(self.org, name="工程部", grab_cap=3)
        self.post = make.post(self.org, name="维修工")
        self.techs = [
            make.staff(self.org, department_id=self.department.id, post_id=self.post.id)
            for _ in range(3)
        ]
        self.outsider = make.staff(self.org)  # a technician of no department: not eligible
        self.dispatcher = make.dispatcher(self.org)
        self.order_type = make.order_type(
            self.org, name="水电维修", department_id=self.department.id
        )
        self.subtype = make.subtype(self.order_type, name="水管漏水")
        self.paid_subtype = make.subtype(
            self.order_type, name="换锁", fee_mode="charge_on_order", fee_fen=5000
        )

    def headers(self, who):
        user = getattr(who, "user", who)
        return self.make.headers(user)

    def file(self, client, **overrides):
        body = {
            "subtype_id": self.subtype.id,
            "room_id": self.room.id,
            "description": "厨房水管漏水",
            **overrides,
        }
        r = client.post("/api/v1/tenant/orders", json=body, headers=self.headers(self.tenant))
        assert r.status_code == 201, r.json
        return r.json


@pytest.fixture
def world(make):
    return World(make)
