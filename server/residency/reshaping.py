"""拆分 / 合并房: one room becomes several, or several rooms of a building become one.

On the day D: the old rooms are retired (`retired_on` = D; kept with their orders and
history, refused for new orders, no longer listed to tenants); the relations in force end on
D - 1 on the old rooms and start on D on the new ones; the lineage keeps one row per edge.
Split: the owners (and their households) are carried to every new room; tenancies end with
the room (a new lease names the new room). Merge: every owner and tenant with their
households, each customer once per relation. Areas are carried by rule (`rules`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.directory import property as property_service
from server.directory.models import CustomerRoom, Room
from server.kernel.clock import instant
from server.kernel.errors import Conflict, ValidationFailed
from server.kernel.permissions import Permission
from server.residency.households import end_before, lock_room, relations_on
from server.residency.models import RoomLineage
from server.residency.payers import end_payers
from server.residency.rules import merged_area, split_area_problem
from server.roles.grants import require


def split_room(session: Session, *, org_id: int, data: Mapping[str, Any]) -> list[RoomLineage]:
    """Split `room_id` into `rooms` (code, floor, unit, areas, layout) from `date`."""
    require(session, Permission.CUSTOMERS_ACT)
    old = lock_room(session, org_id=org_id, room_id=data["room_id"], field="room_id")
    _ensure_in_use([old], field="room_id")
    day: date = data["date"]
    parts: Sequence[Mapping[str, Any]] = data["rooms"]
    problem = split_area_problem(old.building_area, [p.get("building_area") for p in parts])
    if problem is not None:
        raise ValidationFailed.field("rooms", problem)
    _ensure_codes_distinct(parts)
    ending = relations_on(session, room_id=old.id, day=day)
    carried = [link for link in ending if link.relation == "owner" and link.household_id is None]
    households = _households(ending, carried)
    new_rooms = [
        _new_room(session, org_id=org_id, template=old, part=part, index=index)
        for index, part in enumerate(parts)
    ]
    for link in ending:
        end_before(link, day=day, field="date")
    end_payers(session, room_id=old.id, day=day)
    old.retired_on = day
    lineage = []
    for room in new_rooms:
        _carry(session, heads=carried, households=households, room=room, day=day)
        lineage.append(_edge(session, old, room, kind="split", day=day))
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="room_split",
        summary=(
            f"房间 {old.code} 于 {day.isoformat()} 拆分为 "
            + "、".join(room.code for room in new_rooms)
        ),
        target_type="room",
        target_id=old.id,
        data={"date": day.isoformat(), "to_room_ids": [room.id for room in new_rooms]},
    )
    return lineage


def merge_rooms(session: Session, *, org_id: int, data: Mapping[str, Any]) -> list[RoomLineage]:
    """Merge `room_ids` (one building) into a new room (code, floor, unit, layout) from `date`."""
    require(session, Permission.CUSTOMERS_ACT)
    room_ids: list[int] = list(dict.fromkeys(data["room_ids"]))
    if len(room_ids) < 2:
        raise ValidationFailed.field("room_ids", "请选择至少两个房间")
    olds = [
        lock_room(session, org_id=org_id, room_id=room_id, field="room_ids")
        for room_id in sorted(room_ids)
    ]
    _ensure_in_use(olds, field="room_ids")
    if len({room.building_id for room in olds}) != 1:
        raise ValidationFailed.field("room_ids", "只能合并同一楼栋的房间")
    day: date = data["date"]
    part = dict(data["room"])
    units = {room.unit_id for room in olds}
    part.setdefault("unit_id", units.pop() if len(units) == 1 else None)
    part.setdefault("floor", min(room.floor for room in olds))
    part["building_area"] = merged_area([room.building_area for room in olds])
    part["charge_area"] = merged_area([room.charge_area for room in olds])
    ending: list[CustomerRoom] = []
    for room in olds:
        ending += relations_on(session, room_id=room.id, day=day)
    heads: list[CustomerRoom] = []
    first: dict[tuple[int, str], CustomerRoom] = {}
    for link in ending:
        if link.household_id is None and link.relation in ("owner", "tenant"):
            key = (link.customer_id, link.relation)
            if key not in first:
                first[key] = link
                heads.append(link)
    # A head related to several of the rooms brings every household member once.
    households: dict[int, list[CustomerRoom]] = {head.id: [] for head in heads}
    by_row = _households(ending, [link for link in ending if link.household_id is None])
    for link in ending:
        if link.household_id is None and link.relation in ("owner", "tenant"):
            households[first[(link.customer_id, link.relation)].id] += by_row.get(link.id, [])
    new = _new_room(session, org_id=org_id, template=olds[0], part=part, index=None)
    for link in ending:
        end_before(link, day=day, field="date")
    lineage = []
    for room in olds:
        end_payers(session, room_id=room.id, day=day)
        room.retired_on = day
        lineage.append(_edge(session, room, new, kind="merge", day=day))
    _carry(session, heads=heads, households=households, room=new, day=day)
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="room_merged",
        summary=(
            "房间 "
            + "、".join(room.code for room in olds)
            + f" 于 {day.isoformat()} 合并为 {new.code}"
        ),
        target_type="room",
        target_id=new.id,
        data={"date": day.isoformat(), "from_room_ids": [room.id for room in olds]},
    )
    return lineage


def lineage_of(session: Session, *, room_id: int) -> list[RoomLineage]:
    """The edges a room is on (it came from, or became), oldest first."""
    return list(
        session.scalars(
            select(RoomLineage)
            .where((RoomLineage.from_room_id == room_id) | (RoomLineage.to_room_id == room_id))
            .order_by(RoomLineage.effective_on, RoomLineage.id)
        )
    )


def _ensure_in_use(rooms: Sequence[Room], *, field: str) -> None:
    for room in rooms:
        if room.retired_on is not None:
            message = f"房间 {room.code} 已于 {room.retired_on.isoformat()} 停用"
            raise Conflict(message, errors={field: [message]})


def _ensure_codes_distinct(parts: Sequence[Mapping[str, Any]]) -> None:
    seen: set[str] = set()
    for index, part in enumerate(parts):
        if part["code"] in seen:
            raise ValidationFailed.field(f"rooms.{index}.code", "新房号重复")
        seen.add(part["code"])


def _new_room(
    session: Session, *, org_id: int, template: Room, part: Mapping[str, Any], index: int | None
) -> Room:
    data: dict[str, Any] = {
        "building_id": template.building_id,
        "unit_id": part.get("unit_id", template.unit_id),
        "code": part["code"],
        "floor": part.get("floor", template.floor),
        "building_area": part.get("building_area"),
        "charge_area": part.get("charge_area"),
        "layout": part.get("layout", ""),
        "orientation": part.get("orientation", template.orientation),
        "use": template.use,
        "delivered_on": template.delivered_on,
        "moved_in_on": template.moved_in_on,
    }
    prefix = "room" if index is None else f"rooms.{index}"
    try:
        return property_service.create_room(session, org_id=org_id, data=data)
    except (ValidationFailed, Conflict) as error:
        errors = {f"{prefix}.{name}": texts for name, texts in (error.errors or {}).items()}
        raise type(error)(error.message, errors=errors or None) from None


def _households(
    relations: Sequence[CustomerRoom], heads: Sequence[CustomerRoom]
) -> dict[int, list[CustomerRoom]]:
    """The members in force (among `relations`) of each head, by the head's row id."""
    ids = {head.id for head in heads}
    found: dict[int, list[CustomerRoom]] = {head.id: [] for head in heads}
    for link in relations:
        if link.household_id in ids:
            found[link.household_id].append(link)
    return found


def _carry(
    session: Session,
    *,
    heads: Sequence[CustomerRoom],
    households: Mapping[int, Sequence[CustomerRoom]],
    room: Room,
    day: date,
) -> None:
    """The heads' relations and their households' members start on `room` on `day`."""
    for head in heads:
        copy = CustomerRoom(
            org_id=head.org_id,
            customer_id=head.customer_id,
            room_id=room.id,
            room=room,
            relation=head.relation,
            start_date=day,
        )
        session.add(copy)
        session.flush()
        seen: set[int] = set()
        for member in households.get(head.id, ()):
            if member.customer_id in seen:
                continue
            seen.add(member.customer_id)
            session.add(
                CustomerRoom(
                    org_id=head.org_id,
                    customer_id=member.customer_id,
                    room_id=room.id,
                    room=room,
                    relation=member.relation,
                    start_date=day,
                    household_id=copy.id,
                    household_label=member.household_label,
                )
            )
    session.flush()


def _edge(session: Session, old: Room, new: Room, *, kind: str, day: date) -> RoomLineage:
    edge = RoomLineage(
        org_id=old.org_id,
        from_room_id=old.id,
        from_room=old,
        to_room_id=new.id,
        to_room=new,
        kind=kind,
        effective_on=day,
    )
    session.add(edge)
    return edge
