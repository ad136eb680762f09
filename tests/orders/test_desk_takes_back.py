"""The desk takes a job back from whoever holds it (改派): nothing stays stranded."""

from __future__ import annotations

import pytest

TECH = "/api/v1/tech/orders"
ADMIN = "/api/v1/admin"


def grab(client, world, tech, order_id):
    r = client.post(f"{TECH}/{order_id}/grab", headers=world.headers(tech))
    assert r.status_code == 200, r.json


@pytest.mark.parametrize("on_hold", [False, True])
def test_an_order_under_way_is_reassigned_after_its_technician_leaves(client, world, on_hold):
    order_id = world.file(client)["id"]
    leaver, successor = world.techs[0], world.techs[1]
    grab(client, world, leaver, order_id)
    if on_hold:
        r = client.post(
            f"{TECH}/{order_id}/hold", json={"reason": "等配件"}, headers=world.headers(leaver)
        )
        assert r.status_code == 200, r.json
    admin = world.make.admin(world.org)
    desk = world.make.headers(admin)
    assert client.delete(f"{ADMIN}/staff/{leaver.id}", headers=desk).status_code == 204

    r = client.post(
        f"{ADMIN}/orders/{order_id}/assign", json={"staff_id": successor.id}, headers=desk
    )
    assert r.status_code == 409 and r.json["error"] == "order_taken"  # not without asking
    r = client.post(
        f"{ADMIN}/orders/{order_id}/assign",
        json={"staff_id": successor.id, "take_back": True},
        headers=desk,
    )
    assert r.status_code == 200, r.json
    assert r.json["status"] == "assigned" and r.json["assignee"]["id"] == successor.id
    r = client.post(f"{TECH}/{order_id}/accept", headers=world.headers(successor))
    assert r.status_code == 200 and r.json["status"] == "in_progress"
    detail = client.get(f"{ADMIN}/orders/{order_id}", headers=desk).json
    assign = [e for e in detail["timeline"] if e["action"] == "assign"][-1]
    assert assign["from_status"] == ("on_hold" if on_hold else "in_progress")
    assert assign["data"]["previous_assignee_id"] == leaver.id


def test_reassigning_to_the_technician_who_holds_it_is_a_conflict(client, world):
    order_id = world.file(client)["id"]
    grab(client, world, world.techs[0], order_id)
    desk = world.make.headers(world.dispatcher)
    r = client.post(
        f"{ADMIN}/orders/{order_id}/assign",
        json={"staff_id": world.techs[0].id, "take_back": True},
        headers=desk,
    )
    assert r.status_code == 409 and r.json["error"] == "conflict"
