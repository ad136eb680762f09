"""What a tenant may see: the rooms their contact records link to, today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.directory.models import Contact, Customer, CustomerRoom, Room


@dataclass(frozen=True)
class TenantRoom:
    room: Room
    customer_id: int
    customer_name: str
    relation: str


def rooms_for_tenant(session: Session, *, user: User, today: date) -> list[TenantRoom]:
    """Rooms the user may file repairs for: through any contact with their phone in their org."""
    if not user.phone:
        return []
    rows = session.execute(
        select(Room, Customer.id, Customer.name, CustomerRoom.relation)
        .join(CustomerRoom, CustomerRoom.room_id == Room.id)
        .join(Customer, Customer.id == CustomerRoom.customer_id)
        .join(Contact, Contact.customer_id == Customer.id)
        .where(
            Contact.org_id == user.org_id,
            Contact.phone == user.phone,
            Room.org_id == user.org_id,
            CustomerRoom.start_date <= today,
            or_(CustomerRoom.end_date.is_(None), CustomerRoom.end_date >= today),
        )
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


def tenant_may_use_room(session: Session, *, user: User, room_id: int, today: date) -> bool:
    """Whether the user may file for this room today."""
    return any(r.room.id == room_id for r in rooms_for_tenant(session, user=user, today=today))
