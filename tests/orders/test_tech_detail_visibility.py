"""Which orders a technician may open: theirs, and their pool's; nothing else, not even by id."""

from __future__ import annotations

from server.kernel.roles import Role

TECH = "/api/v1/tech/orders"


def test_a_technician_opens_their_own_and_their_pools_orders_only(client, world, make):
    holder, other = world.techs[0], world.techs[1]
    in_pool = world.file(client)["id"]
    held = world.file(client)["id"]
    assert client.post(f"{TECH}/{held}/grab", headers=world.headers(holder)).status_code == 200

    def opens(who, order_id):
        return client.get(f"{TECH}/{order_id}", headers=world.headers(who)).status_code

    assert opens(holder, held) == 200  # theirs
    assert opens(other, in_pool) == 200  # in their pool
    assert opens(other, held) == 404  # another technician's
    assert opens(world.outsider, in_pool) == 404  # a type not bound to their department
    assert opens(holder, 10**12) == 404
    # Once it is theirs the binding no longer matters; once taken, it leaves the others' pool.
    assert client.post(f"{TECH}/{in_pool}/grab", headers=world.headers(other)).status_code == 200
    assert opens(holder, in_pool) == 404
    assert opens(other, in_pool) == 200


def test_a_technician_login_without_a_staff_record_is_refused(client, world, make):
    loose = make.user(world.org, roles=[Role.TECHNICIAN.value])
    order_id = world.file(client)["id"]
    r = client.get(f"{TECH}/{order_id}", headers=make.headers(loose))
    assert r.status_code == 403 and r.json["error"] == "forbidden"
