"""The grab pool and a technician's own orders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, literal, or_, select, true
from sqlalchemy.orm import Session

from server.catalog.models import OrderType
from server.db.pagination import Page
from server.kernel.errors import NotFound
from server.orders.capacity import Technician, technician_from_row, technician_with_held_cte
from server.orders.eligibility import eligible_types
from server.orders.models import Order
from server.orders.rules.states import Status
from server.orders.summaries import SUMMARY_COLUMNS, summaries, summary, summary_page
from server.staff.models import Staff


@dataclass(frozen=True)
class Pool:
    page: Page[Any]
    held: int
    cap: int


# The pool in one statement: the technician (cap, binding, held count) as a CTE, the page as
# a LATERAL subquery ordered by the pool's index, and the total as a correlated count. A
# technician not found gives no row; an empty page gives one row with the page columns NULL.
_TECH, _TECH_COLUMNS = technician_with_held_cte("tech_")
# Status as a literal, not a parameter: a prepared statement's generic plan can then use the
# partial index on pending orders (`ix_orders_pool`) instead of re-planning every execution.
_POOL_WHERE = (
    Order.org_id == _TECH.c.org_id,
    Order.status == literal(Status.PENDING.value, literal_execute=True),
    eligible_types(_TECH.c.department_id, _TECH.c.post_id),
)
_POOL_TOTAL = (
    select(func.count().label("pool_total"))
    .select_from(Order)
    .join(OrderType, OrderType.id == Order.order_type_id)
    .where(*_POOL_WHERE)
    .lateral("pool")
)


def _pool_statement(order_by: Callable[[Any], tuple[Any, ...]]) -> Any:
    page = (
        summaries(select(*SUMMARY_COLUMNS).select_from(Order))
        .where(*_POOL_WHERE)
        .order_by(*order_by(Order))
        # Literals too: with LIMIT/OFFSET as parameters the generic plan's cost is estimated
        # for an unknown row count and PostgreSQL keeps re-planning (≈ 3 ms) every execution.
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
        .offset(bindparam("offset", type_=Integer, literal_execute=True))
        .lateral("page")
    )
    return (
        select(*_TECH_COLUMNS, _POOL_TOTAL.c.pool_total, page)
        .select_from(_TECH)
        .join(_POOL_TOTAL, true())
        .outerjoin(page, true())
        .order_by(*order_by(page.c))
    )


_POOL_SORTS = {
    "urgent": _pool_statement(lambda c: (c.priority.desc(), c.created_at.desc(), c.id.desc())),
    "newest": _pool_statement(lambda c: (c.created_at.desc(), c.id.desc())),
    # Booked visits soonest first; orders without an appointment after them, newest first.
    "appointment": _pool_statement(
        lambda c: (c.slot_start.asc().nulls_last(), c.created_at.desc(), c.id.desc())
    ),
}


def technician_pool(
    session: Session,
    *,
    org_id: int,
    staff_id: int,
    page: int,
    page_size: int,
    sort: str = "urgent",
) -> Pool | None:
    """Pending orders this technician may grab, most urgent (or newest) first, with what they
    hold and their cap; None when they are not staff of the organisation. One statement."""
    params = {
        "staff_id": staff_id,
        "org_id": org_id,
        "limit": page_size,
        "offset": (page - 1) * page_size,
    }
    rows = session.connection().execute(_POOL_SORTS[sort], params).all()
    if not rows:
        return None
    tech, held = technician_from_row(rows[0], prefix="tech_")
    items = [summary(r) for r in rows if r.id is not None]
    return Pool(page=Page(items, int(rows[0].pool_total), page, page_size), held=held, cap=tech.cap)


def technician_orders(
    session: Session,
    *,
    tech: Technician,
    statuses: list[str] | None,
    page: int,
    page_size: int,
) -> Page[Any]:
    """The orders a technician holds or held, newest activity first."""
    stmt = select(Order).where(Order.org_id == tech.org_id, Order.assignee_id == tech.staff_id)
    if statuses:
        stmt = stmt.where(Order.status.in_(statuses))
    return summary_page(
        session,
        stmt.order_by(Order.updated_at.desc(), Order.id.desc()),
        page=page,
        page_size=page_size,
    )


def technician_order(session: Session, *, tech: Technician, order_id: int) -> Order:
    """An order the technician holds, or one in their pool; anything else is not found."""
    order = staff_order(session, org_id=tech.org_id, staff_id=tech.staff_id, order_id=order_id)
    if order is None:
        raise NotFound("工单不存在")
    return order


def staff_order(session: Session, *, org_id: int, staff_id: int, order_id: int) -> Order | None:
    """`technician_order` for a staff id, the technician's binding read in the same statement;
    None when the order is not theirs to see (or they are not staff of the organisation)."""
    staff = (
        select(Staff.department_id, Staff.post_id)
        .where(Staff.id == staff_id, Staff.org_id == org_id)
        .subquery()
    )
    found: Order | None = session.scalar(
        select(Order)
        .join(OrderType, OrderType.id == Order.order_type_id)
        .join(staff, true())
        .where(
            Order.id == order_id,
            Order.org_id == org_id,
            or_(
                Order.assignee_id == staff_id,
                and_(
                    Order.status == Status.PENDING.value,
                    eligible_types(staff.c.department_id, staff.c.post_id),
                ),
            ),
        )
    )
    return found
