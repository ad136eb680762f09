"""Room and customer details: a customer's rooms together, a room's dated history.

"Who lived in 3-1001 on 2026-03-01, who paid for it" is `room_history(on=…)`; without a day,
the whole history (relations with their periods, payers, move-ins, transfers, lineage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from server.db.scoping import get_owned
from server.directory.models import Customer, CustomerRoom, Room
from server.residency.households import relations_on
from server.residency.models import MoveIn, RoomLineage, RoomPayer, RoomTransfer
from server.residency.payers import payer_on, payers_of
from server.residency.reshaping import lineage_of
from server.residency.rules import in_force
from server.residency.transfers import transfers_of


@dataclass(frozen=True)
class Relation:
    """A relation to a room, with its household head's customer and whether it holds today."""

    link: CustomerRoom
    customer: Customer
    head_customer: Customer | None
    current: bool


@dataclass(frozen=True)
class CustomerRooms:
    customer: Customer
    relations: list[Relation]


@dataclass(frozen=True)
class RoomHistory:
    room: Room
    on: date | None
    relations: list[Relation]
    payers: list[RoomPayer]
    move_ins: list[MoveIn]
    transfers: list[RoomTransfer]
    lineage: list[RoomLineage]


def customer_rooms(
    session: Session, *, org_id: int, customer_id: int, today: date
) -> CustomerRooms:
    """一户多房: every room the customer has been related to, current ones first."""
    customer = get_owned(session, Customer, customer_id, org_id=org_id, message="客户不存在")
    links = list(
        session.scalars(
            select(CustomerRoom)
            .where(CustomerRoom.customer_id == customer.id)
            .order_by(CustomerRoom.start_date.desc(), CustomerRoom.id.desc())
        )
    )
    relations = _relations(session, links, today=today)
    relations.sort(key=lambda r: not r.current)
    return CustomerRooms(customer, relations)


def room_history(
    session: Session, *, org_id: int, room_id: int, on: date | None, today: date
) -> RoomHistory:
    """The room's relations and payers on `on`, or its whole dated history (on None)."""
    room = get_owned(session, Room, room_id, org_id=org_id, message="房间不存在")
    if on is not None:
        links = relations_on(session, room_id=room.id, day=on)
        payer = payer_on(session, room_id=room.id, day=on)
        payers = [payer] if payer is not None else []
    else:
        links = list(
            session.scalars(
                select(CustomerRoom)
                .where(CustomerRoom.room_id == room.id)
                .order_by(CustomerRoom.start_date, CustomerRoom.id)
            )
        )
        payers = payers_of(session, room_id=room.id)
    move_ins = list(
        session.scalars(
            select(MoveIn).where(MoveIn.room_id == room.id).order_by(MoveIn.effective_on)
        )
    )
    return RoomHistory(
        room=room,
        on=on,
        relations=_relations(session, links, today=today),
        payers=payers,
        move_ins=[m for m in move_ins if on is None or m.effective_on <= on],
        transfers=[
            t for t in transfers_of(session, room_id=room.id) if on is None or t.effective_on <= on
        ],
        lineage=lineage_of(session, room_id=room.id),
    )


def _relations(session: Session, links: list[CustomerRoom], *, today: date) -> list[Relation]:
    heads = {link.household_id for link in links if link.household_id is not None} - {
        link.id for link in links
    }
    head_rows = {
        row.id: row
        for row in session.scalars(select(CustomerRoom).where(CustomerRoom.id.in_(heads)))
    } | {link.id: link for link in links}
    customer_ids = {link.customer_id for link in head_rows.values()}
    customers = {
        c.id: c
        for c in session.scalars(
            select(Customer)
            .where(Customer.id.in_(customer_ids))
            .options(selectinload(Customer.contacts))
        )
    }
    return [
        Relation(
            link=link,
            customer=customers[link.customer_id],
            head_customer=(
                customers[head_rows[link.household_id].customer_id]
                if link.household_id is not None and link.household_id in head_rows
                else None
            ),
            current=in_force(link.start_date, link.end_date, today),
        )
        for link in links
    ]
