"""Hand-outs name the right culprit when the technician may not take orders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.kernel.errors import Forbidden, ValidationFailed
from server.kernel.roles import Role
from server.orders.actors import Actor
from server.orders.handout import assign_order, grab_order


def test_a_grab_by_someone_who_is_no_active_technician_is_forbidden(world, client, db_session):
    order_id = world.file(client)["id"]
    clerk = world.make.staff(world.org, roles=(Role.DISPATCHER,), department_id=world.department.id)
    actor = Actor(
        user_id=clerk.user_id, org_id=world.org.id, role=Role.TECHNICIAN.value, staff_id=clerk.id
    )
    with pytest.raises(Forbidden):
        grab_order(db_session, actor=actor, order_id=order_id, now=datetime.now(UTC))


def test_assigning_to_someone_who_is_no_active_technician_names_the_field(
    world, client, db_session
):
    order_id = world.file(client)["id"]
    clerk = world.make.staff(world.org, roles=(Role.DISPATCHER,), department_id=world.department.id)
    desk = Actor(user_id=world.dispatcher.id, org_id=world.org.id, role=Role.DISPATCHER.value)
    with pytest.raises(ValidationFailed) as raised:
        assign_order(
            db_session, actor=desk, order_id=order_id, staff_id=clerk.id, now=datetime.now(UTC)
        )
    assert "staff_id" in (raised.value.errors or {})
