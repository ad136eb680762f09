"""An order in its list form, read as plain columns in one statement.

The grab pool and the grab answer are the hottest reads of the product, and ORM loading of the
order's whole graph (room → community/building/unit, type → department/post, assignee → user)
costs more than the SQL itself. Statements are built once; values arrive as bind parameters.
Rows are read by their labels, never by position, so adding a column shifts nothing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.catalog.models import OrderSubtype, OrderType
from server.db.pagination import Page, count_up_to
from server.db.session import core
from server.directory.models import Building, Community, Room, Unit
from server.kernel.errors import NotFound
from server.orders.models import Order
from server.roles.grants import community_scope
from server.staff.models import Staff

SUMMARY_COLUMNS = (
    Order.id,
    Order.number,
    Order.status,
    Order.priority,
    Order.description,
    Order.contact_name,
    Order.contact_phone,
    Order.channel,
    Order.payer,
    Order.payable_fen,
    Order.payment_status,
    Order.rating_score,
    Order.follow_up_required,
    Order.reopen_count,
    Order.due_at,
    Order.slot_start,
    Order.slot_end,
    Order.created_at,
    Order.updated_at,
    Order.assignee_id,
    Order.order_type_id,
    OrderType.name.label("type_name"),
    Order.subtype_id,
    OrderSubtype.name.label("subtype_name"),
    Order.room_id,
    Room.code.label("room_code"),
    Room.floor.label("room_floor"),
    Room.community_id,
    Community.name.label("community_name"),
    Room.building_id,
    Building.name.label("building_name"),
    Room.unit_id,
    Unit.name.label("unit_name"),
    User.name.label("assignee_name"),
    User.phone.label("assignee_phone"),
)


def summaries(stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """Join what the list form shows onto a statement over `orders`."""
    return (
        stmt.join(OrderType, OrderType.id == Order.order_type_id)
        .join(OrderSubtype, OrderSubtype.id == Order.subtype_id)
        .join(Room, Room.id == Order.room_id)
        .join(Community, Community.id == Room.community_id)
        .join(Building, Building.id == Room.building_id)
        .outerjoin(Unit, Unit.id == Room.unit_id)
        .outerjoin(Staff, Staff.id == Order.assignee_id)
        .outerjoin(User, User.id == Staff.user_id)
    )


_SUMMARY_BY_ID = summaries(select(*SUMMARY_COLUMNS).select_from(Order)).where(
    Order.id == bindparam("order_id"), Order.org_id == bindparam("org_id")
)


def summary(row: Any) -> SimpleNamespace:
    """The list form of one row of `SUMMARY_COLUMNS`, read by label."""
    m = row._mapping
    ns = SimpleNamespace
    return ns(
        id=m["id"],
        number=m["number"],
        status=m["status"],
        priority=m["priority"],
        description=m["description"],
        contact_name=m["contact_name"],
        contact_phone=m["contact_phone"],
        channel=m["channel"],
        payer=m["payer"],
        payable_fen=m["payable_fen"],
        payment_status=m["payment_status"],
        rating_score=m["rating_score"],
        follow_up_required=m["follow_up_required"],
        reopen_count=m["reopen_count"],
        due_at=m["due_at"],
        slot_start=m["slot_start"],
        slot_end=m["slot_end"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        order_type=ns(id=m["order_type_id"], name=m["type_name"]),
        subtype=ns(id=m["subtype_id"], name=m["subtype_name"]),
        room=ns(
            id=m["room_id"],
            code=m["room_code"],
            floor=m["room_floor"],
            community_id=m["community_id"],
            community=ns(name=m["community_name"]),
            building_id=m["building_id"],
            building=ns(name=m["building_name"]),
            unit_id=m["unit_id"],
            unit=ns(name=m["unit_name"]) if m["unit_id"] is not None else None,
        ),
        assignee=None
        if m["assignee_id"] is None
        else ns(id=m["assignee_id"], user=ns(name=m["assignee_name"], phone=m["assignee_phone"])),
    )


def summary_page(
    session: Session,
    stmt: Select[Any],
    *,
    page: int,
    page_size: int,
    count_limit: int | None = None,
) -> Page[SimpleNamespace]:
    """One page of `stmt` (a select over `orders` with its filters and order) in list form.

    Two statements: the count over `orders` alone (no joins), and the page with its joins.
    Neither loads ORM objects. With `count_limit`, rows beyond it are estimated, not counted
    (`db.pagination.count_up_to`).
    """
    connection = core(session)
    scope = community_scope(session)
    if scope is not None:
        stmt = stmt.where(Order.community_id.in_(sorted(scope)))
    exact = True
    if count_limit is None:
        total = connection.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    else:
        total, exact = count_up_to(connection, stmt, limit=count_limit)
    rows = connection.execute(
        summaries(stmt.with_only_columns(*SUMMARY_COLUMNS).select_from(Order))
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page([summary(r) for r in rows], int(total), page, page_size, total_exact=exact)


def order_summary(session: Session, *, org_id: int, order_id: int) -> SimpleNamespace:
    """One order in its list form."""
    row = core(session).execute(_SUMMARY_BY_ID, {"order_id": order_id, "org_id": org_id}).first()
    if row is None:
        raise NotFound("工单不存在")
    return summary(row)
