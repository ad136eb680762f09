"""收费对象: who pays for a room, over time.

A company-owned room or one with several owners names the customer its bills go to. Only a
customer related to the room on the first day may be named; naming a new payer ends the
current one the day before (history is kept). With no payer named, the owner pays.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.directory.models import Customer
from server.kernel.clock import instant
from server.kernel.errors import ValidationFailed
from server.kernel.permissions import Permission
from server.residency.households import ensure_in_use, lock_room, relations_on
from server.residency.models import RoomPayer
from server.residency.rules import last_day_before
from server.roles.grants import require


def payers_of(session: Session, *, room_id: int) -> list[RoomPayer]:
    """Every payer the room has had, oldest first."""
    return list(
        session.scalars(
            select(RoomPayer)
            .where(RoomPayer.room_id == room_id)
            .order_by(RoomPayer.start_date, RoomPayer.id)
        )
    )


def payer_on(session: Session, *, room_id: int, day: date) -> RoomPayer | None:
    """The payer named for `day`, if any."""
    return session.scalars(
        select(RoomPayer)
        .where(
            RoomPayer.room_id == room_id,
            RoomPayer.start_date <= day,
            or_(RoomPayer.end_date.is_(None), RoomPayer.end_date >= day),
        )
        .order_by(RoomPayer.start_date.desc(), RoomPayer.id.desc())
        .limit(1)
    ).first()


def set_payer(
    session: Session, *, org_id: int, room_id: int, customer_id: int, start_date: date
) -> RoomPayer:
    """Name the room's payer from `start_date`; the payer before ends the day before."""
    require(session, Permission.CUSTOMERS_ACT)
    room = lock_room(session, org_id=org_id, room_id=room_id)
    ensure_in_use(room, field="customer_id")
    related = {link.customer_id for link in relations_on(session, room_id=room.id, day=start_date)}
    if customer_id not in related:
        raise ValidationFailed.field(
            "customer_id", f"该客户在 {start_date.isoformat()} 与房间 {room.code} 没有关系"
        )
    for current in session.scalars(
        select(RoomPayer).where(
            RoomPayer.room_id == room.id,
            or_(RoomPayer.end_date.is_(None), RoomPayer.end_date >= start_date),
        )
    ):
        if current.start_date >= start_date:
            raise ValidationFailed.field(
                "start_date", f"已有从 {current.start_date.isoformat()} 起的收费对象，日期须晚于此"
            )
        current.end_date = last_day_before(start_date)
    customer = session.get(Customer, customer_id)
    assert customer is not None
    payer = RoomPayer(
        org_id=org_id,
        room_id=room.id,
        customer_id=customer.id,
        customer=customer,
        start_date=start_date,
    )
    session.add(payer)
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="payer_changed",
        summary=f"房间 {room.code} 自 {start_date.isoformat()} 起由 {customer.name} 缴费",
        target_type="room",
        target_id=room.id,
        data={"customer_id": customer.id, "start_date": start_date.isoformat()},
    )
    return payer


def end_payers(session: Session, *, room_id: int, day: date) -> None:
    """The payers in force on `day` or later end the day before (the room changed hands)."""
    for current in session.scalars(
        select(RoomPayer).where(
            RoomPayer.room_id == room_id,
            or_(RoomPayer.end_date.is_(None), RoomPayer.end_date >= day),
        )
    ):
        if current.start_date >= day:
            raise ValidationFailed.field(
                "date", f"该房间有从 {current.start_date.isoformat()} 起的收费对象，日期须晚于此"
            )
        current.end_date = last_day_before(day)
    session.flush()
