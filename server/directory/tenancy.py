"""What a tenant may see: the rooms their contact records link to, today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from server.accounts.models import User
from server.directory.models import Contact, Customer, CustomerRoom, Room
from server.kernel.roles import Role
from server.staff.technicians import active_with_role


@dataclass(frozen=True)
class TenantRoom:
    room: Room
    customer_id: int
    customer_name: str
    relation: str


@dataclass(frozen=True)
class RoomCustomer:
    """A customer related to a room today, and how (owner / tenant / resident)."""

    customer: Customer
    relation: str


@dataclass(frozen=True)
class TenancyPeriod:
    """A room the user is related to today, and the period of that relation.

    Dates are local (Asia/Shanghai) and inclusive; `end_date` None means open-ended.
    """

    room_id: int
    start_date: date
    end_date: date | None


def _in_force(today: date) -> Any:
    """SQL: the customer_rooms row holds on `today` (its start and end days included)."""
    return and_(
        CustomerRoom.start_date <= today,
        or_(CustomerRoom.end_date.is_(None), CustomerRoom.end_date >= today),
    )


def _relations_of(user: User, today: date, *columns: Any) -> Select[Any]:
    """The relations in force today of every customer the user is a contact of (by phone)."""
    return (
        select(*columns)
        .select_from(CustomerRoom)
        .join(Room, Room.id == CustomerRoom.room_id)
        .join(Customer, Customer.id == CustomerRoom.customer_id)
        .join(Contact, Contact.customer_id == Customer.id)
        .where(
            Contact.org_id == user.org_id,
            Contact.phone == user.phone,
            Room.org_id == user.org_id,
            _in_force(today),
        )
    )


def rooms_for_tenant(session: Session, *, user: User, today: date) -> list[TenantRoom]:
    """Rooms the user may file repairs for: through any contact with their phone in their org."""
    if not user.phone:
        return []
    rows = session.execute(
        _relations_of(user, today, Room, Customer.id, Customer.name, CustomerRoom.relation)
        # A room split or merged away is no longer filed for (its orders stay visible).
        .where(or_(Room.retired_on.is_(None), Room.retired_on > today))
        .order_by(Room.community_id, Room.code, CustomerRoom.id)
    ).all()
    seen: set[int] = set()
    result = []
    for room, customer_id, customer_name, relation in rows:
        if room.id in seen:
            continue
        seen.add(room.id)
        result.append(TenantRoom(room, customer_id, customer_name, relation))
    return result


def tenancy_periods(session: Session, *, user: User, today: date) -> list[TenancyPeriod]:
    """The user's relations to rooms in force today, with their periods (no duplicates).

    A relation that has ended is not here: what happened in a room is shared with the
    household only while it is related to the room.
    """
    if not user.phone:
        return []
    rows = session.execute(
        _relations_of(
            user, today, CustomerRoom.room_id, CustomerRoom.start_date, CustomerRoom.end_date
        )
        .distinct()
        .order_by(CustomerRoom.room_id, CustomerRoom.start_date, CustomerRoom.end_date)
    ).all()
    return [TenancyPeriod(room_id, start, end) for room_id, start, end in rows]


def customers_of_room(
    session: Session, *, org_id: int, room_id: int, today: date
) -> list[RoomCustomer]:
    """The customers related to a room today, with their contacts: whom the desk files for
    (代客报修). The same relations and period rule as what a tenant may see, from the room's
    side; a customer related twice (owner and resident) appears once, first relation first."""
    rows = session.execute(
        select(Customer, CustomerRoom.relation)
        .join(CustomerRoom, CustomerRoom.customer_id == Customer.id)
        .where(
            CustomerRoom.org_id == org_id,
            CustomerRoom.room_id == room_id,
            Customer.org_id == org_id,
            _in_force(today),
        )
        .options(selectinload(Customer.contacts))
        .order_by(CustomerRoom.id)
    ).all()
    seen: set[int] = set()
    result = []
    for customer, relation in rows:
        if customer.id not in seen:
            seen.add(customer.id)
            result.append(RoomCustomer(customer, relation))
    return result


def tenant_may_use_room(session: Session, *, user: User, room_id: int, today: date) -> bool:
    """Whether the user may file for this room today."""
    return any(r.room.id == room_id for r in rooms_for_tenant(session, user=user, today=today))


def users_related_to_rooms(*, org_id: int, on: date, rooms: Any) -> Select[int, int]:
    """SQL: (user id, room id) of every active tenant user related to a room matching `rooms`
    (a clause over `Room`) on the day `on`: the reverse of what a tenant may see, spelled with
    the same contacts-by-phone and period rule (notices and surveys reach these people)."""
    return (
        select(User.id.label("user_id"), CustomerRoom.room_id.label("room_id"))
        .select_from(CustomerRoom)
        .join(Room, Room.id == CustomerRoom.room_id)
        .join(Contact, Contact.customer_id == CustomerRoom.customer_id)
        .join(User, and_(User.org_id == Contact.org_id, User.phone == Contact.phone))
        .where(
            CustomerRoom.org_id == org_id,
            Room.org_id == org_id,
            Contact.org_id == org_id,
            active_with_role(Role.TENANT),
            _in_force(on),
            rooms,
        )
    )
