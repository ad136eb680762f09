"""The contact's phone in answers about one order: one rule per caller, in every answer.

Whole to the resident, the desk and the technician holding the order; masked to any other
technician; masked in every list. Answers under /api are never cached.
"""

from __future__ import annotations

WHOLE, MASKED = "13800000001", "138****0001"


def test_the_contact_phone_follows_who_holds_the_order(client, world):
    order = world.file(client)
    holder, other = world.techs[0], world.techs[1]
    tech = f"/api/v1/tech/orders/{order['id']}"

    pool = client.get("/api/v1/tech/pool", headers=world.headers(holder)).json
    assert [o["contact_phone"] for o in pool["items"] if o["id"] == order["id"]] == [MASKED]
    assert client.get(tech, headers=world.headers(holder)).json["contact_phone"] == MASKED

    grabbed = client.post(f"{tech}/grab", headers=world.headers(holder))
    assert grabbed.status_code == 200 and grabbed.json["contact_phone"] == WHOLE
    assert grabbed.headers["Cache-Control"] == "no-store"
    assert client.get(tech, headers=world.headers(holder)).json["contact_phone"] == WHOLE
    held = client.post(f"{tech}/hold", json={"reason": "等配件"}, headers=world.headers(holder))
    assert held.json["contact_phone"] == WHOLE
    client.post(f"{tech}/resume", headers=world.headers(holder))

    moved = client.post(
        f"{tech}/transfer",
        json={"staff_id": other.id, "reason": "换人"},
        headers=world.headers(holder),
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["contact_phone"] == MASKED  # no longer theirs to call
    assert client.get(tech, headers=world.headers(other)).json["contact_phone"] == WHOLE
    accepted = client.post(f"{tech}/accept", headers=world.headers(other))
    assert accepted.status_code == 200, accepted.json
    done = client.post(f"{tech}/complete", json={"result": "好了"}, headers=world.headers(other))
    assert done.json["contact_phone"] == WHOLE

    desk = world.headers(world.dispatcher)
    detail = client.get(f"/api/v1/admin/orders/{order['id']}", headers=desk)
    assert detail.json["contact_phone"] == WHOLE
    listed = client.get("/api/v1/admin/orders", headers=desk).json["items"]
    assert [o["contact_phone"] for o in listed if o["id"] == order["id"]] == [MASKED]
    mine = client.get(f"/api/v1/tenant/orders/{order['id']}", headers=world.headers(world.tenant))
    assert mine.json["contact_phone"] == WHOLE
    assert mine.headers["Cache-Control"] == "no-store"
