"""Parking spaces (车位) and who holds them (产权 / 租用) over time.

A space's relations never overlap: every write of a relation locks the space row first
(`SELECT … FOR UPDATE`), so two desk users assigning one space at once queue on it and the
second sees the first's relation and is refused (`SpaceOccupied`). Relations are never
deleted: ending one sets its end date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from server.db.pagination import Page, paginate
from server.db.scoping import apply_changes, ensure_absent, get_owned, reference_owned
from server.directory.models import Community, Customer
from server.kernel.errors import Conflict, SpaceOccupied, ValidationFailed
from server.parking.models import ParkingSpace, SpaceHolding, Vehicle
from server.parking.rules import (
    HOLDING_KIND_LABELS,
    RENTED,
    SPACE_DISABLED,
    Period,
    period_problem,
    reminder_due,
)


@dataclass(frozen=True)
class SpaceView:
    """A space with the relation that covers `today` (None: free) and its active vehicles."""

    space: ParkingSpace
    current: SpaceHolding | None
    holdings: list[SpaceHolding]
    vehicles: list[Vehicle]
    # The current rental is within its reminder days (its contract ends soon).
    expiring: bool = False


def covers(today: date) -> Any:
    """SQL: the holding's period includes `today`."""
    return and_(
        SpaceHolding.start_date <= today,
        or_(SpaceHolding.end_date.is_(None), SpaceHolding.end_date >= today),
    )


def list_spaces(
    session: Session,
    *,
    org_id: int,
    today: date,
    community_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    occupied: bool | None = None,
    customer_id: int | None = None,
    q: str | None = None,
    page: int,
    page_size: int,
) -> Page[SpaceView]:
    """Spaces of the organisation with their current holder, by community then number."""
    stmt: Select[Any] = select(ParkingSpace).where(ParkingSpace.org_id == org_id)
    if community_id is not None:
        stmt = stmt.where(ParkingSpace.community_id == community_id)
    if kind is not None:
        stmt = stmt.where(ParkingSpace.kind == kind)
    if status is not None:
        stmt = stmt.where(ParkingSpace.status == status)
    held_now = exists().where(SpaceHolding.space_id == ParkingSpace.id, covers(today))
    if occupied is True:
        stmt = stmt.where(held_now)
    elif occupied is False:
        stmt = stmt.where(~held_now)
    if customer_id is not None:
        stmt = stmt.where(
            exists().where(
                SpaceHolding.space_id == ParkingSpace.id,
                SpaceHolding.customer_id == customer_id,
                covers(today),
            )
        )
    if q:
        like = f"%{_escape_like(q.strip())}%"
        stmt = stmt.where(
            or_(
                ParkingSpace.number.ilike(like, escape="\\"),
                ParkingSpace.area.ilike(like, escape="\\"),
                ParkingSpace.location.ilike(like, escape="\\"),
            )
        )
    found = paginate(
        session,
        stmt.order_by(ParkingSpace.community_id, ParkingSpace.number, ParkingSpace.id),
        page=page,
        page_size=page_size,
    )
    ids = [space.id for space in found.items]
    current: dict[int, SpaceHolding] = {}
    if ids:
        for holding in session.scalars(
            select(SpaceHolding)
            .where(SpaceHolding.space_id.in_(ids), covers(today))
            .order_by(SpaceHolding.start_date)
        ):
            current[holding.space_id] = holding
    vehicles = _vehicles_of(session, ids)
    return Page(
        [
            SpaceView(
                space,
                current.get(space.id),
                [],
                vehicles.get(space.id, []),
                _expiring(current.get(space.id), today),
            )
            for space in found.items
        ],
        found.total,
        found.page,
        found.page_size,
    )


def get_space(session: Session, *, org_id: int, space_id: int) -> ParkingSpace:
    return get_owned(session, ParkingSpace, space_id, org_id=org_id, message="车位不存在")


def space_view(session: Session, *, org_id: int, space_id: int, today: date) -> SpaceView:
    """One space with its whole history of relations (newest first) and its vehicles."""
    space = get_space(session, org_id=org_id, space_id=space_id)
    holdings = list(
        session.scalars(
            select(SpaceHolding)
            .where(SpaceHolding.space_id == space.id)
            .order_by(SpaceHolding.start_date.desc(), SpaceHolding.id.desc())
        )
    )
    current = next(
        (h for h in holdings if Period(h.start_date, h.end_date).overlaps(Period(today, today))),
        None,
    )
    return SpaceView(
        space,
        current,
        holdings,
        _vehicles_of(session, [space.id]).get(space.id, []),
        _expiring(current, today),
    )


def find_space(
    session: Session, *, org_id: int, number: str, community_id: int | None
) -> list[ParkingSpace]:
    """The organisation's spaces with exactly this number (in one community when given)."""
    stmt = select(ParkingSpace).where(
        ParkingSpace.org_id == org_id, ParkingSpace.number == number.strip().upper()
    )
    if community_id is not None:
        stmt = stmt.where(ParkingSpace.community_id == community_id)
    return list(session.scalars(stmt.order_by(ParkingSpace.id).limit(10)))


def create_space(session: Session, *, org_id: int, data: dict[str, Any]) -> ParkingSpace:
    """Register a space; its number is unique in its community."""
    fields = dict(data)
    community = reference_owned(
        session,
        Community,
        fields.pop("community_id"),
        org_id=org_id,
        field="community_id",
        message="小区不存在",
    )
    _ensure_number_free(session, community_id=community.id, number=fields["number"], exclude=None)
    space = ParkingSpace(org_id=org_id, community_id=community.id, community=community, **fields)
    session.add(space)
    session.flush()
    return space


def update_space(
    session: Session, *, org_id: int, space_id: int, changes: dict[str, Any]
) -> ParkingSpace:
    """Change a space's number, area, kind, location, status or remark (not its community)."""
    space = get_space(session, org_id=org_id, space_id=space_id)
    if "number" in changes and changes["number"] != space.number:
        _ensure_number_free(
            session, community_id=space.community_id, number=changes["number"], exclude=space.id
        )
    apply_changes(space, changes)
    session.flush()
    return space


def get_holding(session: Session, *, org_id: int, holding_id: int) -> SpaceHolding:
    return get_owned(session, SpaceHolding, holding_id, org_id=org_id, message="车位关系不存在")


def assign(
    session: Session, *, org_id: int, space_id: int, data: dict[str, Any], now: datetime
) -> SpaceHolding:
    """Record that a customer owns or rents a space from `start_date` (to `end_date`).

    Refused when the space is disabled, or when the period meets another relation of the
    space (`SpaceOccupied`, 409): the space row is locked first, so of two desk users
    assigning it at once one wins and the other is told who holds it.
    """
    space = get_owned(
        session, ParkingSpace, space_id, org_id=org_id, message="车位不存在", for_update=True
    )
    if space.status == SPACE_DISABLED:
        raise Conflict("该车位已停用，不能分配", errors={"space_id": ["该车位已停用"]})
    fields = dict(data)
    customer = reference_owned(
        session,
        Customer,
        fields.pop("customer_id"),
        org_id=org_id,
        field="customer_id",
        message="客户不存在",
    )
    if fields["kind"] != RENTED:
        fields["remind_days"] = 0
    _check_period(fields["kind"], fields["start_date"], fields.get("end_date"))
    _ensure_free(
        session,
        space_id=space.id,
        period=Period(fields["start_date"], fields.get("end_date")),
        exclude=None,
    )
    holding = SpaceHolding(
        org_id=org_id,
        space_id=space.id,
        space=space,
        customer_id=customer.id,
        customer=customer,
        **fields,
    )
    session.add(holding)
    session.flush()
    return holding


def change_holding(
    session: Session, *, org_id: int, holding_id: int, changes: dict[str, Any]
) -> SpaceHolding:
    """Renew or correct a relation: its end date, reminder days, contract number or remark.

    A new contract end date is a new contract: its expiry reminder will be sent again.
    """
    holding = _locked_holding(session, org_id=org_id, holding_id=holding_id)
    if holding.ended_at is not None:
        raise Conflict("该车位关系已结束，不能修改")
    end_date = changes.get("end_date", holding.end_date)
    _check_period(holding.kind, holding.start_date, end_date)
    if "end_date" in changes:
        _ensure_free(
            session,
            space_id=holding.space_id,
            period=Period(holding.start_date, end_date),
            exclude=holding.id,
        )
        if changes["end_date"] != holding.end_date:
            holding.reminded_at = None
    if "remind_days" in changes and changes["remind_days"] != holding.remind_days:
        holding.reminded_at = None
    if holding.kind != RENTED:
        changes = {**changes, "remind_days": 0}
    apply_changes(holding, changes)
    session.flush()
    return holding


def end_holding(
    session: Session,
    *,
    org_id: int,
    holding_id: int,
    end_date: date,
    reason: str,
    now: datetime,
) -> SpaceHolding:
    """End a relation on `end_date` (kept as history; never before it started, never after
    the end it already has). The space is free from the next day."""
    holding = _locked_holding(session, org_id=org_id, holding_id=holding_id)
    if holding.ended_at is not None:
        raise Conflict("该车位关系已结束")
    if end_date < holding.start_date:
        raise ValidationFailed.field("end_date", "结束日期不能早于开始日期")
    if holding.end_date is not None and end_date > holding.end_date:
        raise ValidationFailed.field(
            "end_date", "结束日期不能晚于原结束日期（续租请修改合同结束日期）"
        )
    holding.end_date = end_date
    holding.ended_at = now
    holding.end_reason = reason
    session.flush()
    return holding


def holdings_of_customer(session: Session, *, org_id: int, customer_id: int) -> list[SpaceHolding]:
    """Every space relation of a customer (newest first)."""
    return list(
        session.scalars(
            select(SpaceHolding)
            .where(SpaceHolding.org_id == org_id, SpaceHolding.customer_id == customer_id)
            .order_by(SpaceHolding.start_date.desc(), SpaceHolding.id.desc())
        )
    )


def _locked_holding(session: Session, *, org_id: int, holding_id: int) -> SpaceHolding:
    holding = get_holding(session, org_id=org_id, holding_id=holding_id)
    # The space first (the order every writer of its relations takes), then read afresh.
    session.execute(
        select(ParkingSpace.id).where(ParkingSpace.id == holding.space_id).with_for_update()
    )
    session.refresh(holding)
    return holding


def _check_period(kind: str, start: date, end: date | None) -> None:
    problem = period_problem(kind, start, end)
    if problem is not None:
        raise ValidationFailed.field(*problem)


def _ensure_free(session: Session, *, space_id: int, period: Period, exclude: int | None) -> None:
    stmt = select(SpaceHolding).where(
        SpaceHolding.space_id == space_id,
        or_(SpaceHolding.end_date.is_(None), SpaceHolding.end_date >= period.start),
    )
    if period.end is not None:
        stmt = stmt.where(SpaceHolding.start_date <= period.end)
    if exclude is not None:
        stmt = stmt.where(SpaceHolding.id != exclude)
    other = session.scalars(stmt.order_by(SpaceHolding.start_date).limit(1)).first()
    if other is None:
        return
    until = other.end_date.isoformat() if other.end_date is not None else "长期"
    message = (
        f"该车位在所选期间已有{HOLDING_KIND_LABELS[other.kind]}关系："
        f"{other.customer.name}（{other.start_date.isoformat()} 至 {until}）"
    )
    raise SpaceOccupied(message, errors={"start_date": [message]})


def _ensure_number_free(
    session: Session, *, community_id: int, number: str, exclude: int | None
) -> None:
    stmt = select(ParkingSpace.id).where(
        ParkingSpace.community_id == community_id, ParkingSpace.number == number
    )
    if exclude is not None:
        stmt = stmt.where(ParkingSpace.id != exclude)
    ensure_absent(session, stmt, field="number", message="该小区已有此编号的车位")


def _vehicles_of(session: Session, space_ids: list[int]) -> dict[int, list[Vehicle]]:
    found: dict[int, list[Vehicle]] = {}
    if not space_ids:
        return found
    for vehicle in session.scalars(
        select(Vehicle)
        .where(Vehicle.space_id.in_(space_ids), Vehicle.removed_at.is_(None))
        .order_by(Vehicle.id)
    ):
        assert vehicle.space_id is not None
        found.setdefault(vehicle.space_id, []).append(vehicle)
    return found


def _expiring(holding: SpaceHolding | None, today: date) -> bool:
    if holding is None:
        return False
    return reminder_due(
        kind=holding.kind,
        end_date=holding.end_date,
        remind_days=holding.remind_days,
        today=today,
        ended=holding.ended_at is not None,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
