"""Vehicles (车辆): plate, model, colour, owner customer, optional space; removal is history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.db.pagination import Page, paginate
from server.db.scoping import apply_changes, get_owned, reference_owned
from server.directory.models import Customer
from server.kernel.errors import Conflict, PlateTaken, ValidationFailed
from server.parking.models import ParkingSpace, Vehicle
from server.parking.rules import normalise_plate, plate_kind, plate_problem

_ACTIVE_PLATE_INDEX = "uq_vehicles_org_id_plate_active"


def checked_plate(text: str) -> tuple[str, str]:
    """(normalised plate, its kind), or a 422 on `plate` saying what is wrong."""
    plate = normalise_plate(text)
    problem = plate_problem(plate)
    kind = plate_kind(plate)
    if problem is not None or kind is None:
        raise ValidationFailed.field("plate", problem or "车牌号格式不正确")
    return plate, kind


def plate_fragment(text: str) -> str:
    """What a plate search compares: the text normalised as plates are stored (粤b·123 →
    粤B123), LIKE's wildcards dropped."""
    return normalise_plate(text).replace("\\", "").replace("%", "").replace("_", "")


def list_vehicles(
    session: Session,
    *,
    org_id: int,
    customer_id: int | None = None,
    space_id: int | None = None,
    community_id: int | None = None,
    q: str | None = None,
    include_removed: bool = False,
    page: int,
    page_size: int,
) -> Page[Vehicle]:
    """Vehicles of the organisation (active only unless asked), newest first."""
    stmt: Select[Any] = select(Vehicle).where(Vehicle.org_id == org_id)
    if not include_removed:
        stmt = stmt.where(Vehicle.removed_at.is_(None))
    if customer_id is not None:
        stmt = stmt.where(Vehicle.customer_id == customer_id)
    if space_id is not None:
        stmt = stmt.where(Vehicle.space_id == space_id)
    if community_id is not None:
        stmt = stmt.where(
            Vehicle.space_id.in_(
                select(ParkingSpace.id).where(ParkingSpace.community_id == community_id)
            )
        )
    if q:
        needle = plate_fragment(q)
        if needle:
            stmt = stmt.where(Vehicle.plate.contains(needle))
    return paginate(session, stmt.order_by(Vehicle.id.desc()), page=page, page_size=page_size)


def get_vehicle(session: Session, *, org_id: int, vehicle_id: int) -> Vehicle:
    return get_owned(session, Vehicle, vehicle_id, org_id=org_id, message="车辆不存在")


def vehicles_of_customer(session: Session, *, org_id: int, customer_id: int) -> list[Vehicle]:
    """A customer's active vehicles."""
    return list(
        session.scalars(
            select(Vehicle)
            .where(
                Vehicle.org_id == org_id,
                Vehicle.customer_id == customer_id,
                Vehicle.removed_at.is_(None),
            )
            .order_by(Vehicle.id)
        )
    )


def register_vehicle(session: Session, *, org_id: int, data: dict[str, Any]) -> Vehicle:
    """Register a vehicle; its plate is unique among the organisation's active vehicles."""
    fields = dict(data)
    plate, kind = checked_plate(fields.pop("plate"))
    customer = _customer_ref(session, org_id=org_id, customer_id=fields.pop("customer_id"))
    space = _space_ref(session, org_id=org_id, space_id=fields.pop("space_id", None))
    vehicle = Vehicle(
        org_id=org_id,
        plate=plate,
        plate_kind=kind,
        customer_id=customer.id,
        customer=customer,
        space_id=space.id if space else None,
        space=space,
        **fields,
    )
    session.add(vehicle)
    _flush_plate(session, plate)
    return vehicle


def update_vehicle(
    session: Session, *, org_id: int, vehicle_id: int, changes: dict[str, Any]
) -> Vehicle:
    """Change a vehicle's plate, model, colour, owner, space or remark."""
    vehicle = get_vehicle(session, org_id=org_id, vehicle_id=vehicle_id)
    if vehicle.removed_at is not None:
        raise Conflict("该车辆已注销，不能修改")
    fields = dict(changes)
    if "plate" in fields:
        vehicle.plate, vehicle.plate_kind = checked_plate(fields.pop("plate"))
    if "customer_id" in fields:
        vehicle.customer = _customer_ref(
            session, org_id=org_id, customer_id=fields.pop("customer_id")
        )
    if "space_id" in fields:
        vehicle.space = _space_ref(session, org_id=org_id, space_id=fields.pop("space_id"))
    apply_changes(vehicle, fields)
    _flush_plate(session, vehicle.plate)
    return vehicle


def remove_vehicle(
    session: Session, *, org_id: int, vehicle_id: int, on: date, reason: str, now: datetime
) -> Vehicle:
    """注销: the vehicle leaves (kept as history; its plate may be registered again)."""
    vehicle = get_vehicle(session, org_id=org_id, vehicle_id=vehicle_id)
    if vehicle.removed_at is not None:
        raise Conflict("该车辆已注销")
    vehicle.removed_at, vehicle.removed_on, vehicle.remove_reason = now, on, reason
    session.flush()
    return vehicle


def _flush_plate(session: Session, plate: str) -> None:
    """Flush; a second active vehicle with the plate (also one written at the same moment by
    another desk: the partial unique index decides) is a 409 `plate_taken`."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if _ACTIVE_PLATE_INDEX not in str(exc.orig):
            raise
        message = f"车牌号 {plate} 已登记"
        raise PlateTaken(message, errors={"plate": [message]}) from None


def _customer_ref(session: Session, *, org_id: int, customer_id: int) -> Customer:
    return reference_owned(
        session, Customer, customer_id, org_id=org_id, field="customer_id", message="客户不存在"
    )


def _space_ref(session: Session, *, org_id: int, space_id: int | None) -> ParkingSpace | None:
    return reference_owned(
        session, ParkingSpace, space_id, org_id=org_id, field="space_id", message="车位不存在"
    )
