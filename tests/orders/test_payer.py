"""Who pays: 公司代付 on a subtype with a fee is a desk decision, and the timeline says whose."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.kernel.clock import local_date
from server.kernel.errors import Forbidden
from server.kernel.roles import Role
from server.orders.actors import Actor
from server.orders.filing import NewOrder, file_order

TECH = "/api/v1/tech/orders"
ADMIN = "/api/v1/admin/orders"


@pytest.fixture
def after_completion(world):
    return world.make.subtype(
        world.order_type, name="疏通下水道", fee_mode="charge_after_completion", fee_fen=8000
    )


def staff_files(client, world, who, subtype, payer):
    body = {
        "subtype_id": subtype.id,
        "room_id": world.room.id,
        "description": "门锁坏了",
        "contact_phone": "13800000001",
        "payer": payer,
    }
    return client.post(TECH, json=body, headers=world.headers(who))


def board_total(client, world):
    desk = world.make.headers(world.make.admin(world.org))
    return client.get(ADMIN, headers=desk).json["total"]


@pytest.mark.parametrize("fee", ["charge_on_order", "charge_after_completion"])
def test_a_technician_cannot_let_the_company_pay_a_fee(client, world, after_completion, fee):
    subtype = world.paid_subtype if fee == "charge_on_order" else after_completion
    r = staff_files(client, world, world.techs[0], subtype, "company")
    assert r.status_code == 403 and r.json["error"] == "forbidden", r.json
    assert r.json["message"] == "收费项目由公司代付须由调度员或管理员决定"
    assert board_total(client, world) == 0
    # The tenant pays as usual: the filing goes through, and a pay-on-order fee waits.
    r = staff_files(client, world, world.techs[0], subtype, "tenant")
    assert r.status_code == 201, r.json
    assert r.json["payer"] == "tenant"
    if fee == "charge_on_order":
        assert r.json["status"] == "awaiting_payment" and r.json["payment_status"] == "unpaid"


@pytest.mark.parametrize(
    "roles", [(Role.DISPATCHER,), (Role.ADMIN,), (Role.TECHNICIAN, Role.DISPATCHER)]
)
def test_the_desk_lets_the_company_pay_and_the_timeline_says_who(client, world, roles):
    desk = world.make.staff(world.org, roles=roles)
    r = staff_files(client, world, desk, world.paid_subtype, "company")
    assert r.status_code == 201, r.json
    order = r.json
    assert order["payer"] == "company"
    assert order["status"] == "pending" and order["payment_status"] == "none"
    [filed] = order["timeline"]
    decided_as = "dispatcher" if Role.DISPATCHER in roles else "admin"
    assert filed["action"] == "file" and filed["actor_role"] == decided_as
    assert filed["actor_name"] == desk.user.name
    assert filed["data"] == {
        "payer": "company",
        "payer_decided_by": desk.user_id,
        "payer_decided_by_role": decided_as,
    }
    pool = client.get("/api/v1/tech/pool", headers=world.headers(world.techs[0])).json
    assert [o["id"] for o in pool["items"]] == [order["id"]]


def test_company_payer_without_a_fee_is_recorded_too(client, world):
    tech = world.techs[0]
    r = staff_files(client, world, tech, world.subtype, "company")
    assert r.status_code == 201, r.json
    assert r.json["payer"] == "company" and r.json["payment_status"] == "none"
    assert r.json["timeline"][0]["data"] == {
        "payer": "company",
        "payer_decided_by": tech.user_id,
        "payer_decided_by_role": "technician",
    }


def test_a_tenant_filing_pays_by_default(client, world):
    filed = world.file(client, subtype_id=world.paid_subtype.id)
    assert filed["payer"] == "tenant" and filed["timeline"][0]["data"] == {}


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.TENANT])
def test_the_use_case_refuses_whoever_calls_it(world, db_session, role):
    who = world.techs[0] if role is Role.TECHNICIAN else None
    user_id = who.user_id if who else world.tenant.id
    actor = Actor(
        user_id=user_id, org_id=world.org.id, role=role.value, staff_id=who.id if who else None
    )
    now = datetime.now(UTC)
    with pytest.raises(Forbidden):
        file_order(
            db_session,
            actor=actor,
            new=NewOrder(
                subtype_id=world.paid_subtype.id,
                room_id=world.room.id,
                description="门锁坏了",
                contact_phone="13800000001",
                payer="company",
            ),
            now=now,
            today=local_date(now),
        )


def test_an_unknown_payer_is_a_validation_error(world, db_session, client):
    r = staff_files(client, world, world.techs[0], world.subtype, "landlord")
    assert r.status_code == 422 and "payer" in r.json["errors"]
