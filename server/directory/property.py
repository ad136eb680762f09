"""The property tree as the console manages it: communities, buildings, units, rooms."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.db.pagination import Page, paginate
from server.db.scoping import apply_changes, ensure_absent, get_owned, reference_owned
from server.directory.models import Building, Community, Room, Unit
from server.kernel.clock import instant
from server.kernel.errors import ValidationFailed
from server.kernel.permissions import Permission
from server.roles.grants import require


def list_communities(
    session: Session, *, org_id: int, q: str | None, page: int, page_size: int
) -> Page[Community]:
    """Communities of the organisation, optionally filtered by name or code."""
    stmt = select(Community).where(Community.org_id == org_id)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Community.name.ilike(like), Community.code.ilike(like)))
    return paginate(session, stmt.order_by(Community.id), page=page, page_size=page_size)


def get_community(session: Session, *, org_id: int, community_id: int) -> Community:
    """One community of the organisation."""
    return get_owned(session, Community, community_id, org_id=org_id, message="小区不存在")


def create_community(session: Session, *, org_id: int, data: dict[str, Any]) -> Community:
    """Add a community; its code is unique in the organisation."""
    require(session, Permission.PROPERTY_ACT)
    _ensure_code_free(session, org_id=org_id, code=data["code"], exclude_id=None)
    community = Community(org_id=org_id, **data)
    session.add(community)
    session.flush()
    return community


def update_community(
    session: Session, *, org_id: int, community_id: int, changes: dict[str, Any]
) -> Community:
    """Change a community's name, code or address."""
    require(session, Permission.PROPERTY_ACT)
    community = get_community(session, org_id=org_id, community_id=community_id)
    if "code" in changes:
        _ensure_code_free(session, org_id=org_id, code=changes["code"], exclude_id=community.id)
    apply_changes(community, changes)
    session.flush()
    return community


def delete_community(session: Session, *, org_id: int, community_id: int) -> None:
    """Delete an empty community (one with buildings is refused as in use)."""
    require(session, Permission.PROPERTY_ACT)
    session.delete(get_community(session, org_id=org_id, community_id=community_id))
    session.flush()


def _ensure_code_free(session: Session, *, org_id: int, code: str, exclude_id: int | None) -> None:
    stmt = select(Community.id).where(Community.org_id == org_id, Community.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Community.id != exclude_id)
    ensure_absent(session, stmt, field="code", message="小区编码已存在")


def list_buildings(
    session: Session,
    *,
    org_id: int,
    community_id: int | None,
    q: str | None,
    page: int,
    page_size: int,
) -> Page[Building]:
    """Buildings of the organisation, optionally of one community or matching a name."""
    stmt = select(Building).where(Building.org_id == org_id)
    if community_id is not None:
        stmt = stmt.where(Building.community_id == community_id)
    if q:
        stmt = stmt.where(Building.name.ilike(f"%{q}%"))
    stmt = stmt.order_by(Building.community_id, Building.name, Building.id)
    return paginate(session, stmt, page=page, page_size=page_size)


def get_building(session: Session, *, org_id: int, building_id: int) -> Building:
    """One building of the organisation."""
    return get_owned(session, Building, building_id, org_id=org_id, message="楼栋不存在")


def create_building(session: Session, *, org_id: int, data: dict[str, Any]) -> Building:
    """Add a building to a community of the organisation; its name is unique there."""
    require(session, Permission.PROPERTY_ACT)
    fields = dict(data)
    community = _community_ref(session, org_id=org_id, community_id=fields.pop("community_id"))
    _ensure_building_name_free(
        session, community_id=community.id, name=fields["name"], exclude_id=None
    )
    building = Building(org_id=org_id, community_id=community.id, community=community, **fields)
    session.add(building)
    session.flush()
    return building


def update_building(
    session: Session, *, org_id: int, building_id: int, changes: dict[str, Any]
) -> Building:
    """Rename a building or change its number of floors."""
    require(session, Permission.PROPERTY_ACT)
    building = get_building(session, org_id=org_id, building_id=building_id)
    if "name" in changes:
        _ensure_building_name_free(
            session,
            community_id=building.community_id,
            name=changes["name"],
            exclude_id=building.id,
        )
    apply_changes(building, changes)
    session.flush()
    return building


def delete_building(session: Session, *, org_id: int, building_id: int) -> None:
    """Delete an empty building (one with units or rooms is refused as in use)."""
    require(session, Permission.PROPERTY_ACT)
    session.delete(get_building(session, org_id=org_id, building_id=building_id))
    session.flush()


def list_units(
    session: Session, *, org_id: int, building_id: int | None, page: int, page_size: int
) -> Page[Unit]:
    """Units of the organisation, optionally of one building."""
    stmt = select(Unit).where(Unit.org_id == org_id)
    if building_id is not None:
        stmt = stmt.where(Unit.building_id == building_id)
    stmt = stmt.order_by(Unit.building_id, Unit.name, Unit.id)
    return paginate(session, stmt, page=page, page_size=page_size)


def get_unit(session: Session, *, org_id: int, unit_id: int) -> Unit:
    """One unit of the organisation."""
    return get_owned(session, Unit, unit_id, org_id=org_id, message="单元不存在")


def create_unit(session: Session, *, org_id: int, data: dict[str, Any]) -> Unit:
    """Add a unit to a building of the organisation; its name is unique in the building."""
    require(session, Permission.PROPERTY_ACT)
    fields = dict(data)
    building = _building_ref(session, org_id=org_id, building_id=fields.pop("building_id"))
    _ensure_unit_name_free(session, building_id=building.id, name=fields["name"], exclude_id=None)
    unit = Unit(org_id=org_id, building_id=building.id, **fields)
    session.add(unit)
    session.flush()
    return unit


def update_unit(session: Session, *, org_id: int, unit_id: int, changes: dict[str, Any]) -> Unit:
    """Rename a unit."""
    require(session, Permission.PROPERTY_ACT)
    unit = get_unit(session, org_id=org_id, unit_id=unit_id)
    if "name" in changes:
        _ensure_unit_name_free(
            session, building_id=unit.building_id, name=changes["name"], exclude_id=unit.id
        )
    apply_changes(unit, changes)
    session.flush()
    return unit


def delete_unit(session: Session, *, org_id: int, unit_id: int) -> None:
    """Delete a unit no room refers to (otherwise refused as in use)."""
    require(session, Permission.PROPERTY_ACT)
    session.delete(get_unit(session, org_id=org_id, unit_id=unit_id))
    session.flush()


def list_rooms(
    session: Session,
    *,
    org_id: int,
    community_id: int | None,
    building_id: int | None,
    unit_id: int | None,
    q: str | None,
    page: int,
    page_size: int,
    in_use_only: bool = False,
) -> Page[Room]:
    """Rooms of the organisation, filtered by place in the tree or by code; `in_use_only`
    leaves out rooms retired by a split or merge (no new order may name them)."""
    stmt = select(Room).where(Room.org_id == org_id)
    if in_use_only:
        stmt = stmt.where(Room.retired_on.is_(None))
    if community_id is not None:
        stmt = stmt.where(Room.community_id == community_id)
    if building_id is not None:
        stmt = stmt.where(Room.building_id == building_id)
    if unit_id is not None:
        stmt = stmt.where(Room.unit_id == unit_id)
    if q:
        stmt = stmt.where(Room.code.ilike(f"%{q}%"))
    stmt = stmt.order_by(Room.community_id, Room.building_id, Room.code, Room.id)
    return paginate(session, stmt, page=page, page_size=page_size)


def get_room(session: Session, *, org_id: int, room_id: int) -> Room:
    """One room of the organisation."""
    return get_owned(session, Room, room_id, org_id=org_id, message="房间不存在")


def create_room(session: Session, *, org_id: int, data: dict[str, Any]) -> Room:
    """Add a room to a building (and optionally a unit of it); its code is unique per community."""
    require(session, Permission.PROPERTY_ACT)
    fields = dict(data)
    building = _building_ref(session, org_id=org_id, building_id=fields.pop("building_id"))
    unit = _unit_ref(session, org_id=org_id, unit_id=fields.pop("unit_id", None), building=building)
    _ensure_room_code_free(
        session, community_id=building.community_id, code=fields["code"], exclude_id=None
    )
    room = Room(
        org_id=org_id,
        community_id=building.community_id,
        community=building.community,
        building_id=building.id,
        building=building,
        unit_id=unit.id if unit is not None else None,
        unit=unit,
        **fields,
    )
    session.add(room)
    session.flush()
    return room


def update_room(session: Session, *, org_id: int, room_id: int, changes: dict[str, Any]) -> Room:
    """Change a room; moving it to another building carries its community along."""
    require(session, Permission.PROPERTY_ACT)
    room = get_room(session, org_id=org_id, room_id=room_id)
    fields = dict(changes)
    building = room.building
    if "building_id" in fields:
        building = _building_ref(session, org_id=org_id, building_id=fields.pop("building_id"))
    unit_id = fields.pop("unit_id") if "unit_id" in fields else room.unit_id
    unit = _unit_ref(session, org_id=org_id, unit_id=unit_id, building=building)
    code = fields.get("code", room.code)
    if building.community_id != room.community_id or code != room.code:
        _ensure_room_code_free(
            session, community_id=building.community_id, code=code, exclude_id=room.id
        )
    room.building = building
    room.community = building.community
    room.unit = unit
    apply_changes(room, fields)
    session.flush()
    return room


def delete_room(session: Session, *, org_id: int, room_id: int) -> None:
    """Delete a room no customer or order refers to (otherwise refused as in use)."""
    require(session, Permission.PROPERTY_ACT)
    room = get_room(session, org_id=org_id, room_id=room_id)
    session.delete(room)
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="deleted",
        summary=f"删除房屋 {room.code}（#{room.id}）",
        target_type="room",
        target_id=room.id,
        data={"code": room.code, "community_id": room.community_id},
    )


def _community_ref(session: Session, *, org_id: int, community_id: int) -> Community:
    community = reference_owned(
        session,
        Community,
        community_id,
        org_id=org_id,
        field="community_id",
        message="小区不存在",
    )
    assert community is not None
    return community


def _building_ref(session: Session, *, org_id: int, building_id: int) -> Building:
    building = reference_owned(
        session, Building, building_id, org_id=org_id, field="building_id", message="楼栋不存在"
    )
    assert building is not None
    return building


def _unit_ref(
    session: Session, *, org_id: int, unit_id: int | None, building: Building
) -> Unit | None:
    """The unit a room is in: it must be a unit of the room's building."""
    unit = reference_owned(
        session, Unit, unit_id, org_id=org_id, field="unit_id", message="单元不存在"
    )
    if unit is not None and unit.building_id != building.id:
        raise ValidationFailed.field("unit_id", "单元不属于该楼栋")
    return unit


def _ensure_building_name_free(
    session: Session, *, community_id: int, name: str, exclude_id: int | None
) -> None:
    stmt = select(Building.id).where(Building.community_id == community_id, Building.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Building.id != exclude_id)
    ensure_absent(session, stmt, field="name", message="该小区已有同名楼栋")


def _ensure_unit_name_free(
    session: Session, *, building_id: int, name: str, exclude_id: int | None
) -> None:
    stmt = select(Unit.id).where(Unit.building_id == building_id, Unit.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Unit.id != exclude_id)
    ensure_absent(session, stmt, field="name", message="该楼栋已有同名单元")


def _ensure_room_code_free(
    session: Session, *, community_id: int, code: str, exclude_id: int | None
) -> None:
    stmt = select(Room.id).where(Room.community_id == community_id, Room.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Room.id != exclude_id)
    ensure_absent(session, stmt, field="code", message="该小区已有相同房号")
