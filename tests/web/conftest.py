"""A small organisation for the hardening tests: rooms, a tenant, technicians, an order type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from server.kernel.roles import Role
from tests.factories import Factory


@dataclass
class Place:
    org: Any
    room: Any
    tenant: Any
    technician: Any
    subtype: Any
    admin_headers: dict[str, str]
    tenant_headers: dict[str, str]
    tech_headers: dict[str, str]


@pytest.fixture
def place(make: Factory) -> Place:
    org = make.org()
    building = make.building(make.community(org))
    room = make.room(building)
    customer = make.customer(org)
    tenant_phone = "13812345678"
    make.contact(customer, phone=tenant_phone)
    make.holds(customer, room)
    tenant = make.tenant(org, phone=tenant_phone)
    department = make.department(org, grab_cap=3)
    technician = make.staff(org, roles=(Role.TECHNICIAN,), department_id=department.id)
    order_type = make.order_type(org, department_id=department.id)
    subtype = make.subtype(order_type)
    return Place(
        org=org,
        room=room,
        tenant=tenant,
        technician=technician,
        subtype=subtype,
        admin_headers=make.headers(make.admin(org)),
        tenant_headers=make.headers(tenant),
        tech_headers=make.headers(technician.user),
    )
