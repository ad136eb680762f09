"""客服中心报表: move-ins and transfers per day or month, occupancy per community, customers
without a phone, rooms without an owner.

Occupancy and "without an owner" are read on the report's last day (today, if it ends later):
a room is occupied when an owner or a tenant relation holds that day; retired rooms (split or
merged away) are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from server.directory.models import Community, Contact, Customer, CustomerRoom, Room
from server.kernel.permissions import Permission
from server.residency.models import MoveIn, RoomTransfer
from server.residency.rules import bucket_of
from server.roles.grants import require

FIRST_PAGE = 20

Table = tuple[tuple[str, ...], list[list[Any]]]


@dataclass(frozen=True)
class Report:
    date_from: date
    date_to: date
    on: date
    bucket: str
    periods: list[dict[str, Any]]
    occupancy: list[dict[str, Any]]
    customers_without_phone: int
    customers_without_phone_items: list[Customer]
    rooms_without_owner: int
    rooms_without_owner_items: list[Room]


def _holds(day: date) -> Any:
    return and_(
        CustomerRoom.start_date <= day,
        or_(CustomerRoom.end_date.is_(None), CustomerRoom.end_date >= day),
    )


def customer_service(
    session: Session,
    *,
    org_id: int,
    date_from: date,
    date_to: date,
    community_id: int | None,
    bucket: str,
    today: date,
) -> Report:
    """The report over [date_from, date_to] (local dates, both included)."""
    require(session, Permission.REPORTS_VIEW)
    on = min(date_to, today)
    live_room = and_(
        Room.org_id == org_id,
        or_(Room.retired_on.is_(None), Room.retired_on > on),
        *([Room.community_id == community_id] if community_id is not None else []),
    )
    counts: dict[date, dict[str, int]] = {}
    for name, model in (("move_ins", MoveIn), ("transfers", RoomTransfer)):
        stmt = (
            select(model.effective_on, func.count())
            .join(Room, Room.id == model.room_id)
            .where(
                model.org_id == org_id,
                model.effective_on >= date_from,
                model.effective_on <= date_to,
                *([Room.community_id == community_id] if community_id is not None else []),
            )
            .group_by(model.effective_on)
        )
        for day, count in session.execute(stmt):
            slot = counts.setdefault(bucket_of(day, bucket), {"move_ins": 0, "transfers": 0})
            slot[name] += count
    periods = [{"period": day, **counts[day]} for day in sorted(counts)]

    occupied = exists().where(
        CustomerRoom.room_id == Room.id,
        CustomerRoom.relation.in_(("owner", "tenant")),
        _holds(on),
    )
    occupancy = []
    for cid, name, rooms, taken in session.execute(
        select(
            Community.id,
            Community.name,
            func.count(Room.id),
            func.count(Room.id).filter(occupied),
        )
        .join(Room, Room.community_id == Community.id)
        .where(live_room)
        .group_by(Community.id, Community.name)
        .order_by(Community.id)
    ):
        occupancy.append(
            {
                "community_id": cid,
                "community_name": name,
                "rooms": rooms,
                "occupied": taken,
                "rate": round(taken / rooms, 4) if rooms else None,
            }
        )

    owned = exists().where(
        CustomerRoom.room_id == Room.id, CustomerRoom.relation == "owner", _holds(on)
    )
    no_owner = select(Room).where(live_room, not_(owned))
    no_owner_count = session.scalar(select(func.count()).select_from(no_owner.subquery())) or 0
    no_owner_items = list(
        session.scalars(no_owner.order_by(Room.community_id, Room.code).limit(FIRST_PAGE))
    )

    phoneless = select(Customer).where(
        Customer.org_id == org_id,
        Customer.phone.is_(None),
        not_(exists().where(Contact.customer_id == Customer.id)),
    )
    if community_id is not None:
        phoneless = phoneless.where(
            exists()
            .where(CustomerRoom.customer_id == Customer.id)
            .where(
                CustomerRoom.room_id.in_(select(Room.id).where(Room.community_id == community_id))
            )
        )
    phoneless_count = session.scalar(select(func.count()).select_from(phoneless.subquery())) or 0
    phoneless_items = list(session.scalars(phoneless.order_by(Customer.id).limit(FIRST_PAGE)))
    return Report(
        date_from=date_from,
        date_to=date_to,
        on=on,
        bucket=bucket,
        periods=periods,
        occupancy=occupancy,
        customers_without_phone=phoneless_count,
        customers_without_phone_items=phoneless_items,
        rooms_without_owner=no_owner_count,
        rooms_without_owner_items=no_owner_items,
    )


def report_table(report: Report) -> Table:
    """The report as one sheet: the periods, then occupancy, then the two counts."""
    label = "日期" if report.bucket == "day" else "月份"
    rows: list[list[Any]] = []
    for period in report.periods:
        shown = period["period"].isoformat()
        if report.bucket == "month":
            shown = shown[:7]
        rows.append([shown, period["move_ins"], period["transfers"], "", "", ""])
    for item in report.occupancy:
        rate = "" if item["rate"] is None else f"{item['rate'] * 100:.1f}%"
        rows.append(
            ["入住率：" + item["community_name"], "", "", item["rooms"], item["occupied"], rate]
        )
    rows.append(["无手机号的客户", report.customers_without_phone, "", "", "", ""])
    rows.append(["无业主的房间", report.rooms_without_owner, "", "", "", ""])
    return (label, "入伙数", "过户数", "房间数", "已入住", "入住率"), rows
