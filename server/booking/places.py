"""Taking, releasing and moving a place in a slot: the quota is enforced by the database.

A slot's counter row is created on first use (INSERT … ON CONFLICT DO NOTHING), then taken with
one conditional UPDATE (`used < limit`): under any number of parallel bookers PostgreSQL
serialises the UPDATEs on the row and each re-checks the condition against the committed
count, so no slot ever takes more than its limit. The CHECK (used <= capacity) is the last line
of defence. Whoever touches two counters (a move) locks them in one order, by
(community, slot start) ascending, so two moves in opposite directions cannot deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.booking import rules
from server.booking.models import SlotCounter
from server.booking.slots import open_slot
from server.catalog.models import OrderSubtype
from server.kernel.errors import SlotFull

_KEY = (
    SlotCounter.subtype_id == bindparam("k_subtype"),
    SlotCounter.community_id == bindparam("k_community"),
    SlotCounter.slot_start == bindparam("k_start"),
)
_CREATE = (
    insert(SlotCounter)
    .values(
        subtype_id=bindparam("k_subtype"),
        community_id=bindparam("k_community"),
        slot_start=bindparam("k_start"),
        org_id=bindparam("k_org"),
        capacity=bindparam("k_capacity"),
        used=0,
    )
    .on_conflict_do_nothing(index_elements=["subtype_id", "community_id", "slot_start"])
)
# `limit` is the booker's ceiling (tenants: the quota; the desk: quota + reserve) and never
# exceeds `capacity`, which follows the settings as they are now.
_TAKE = (
    update(SlotCounter)
    .where(*_KEY, SlotCounter.used < bindparam("k_limit"))
    .values(used=SlotCounter.used + 1, capacity=bindparam("k_capacity"))
    .returning(SlotCounter.used)
)
_RELEASE = (
    update(SlotCounter)
    .where(*_KEY, SlotCounter.used > 0)
    .values(used=SlotCounter.used - 1)
    .returning(SlotCounter.used)
)


@dataclass(frozen=True)
class Place:
    """A booked slot, as stored on the order (UTC)."""

    start: datetime
    end: datetime


def _hold_grid(session: Session, *, subtype_id: int) -> None:
    """Share-lock the subtype while a place is taken under its current grid.

    A settings save locks the subtype for update and refuses a grid that leaves open bookings
    behind; this lock makes it wait for (and so see) a booking made under the old grid.
    """
    session.execute(
        select(OrderSubtype.id).where(OrderSubtype.id == subtype_id).with_for_update(read=True)
    )


def _take(
    session: Session,
    *,
    org_id: int,
    subtype_id: int,
    community_id: int,
    slot: rules.Slot,
    desk: bool,
) -> None:
    key = {"k_subtype": subtype_id, "k_community": community_id, "k_start": slot.start_utc}
    session.execute(_CREATE, {**key, "k_org": org_id, "k_capacity": slot.capacity})
    taken = session.execute(
        _TAKE, {**key, "k_limit": rules.limit_for(slot, desk=desk), "k_capacity": slot.capacity}
    ).first()
    if taken is None:
        raise SlotFull()


def _release(session: Session, *, subtype_id: int, community_id: int, start: datetime) -> None:
    session.execute(
        _RELEASE, {"k_subtype": subtype_id, "k_community": community_id, "k_start": start}
    )


def book_place(
    session: Session,
    *,
    org_id: int,
    subtype_id: int,
    community_id: int,
    start: datetime,
    desk: bool,
    now: datetime,
) -> Place:
    """Take one place in the slot starting at `start`; SlotUnavailable or SlotFull if not."""
    _hold_grid(session, subtype_id=subtype_id)
    slot = open_slot(
        session, subtype_id=subtype_id, community_id=community_id, start=start, now=now
    )
    _take(
        session,
        org_id=org_id,
        subtype_id=subtype_id,
        community_id=community_id,
        slot=slot,
        desk=desk,
    )
    return Place(slot.start_utc, slot.end.astimezone(UTC))


def release_place(session: Session, *, subtype_id: int, community_id: int, start: datetime) -> None:
    """Give a place back (the order was cancelled); never below zero."""
    _release(session, subtype_id=subtype_id, community_id=community_id, start=start)


def move_place(
    session: Session,
    *,
    org_id: int,
    subtype_id: int,
    community_id: int,
    old_start: datetime | None,
    new_start: datetime,
    desk: bool,
    now: datetime,
) -> Place:
    """Take a place in the new slot and give back the old one, in one transaction.

    Both counters are touched in (community, slot start) order; if the new slot is full the
    caller's transaction rolls back and the old place is still held.
    """
    _hold_grid(session, subtype_id=subtype_id)
    slot = open_slot(
        session, subtype_id=subtype_id, community_id=community_id, start=new_start, now=now
    )
    place = Place(slot.start_utc, slot.end.astimezone(UTC))
    if old_start is not None and old_start == place.start:
        return place
    steps: list[tuple[datetime, bool]] = [(place.start, True)]
    if old_start is not None:
        steps.append((old_start, False))
    for start, take in sorted(steps, key=lambda step: (community_id, step[0])):
        if take:
            _take(
                session,
                org_id=org_id,
                subtype_id=subtype_id,
                community_id=community_id,
                slot=slot,
                desk=desk,
            )
        else:
            _release(session, subtype_id=subtype_id, community_id=community_id, start=start)
    return place
