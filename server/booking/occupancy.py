"""The console's view of a day: per community and slot, the places taken and the orders in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.booking import rules
from server.booking.slots import (
    bookable_subtype,
    check_listing_date,
    day_grid,
    used_by_slot,
)
from server.directory.models import Community
from server.kernel.clock import LOCAL_TZ
from server.orders.models import Order

CANCELLED = "cancelled"


@dataclass(frozen=True)
class BookedOrder:
    id: int
    number: str
    status: str


@dataclass(frozen=True)
class SlotOccupancy:
    start: datetime
    end: datetime
    quota: int
    capacity: int
    used: int
    reason: str | None
    orders: list[BookedOrder] = field(default_factory=list)


@dataclass(frozen=True)
class CommunityOccupancy:
    community_id: int
    community_name: str
    slots: list[SlotOccupancy]


def day_occupancy(
    session: Session,
    *,
    org_id: int,
    subtype_id: int,
    day: date,
    community_id: int | None,
    now: datetime,
) -> list[CommunityOccupancy]:
    """Each community's slots on `day`: quota, capacity (with the desk's reserve), used, orders."""
    check_listing_date(day, today=now.astimezone(LOCAL_TZ).date())
    subtype = bookable_subtype(session, org_id=org_id, subtype_id=subtype_id)
    communities = select(Community).where(Community.org_id == org_id).order_by(Community.id)
    if community_id is not None:
        communities = communities.where(Community.id == community_id)
    midnight = datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ)
    booked: dict[tuple[int, datetime], list[BookedOrder]] = {}
    for order in session.execute(
        select(Order.id, Order.number, Order.status, Order.community_id, Order.slot_start)
        .where(
            Order.org_id == org_id,
            Order.subtype_id == subtype.id,
            Order.slot_start >= midnight,
            Order.slot_start < midnight + timedelta(days=1),
            Order.status != CANCELLED,
        )
        .order_by(Order.id)
    ):
        booked.setdefault((order.community_id, order.slot_start), []).append(
            BookedOrder(order.id, order.number, order.status)
        )
    out = []
    for community in session.scalars(communities):
        grid: list[rules.Slot] = day_grid(
            session, subtype_id=subtype.id, community_id=community.id, day=day, now=now
        )
        used = used_by_slot(session, subtype_id=subtype.id, community_id=community.id, day=day)
        slots = [
            SlotOccupancy(
                start=slot.start,
                end=slot.end,
                quota=slot.quota,
                capacity=slot.capacity,
                used=used.get(slot.start_utc, 0),
                reason=slot.reason,
                orders=booked.get((community.id, slot.start_utc), []),
            )
            for slot in grid
        ]
        out.append(CommunityOccupancy(community.id, community.name, slots))
    return out
