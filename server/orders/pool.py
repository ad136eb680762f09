"""The grab pool and a technician's own orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from server.catalog.models import OrderType
from server.db.pagination import Page, paginate
from server.kernel.errors import NotFound
from server.orders.capacity import Technician
from server.orders.eligibility import ELIGIBLE_BY_PARAMS, eligible_types
from server.orders.models import Order
from server.orders.rules.states import Status
from server.orders.summaries import SUMMARY_COLUMNS, summaries, summary


@dataclass(frozen=True)
class Pool:
    page: Page[Any]
    held: int
    cap: int


_POOL_WHERE = (
    Order.org_id == bindparam("org_id"),
    Order.status == Status.PENDING.value,
    ELIGIBLE_BY_PARAMS,
)
_POOL_PAGE = (
    summaries(select(*SUMMARY_COLUMNS, func.count().over().label("pool_total")).select_from(Order))
    .where(*_POOL_WHERE)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_POOL_SORTS = {
    "urgent": _POOL_PAGE.order_by(Order.priority.desc(), Order.created_at.desc(), Order.id.desc()),
    "newest": _POOL_PAGE.order_by(Order.created_at.desc(), Order.id.desc()),
    # Booked visits soonest first; orders without an appointment after them, newest first.
    "appointment": _POOL_PAGE.order_by(
        Order.slot_start.asc().nulls_last(), Order.created_at.desc(), Order.id.desc()
    ),
}
_POOL_COUNT = (
    select(func.count())
    .select_from(Order)
    .join(OrderType, OrderType.id == Order.order_type_id)
    .where(*_POOL_WHERE)
)


def grab_pool(
    session: Session,
    *,
    tech: Technician,
    held: int,
    page: int,
    page_size: int,
    sort: str = "urgent",
) -> Pool:
    """Pending orders this technician may grab, most urgent (or newest) first, with held/cap."""
    params = {"org_id": tech.org_id, "department_id": tech.department_id, "post_id": tech.post_id}
    rows = session.execute(
        _POOL_SORTS[sort], {**params, "limit": page_size, "offset": (page - 1) * page_size}
    ).all()
    # Past the last page the window count has no row to ride on: count separately.
    total = int(rows[0].pool_total) if rows else int(session.scalar(_POOL_COUNT, params) or 0)
    return Pool(
        page=Page([summary(r) for r in rows], total, page, page_size), held=held, cap=tech.cap
    )


def technician_orders(
    session: Session,
    *,
    tech: Technician,
    statuses: list[str] | None,
    page: int,
    page_size: int,
) -> Page[Order]:
    """The orders a technician holds or held, newest activity first."""
    stmt = select(Order).where(Order.org_id == tech.org_id, Order.assignee_id == tech.staff_id)
    if statuses:
        stmt = stmt.where(Order.status.in_(statuses))
    return paginate(
        session,
        stmt.order_by(Order.updated_at.desc(), Order.id.desc()),
        page=page,
        page_size=page_size,
    )


def technician_order(session: Session, *, tech: Technician, order_id: int) -> Order:
    """An order the technician holds, or one in their pool; anything else is not found."""
    order = session.scalar(
        select(Order)
        .join(OrderType, OrderType.id == Order.order_type_id)
        .where(
            Order.id == order_id,
            Order.org_id == tech.org_id,
            or_(
                Order.assignee_id == tech.staff_id,
                and_(
                    Order.status == Status.PENDING.value,
                    eligible_types(tech.department_id, tech.post_id),
                ),
            ),
        )
    )
    if order is None:
        raise NotFound("工单不存在")
    return order
