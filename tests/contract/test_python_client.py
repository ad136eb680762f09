"""An integrator's Python client, generated from the served document, drives the repair loop.

Every answer must parse into its model: not `Error` for a success, no field left unset, no
field the document did not declare (`additional_properties` empty), and the refusals (409,
422) parse into `Error` with a typed `ErrorId`.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.contract.conftest import Generated, LiveWorld, login

pytestmark = pytest.mark.concurrency  # committed rows, served on a loopback port


def fully_parsed(value: Any, model: type) -> Any:
    """`value` is a `model`, and every model inside it carries exactly the declared fields."""
    assert isinstance(value, model), f"expected {model.__name__}, got {value!r}"
    check_declared(value)
    return value


def check_declared(value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            check_declared(item)
        return
    if not hasattr(value, "additional_properties"):
        return
    assert value.additional_properties == {}, (type(value).__name__, value.additional_properties)
    for name in value.__attrs_attrs__:
        if name.name != "additional_properties":
            field = getattr(value, name.name)
            assert type(field).__name__ != "Unset", f"{type(value).__name__}.{name.name} unset"
            check_declared(field)


def test_the_generator_prints_no_warning(python_client: Generated):
    assert "warning" not in python_client.output.lower(), python_client.output


def test_the_repair_loop_through_the_generated_client(python_client: Generated, live: LiveWorld):
    m = python_client.module("models")
    api = python_client.module("api")
    tenant = login(live, python_client, "tenant")
    tech, rival = login(live, python_client, "tech0"), login(live, python_client, "tech1")
    world = live.world

    def call(operation: str, **kwargs: Any) -> Any:
        module = python_client.module(f"api.{operation}")
        return module.sync_detailed(**kwargs)

    assert api is not None
    rooms = fully_parsed(
        call("tenant.tenant_list_rooms", client=tenant).parsed, m.TenantRoomList
    ).items
    assert [fully_parsed(r, m.TenantRoom).room.id for r in rooms] == [world.room.id]

    # The resident files, with an Idempotency-Key; the same key again is the same order.
    key = f"contract-{uuid.uuid4().hex}"
    body = m.OrderCreate(subtype_id=world.subtype.id, room_id=world.room.id, description="水管漏水")
    filed = call("tenant.tenant_file_order", client=tenant, body=body, idempotency_key=key)
    assert filed.status_code == 201
    order = fully_parsed(filed.parsed, m.OrderDetail)
    assert order.status == m.OrderStatus.PENDING
    again = call("tenant.tenant_file_order", client=tenant, body=body, idempotency_key=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert fully_parsed(again.parsed, m.OrderDetail).id == order.id

    # The technician sees it in the pool with held/cap, grabs it; a rival is refused (409).
    pool = fully_parsed(call("tech.tech_list_pool", client=tech).parsed, m.Pool)
    assert (pool.held, pool.cap) == (0, 3)
    assert order.id in [o.id for o in pool.items]
    grabbed = call("tech.tech_grab_order", client=tech, order_id=order.id)
    assert grabbed.status_code == 200
    assert fully_parsed(grabbed.parsed, m.GrabbedOrder).status == m.OrderStatus.IN_PROGRESS
    taken = call("tech.tech_grab_order", client=rival, order_id=order.id)
    assert taken.status_code == 409
    refusal = fully_parsed(taken.parsed, m.Error)
    assert refusal.error == m.ErrorId.ORDER_TAKEN and refusal.message

    done = call(
        "tech.tech_complete_order",
        client=tech,
        order_id=order.id,
        body=m.Complete(result="更换密封圈"),
    )
    assert fully_parsed(done.parsed, m.OrderDetail).status == m.OrderStatus.COMPLETED

    # A score out of range is a 422 with the field named; a good one closes the order.
    bad = call("tenant.tenant_rate_order", client=tenant, order_id=order.id, body=m.Rating(score=9))
    assert bad.status_code == 422
    invalid = bad.parsed
    assert isinstance(invalid, m.Error) and invalid.error == m.ErrorId.VALIDATION_ERROR
    assert "score" in invalid.errors.additional_properties
    rated = call(
        "tenant.tenant_rate_order", client=tenant, order_id=order.id, body=m.Rating(score=5)
    )
    assert fully_parsed(rated.parsed, m.OrderDetail).status == m.OrderStatus.CLOSED

    story = fully_parsed(
        call("tenant.tenant_get_order", client=tenant, order_id=order.id).parsed, m.OrderDetail
    )
    actions = [event.action for event in story.timeline]
    assert actions == [
        m.TimelineAction.FILE,
        m.TimelineAction.GRAB,
        m.TimelineAction.COMPLETE,
        m.TimelineAction.RATE,
    ]
    assert story.rating_score == 5 and story.assignee is not None
    assert story.contact_phone == live.phones["tenant"]
