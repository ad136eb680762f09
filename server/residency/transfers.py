"""房屋过户: the room changes owner on a day, atomically.

The owners in force on the transfer day (and their households) end the day before; the new
owner's relation starts on the day. Tenants (and their households) are kept, or ended the
same way. The payer named for the room ends too. What was filed stays with whoever filed it,
and what they owe stays theirs: orders are never moved. The room is locked: of two transfers
at once, the second sees the first's owner and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.directory.models import CustomerRoom
from server.kernel.clock import instant
from server.kernel.errors import Conflict
from server.kernel.permissions import Permission
from server.residency.households import (
    customer_named,
    end_before,
    end_households,
    ensure_in_use,
    lock_room,
    relations_on,
    relations_reaching,
)
from server.residency.models import RoomTransfer
from server.residency.payers import end_payers
from server.roles.grants import require


def transfer(
    session: Session, *, org_id: int, room_id: int, data: Mapping[str, Any]
) -> RoomTransfer:
    """Record the transfer; returns it (with the old and new owner)."""
    require(session, Permission.CUSTOMERS_ACT)
    room = lock_room(session, org_id=org_id, room_id=room_id)
    ensure_in_use(room, field="date")
    day: date = data["date"]
    new_owner = customer_named(
        session,
        org_id=org_id,
        customer_id=data.get("customer_id"),
        new=data.get("customer"),
        field="customer",
    )
    in_force = relations_on(session, room_id=room.id, day=day)
    owners = [link for link in in_force if link.relation == "owner"]
    later = [
        link
        for link in relations_reaching(session, room_id=room.id, day=day, relation="owner")
        if link.start_date >= day
    ]
    if later or any(owner.start_date == day for owner in owners):
        message = f"房间 {room.code} 在 {day.isoformat()} 或之后已有新业主"
        raise Conflict(message, errors={"date": [message]})
    if any(owner.customer_id == new_owner.id for owner in owners):
        message = "新业主与原业主相同"
        raise Conflict(message, errors={"customer_id": [message]})
    ending = list(owners)
    keep_tenants = bool(data.get("keep_tenants", True))
    if not keep_tenants:
        ending += [
            link for link in in_force if link.relation == "tenant" and link.household_id is None
        ]
    for link in ending:
        end_before(link, day=day, field="date")
    end_households(session, heads=ending, day=day)
    end_payers(session, room_id=room.id, day=day)
    session.add(
        CustomerRoom(
            org_id=org_id,
            customer_id=new_owner.id,
            room_id=room.id,
            room=room,
            relation="owner",
            start_date=day,
        )
    )
    record = RoomTransfer(
        org_id=org_id,
        room_id=room.id,
        room=room,
        effective_on=day,
        from_customer_id=owners[0].customer_id if owners else None,
        to_customer_id=new_owner.id,
        kept_tenants=keep_tenants,
    )
    session.add(record)
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="room_transferred",
        summary=(
            f"房间 {room.code} 于 {day.isoformat()} 过户给 {new_owner.name}"
            f"（原业主 {'、'.join(o.customer.name for o in owners) or '无'}）"
        ),
        target_type="room_transfer",
        target_id=record.id,
        data={
            "room_id": room.id,
            "date": day.isoformat(),
            "from_customer_ids": [o.customer_id for o in owners],
            "to_customer_id": new_owner.id,
            "keep_tenants": keep_tenants,
        },
    )
    return record


def transfers_of(session: Session, *, room_id: int) -> list[RoomTransfer]:
    """The room's transfers, oldest first."""
    return list(
        session.scalars(
            select(RoomTransfer)
            .where(RoomTransfer.room_id == room_id)
            .order_by(RoomTransfer.effective_on, RoomTransfer.id)
        )
    )
