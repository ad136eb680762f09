"""业主入伙: a household moves into a room in one transaction.

The head (an existing customer or a new one, with contacts), their family members and their
vehicles are registered at once; from the start day the head's and the members' phones open
the room. Refused when the room is retired, or (for an owner) when it already has an owner
on that day or later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.directory.models import Contact, CustomerRoom
from server.kernel.clock import instant
from server.kernel.errors import Conflict, ValidationFailed
from server.kernel.permissions import Permission
from server.parking import vehicles
from server.residency.households import (
    customer_named,
    ensure_in_use,
    join_household,
    lock_room,
    relations_reaching,
)
from server.residency.models import MoveIn
from server.roles.grants import require


def move_in(session: Session, *, org_id: int, data: Mapping[str, Any]) -> MoveIn:
    """Register the household and its relation to the room from `start_date`."""
    require(session, Permission.CUSTOMERS_ACT)
    room = lock_room(session, org_id=org_id, room_id=data["room_id"], field="room_id")
    ensure_in_use(room, field="room_id")
    start: date = data["start_date"]
    relation: str = data["relation"]
    if relation == "owner":
        owners = relations_reaching(session, room_id=room.id, day=start, relation="owner")
        if owners:
            message = f"房间 {room.code} 在 {start.isoformat()} 已有业主，请办理过户"
            raise Conflict(message, errors={"room_id": [message]})
    head_customer = customer_named(
        session,
        org_id=org_id,
        customer_id=data.get("customer_id"),
        new=data.get("customer"),
        field="customer",
    )
    _add_contacts(session, customer_id=head_customer.id, org_id=org_id, data=data)
    head = CustomerRoom(
        org_id=org_id,
        customer_id=head_customer.id,
        room_id=room.id,
        room=room,
        relation=relation,
        start_date=start,
    )
    session.add(head)
    session.flush()
    for index, member in enumerate(data.get("family") or []):
        person = customer_named(
            session,
            org_id=org_id,
            customer_id=member.get("customer_id"),
            new=_person(member.get("customer")),
            field=f"family.{index}.customer",
        )
        join_household(
            session,
            head=head,
            customer=person,
            label=member["label"],
            start_date=start,
            field=f"family.{index}.customer",
        )
    for index, vehicle in enumerate(data.get("vehicles") or []):
        try:
            vehicles.register_vehicle(
                session, org_id=org_id, data={**vehicle, "customer_id": head_customer.id}
            )
        except (ValidationFailed, Conflict) as error:
            errors = {
                f"vehicles.{index}.{name}": texts for name, texts in (error.errors or {}).items()
            }
            raise type(error)(error.message, errors=errors or None) from None
    if room.moved_in_on is None:
        room.moved_in_on = start
    record = MoveIn(
        org_id=org_id,
        room_id=room.id,
        room=room,
        customer_id=head_customer.id,
        customer=head_customer,
        customer_room_id=head.id,
        relation=relation,
        effective_on=start,
    )
    session.add(record)
    session.flush()
    family, cars = len(data.get("family") or []), len(data.get("vehicles") or [])
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="moved_in",
        summary=(
            f"{head_customer.name} 于 {start.isoformat()} 入伙房间 {room.code}"
            f"（{'业主' if relation == 'owner' else '租户'}，"
            f"家庭成员 {family} 人，车辆 {cars} 辆）"
        ),
        target_type="move_in",
        target_id=record.id,
        data={
            "room_id": room.id,
            "customer_id": head_customer.id,
            "relation": relation,
            "start_date": start.isoformat(),
        },
    )
    return record


def _add_contacts(
    session: Session, *, customer_id: int, org_id: int, data: Mapping[str, Any]
) -> None:
    """The head's extra contacts (a new person with a phone already is their own contact)."""
    known = set(session.scalars(select(Contact.phone).where(Contact.customer_id == customer_id)))
    for index, contact in enumerate(data.get("contacts") or []):
        if contact["phone"] in known:
            message = "该客户已有此手机号的联系人"
            raise Conflict(message, errors={f"contacts.{index}.phone": [message]})
        known.add(contact["phone"])
        session.add(Contact(org_id=org_id, customer_id=customer_id, **contact))
    session.flush()


def _person(new: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if new is None else {"kind": "person", **new}
