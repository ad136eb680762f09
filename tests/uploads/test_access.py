"""Who may fetch an upload: its owner, those who may see its order, and the desk; else 404."""

from __future__ import annotations

import pytest

from server.kernel.roles import Role
from tests.uploads.helpers import UPLOADS, upload_id

TENANT = "/api/v1/tenant/orders"
TECH = "/api/v1/tech/orders"


def status(client, photo: str, headers) -> int:
    r = client.get(f"{UPLOADS}/{photo}", headers=headers)
    if r.status_code != 200:
        # Never 403: that an upload exists is not given away.
        assert r.status_code == 404 and r.json["error"] == "not_found", r.json
    return r.status_code


@pytest.fixture
def housemate(world, make):
    """Someone else related to the tenant's room (a household member): sees the room's orders."""
    customer = make.customer(world.org, name="王五")
    contact = make.contact(customer)
    make.holds(customer, world.room, relation="tenant")
    return make.tenant(world.org, phone=contact.phone, name="王五")


@pytest.fixture
def other_department_tech(world, make):
    department = make.department(world.org, name="保洁部")
    return make.staff(world.org, department_id=department.id, post_id=world.post.id)


def test_tenant_sees_own_uploads_and_photos_of_orders_they_may_see(client, world, housemate):
    tenant, neighbour = world.headers(world.tenant), world.headers(world.neighbour)
    report_photo = upload_id(client, tenant)
    loose = upload_id(client, tenant)  # never attached to anything
    world.file(client, image_ids=[report_photo])
    theirs = upload_id(client, neighbour)

    assert status(client, report_photo, tenant) == 200
    assert status(client, loose, tenant) == 200
    assert status(client, theirs, tenant) == 404

    # Tenant B, same organisation, another room: nothing of tenant A's.
    assert status(client, report_photo, neighbour) == 404
    assert status(client, loose, neighbour) == 404
    assert status(client, theirs, neighbour) == 200

    # A household member sees the photos of the room's orders, not A's loose uploads.
    assert status(client, report_photo, world.headers(housemate)) == 200
    assert status(client, loose, world.headers(housemate)) == 404


def test_technician_sees_photos_of_orders_they_hold_or_may_grab(
    client, world, other_department_tech
):
    tenant, neighbour = world.headers(world.tenant), world.headers(world.neighbour)
    grabber, colleague = (world.headers(t) for t in world.techs[:2])
    elsewhere = world.headers(other_department_tech)
    outsider = world.headers(world.outsider)
    report_photo = upload_id(client, tenant)
    loose = upload_id(client, tenant)
    order = world.file(client, image_ids=[report_photo])

    # Pending: in the pool of the department's technicians, and of no one else.
    assert status(client, report_photo, grabber) == 200
    assert status(client, report_photo, colleague) == 200
    assert status(client, report_photo, elsewhere) == 404
    assert status(client, report_photo, outsider) == 404
    assert status(client, loose, grabber) == 404

    assert client.post(f"{TECH}/{order['id']}/grab", headers=grabber).status_code == 200
    assert status(client, report_photo, grabber) == 200
    assert status(client, report_photo, colleague) == 404  # taken: no longer in their pool

    chat_photo = upload_id(client, tenant)
    r = client.post(
        f"{TENANT}/{order['id']}/messages",
        json={"text": "这里还有点渗水", "image_ids": [chat_photo]},
        headers=tenant,
    )
    assert r.status_code == 201, r.json
    done_photo = upload_id(client, grabber)
    r = client.post(
        f"{TECH}/{order['id']}/complete",
        json={"result": "已修复", "image_ids": [done_photo]},
        headers=grabber,
    )
    assert r.status_code == 200, r.json

    # Held (and now completed) by the grabber: they see every photo of it.
    for photo in (report_photo, chat_photo, done_photo):
        assert status(client, photo, grabber) == 200
        assert status(client, photo, tenant) == 200
        for stranger in (colleague, elsewhere, outsider, neighbour):
            assert status(client, photo, stranger) == 404


@pytest.mark.parametrize("desk", [Role.DISPATCHER, Role.ADMIN])
def test_desk_sees_every_upload_of_its_organisation_only(client, world, make, desk):
    tenant = world.headers(world.tenant)
    loose = upload_id(client, tenant)
    attached = upload_id(client, tenant)
    world.file(client, image_ids=[attached])

    own_desk = make.dispatcher(world.org) if desk is Role.DISPATCHER else make.admin(world.org)
    for photo in (loose, attached):
        assert status(client, photo, make.headers(own_desk)) == 200

    other = make.org()
    other_desk = make.dispatcher(other) if desk is Role.DISPATCHER else make.admin(other)
    for who in (other_desk, make.tenant(other), make.staff(other).user):
        for photo in (loose, attached):
            assert status(client, photo, make.headers(who)) == 404
