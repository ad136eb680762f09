"""Each role's order lists: the tenant's (by tenancy period), and the console's with its filters.

Which orders a tenant may see and act on is decided here only: `tenant_visibility`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.db.pagination import Page
from server.db.scoping import get_owned
from server.directory.tenancy import tenancy_periods
from server.kernel.clock import LOCAL_TZ, local_date
from server.kernel.errors import NotFound
from server.kernel.roles import Role
from server.orders.actors import Actor
from server.orders.models import Order
from server.orders.overdue import overdue_clause
from server.orders.rules.states import Status
from server.orders.summaries import summary_page

# The console counts this many matching orders exactly; past it, the total is estimated.
DESK_COUNT_LIMIT = 10_000


def tenant_visibility(session: Session, *, user: User, today: date) -> Any:
    """SQL on `orders`: the orders this tenant may see and act on (the one spelling of the rule).

    - the orders they filed, always (even after their relation to the room ended);
    - the orders of a room they are related to today (through any contact of a customer with
      their phone: household members share them), filed within that relation's period: from
      its start day to its end day, local dates (Asia/Shanghai), both included.
    An ended relation keeps only what the person filed; a new occupant does not see what was
    filed in the room before their relation began.

    The periods are read first so that the clause is plain comparisons on `orders.room_id`
    and `orders.created_at`, which the indexes serve.
    """
    by_period: dict[tuple[date, date | None], list[int]] = {}
    for period in tenancy_periods(session, user=user, today=today):
        by_period.setdefault((period.start_date, period.end_date), []).append(period.room_id)
    shared = []
    for (start, end), room_ids in by_period.items():
        filed_within = [Order.created_at >= _local_midnight(start)]
        # Ending on the last day there is (9999-12-31) leaves no next day: no upper bound.
        if end is not None and end < date.max:
            filed_within.append(Order.created_at < _local_midnight(end + timedelta(days=1)))
        shared.append(and_(Order.room_id.in_(room_ids), *filed_within))
    return and_(Order.org_id == user.org_id, or_(Order.reporter_user_id == user.id, *shared))


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def tenant_orders(
    session: Session,
    *,
    user: User,
    box: str,
    statuses: list[str] | None,
    today: date,
    page: int,
    page_size: int,
) -> Page[Any]:
    """Orders of my rooms (and those I filed); `todo` = waiting for my payment or rating."""
    stmt: Select[Order] = select(Order).where(tenant_visibility(session, user=user, today=today))
    if box == "todo":
        stmt = stmt.where(
            or_(
                Order.status == Status.AWAITING_PAYMENT.value,
                and_(Order.status == Status.COMPLETED.value, Order.rated_at.is_(None)),
                and_(
                    Order.payment_status.in_(["unpaid", "partially_paid"]),
                    Order.status.in_([Status.COMPLETED.value, Status.CLOSED.value]),
                ),
            )
        )
    if statuses:
        stmt = stmt.where(Order.status.in_(statuses))
    return summary_page(
        session,
        stmt.order_by(Order.created_at.desc(), Order.id.desc()),
        page=page,
        page_size=page_size,
    )


def tenant_order(session: Session, *, user: User, order_id: int, today: date) -> Order:
    """One order the tenant may see."""
    order = session.scalar(
        select(Order).where(
            Order.id == order_id, tenant_visibility(session, user=user, today=today)
        )
    )
    if order is None:
        raise NotFound("工单不存在")
    return order


def require_tenant_access(session: Session, *, actor: Actor, order_id: int, now: datetime) -> None:
    """When a tenant acts on an order, the order must be one they may see (else 404).

    Every use case a tenant can act through calls this, so the rule holds whoever calls
    them (a view, a job, a new endpoint). Staff and the system are not concerned.
    """
    if actor.role != Role.TENANT.value:
        return
    user = get_owned(session, User, actor.user_id, org_id=actor.org_id, message="工单不存在")
    tenant_order(session, user=user, order_id=order_id, today=local_date(now))


def desk_order(session: Session, *, org_id: int, order_id: int) -> Order:
    """Any order of the organisation, for the console."""
    return get_owned(session, Order, order_id, org_id=org_id, message="工单不存在")


@dataclass(frozen=True)
class DeskFilters:
    statuses: list[str] | None = None
    order_type_id: int | None = None
    subtype_id: int | None = None
    community_id: int | None = None
    building_id: int | None = None
    room_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool | None = None
    created_from: date | None = None  # local dates, inclusive
    created_to: date | None = None
    overdue: bool | None = None
    follow_up: bool | None = None
    priority: str | None = None
    q: str | None = None  # order number, contact phone or name
    # 订单记录: the records' own filters.
    number: str | None = None  # part of the order number
    content: str | None = None  # part of the description (报修内容)
    handled_from: date | None = None  # handed out (assigned or grabbed): local dates, inclusive
    handled_to: date | None = None
    completed_from: date | None = None  # completed (办结): local dates, inclusive
    completed_to: date | None = None
    result: str | None = None  # part of the technician's result (处理结果)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> DeskFilters:
        """The filters of a parsed order-list query (`DeskOrderQueryArgsSchema`): every
        audience's order board reads them the same way (`status` is the list of statuses)."""
        names = [f.name for f in fields(cls) if f.name != "statuses"]
        return cls(statuses=args.get("status"), **{name: args.get(name) for name in names})


def desk_orders_query(
    *, org_id: int, filters: DeskFilters, now: datetime, tz: Any
) -> Select[Order]:
    """The console's order list as one query (paged for the screen, streamed for export)."""
    stmt = select(Order).where(Order.org_id == org_id)
    f = filters
    if f.statuses:
        stmt = stmt.where(Order.status.in_(f.statuses))
    for column, value in (
        (Order.order_type_id, f.order_type_id),
        (Order.subtype_id, f.subtype_id),
        (Order.community_id, f.community_id),
        (Order.building_id, f.building_id),
        (Order.room_id, f.room_id),
        (Order.assignee_id, f.assignee_id),
        (Order.priority, f.priority),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.unassigned is not None:
        stmt = stmt.where(
            Order.assignee_id.is_(None) if f.unassigned else Order.assignee_id.is_not(None)
        )
    for stamp, start_day, end_day in (
        (Order.created_at, f.created_from, f.created_to),
        (Order.assigned_at, f.handled_from, f.handled_to),
        (Order.completed_at, f.completed_from, f.completed_to),
    ):
        if start_day is not None:
            start = datetime.combine(start_day, datetime.min.time(), tzinfo=tz)
            stmt = stmt.where(stamp >= start)
        # The last day there is (9999-12-31) has no next day to stop before: no upper bound.
        if end_day is not None and end_day < date.max:
            end = datetime.combine(end_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
            stmt = stmt.where(stamp < end)
    if f.overdue is not None:
        overdue = overdue_clause(now)
        stmt = stmt.where(overdue if f.overdue else ~overdue)
    if f.follow_up is not None:
        stmt = stmt.where(Order.follow_up_required.is_(f.follow_up))
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(
            or_(
                Order.number.ilike(like),
                Order.contact_phone.like(like),
                Order.contact_name.ilike(like),
            )
        )
    for text_column, part in (
        (Order.number, f.number),
        (Order.description, f.content),
        (Order.result, f.result),
    ):
        if part:
            stmt = stmt.where(text_column.ilike(f"%{_escape_like(part)}%", escape="\\"))
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def _escape_like(text: str) -> str:
    """`text` matched literally inside LIKE (its % and _ are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def desk_orders(
    session: Session,
    *,
    org_id: int,
    filters: DeskFilters,
    now: datetime,
    tz: Any,
    page: int,
    page_size: int,
) -> Page[Any]:
    """One page of the console's order list; beyond `DESK_COUNT_LIMIT` matches the total is
    the planner's estimate (`total_exact` false), so the list costs the same at any size."""
    stmt = desk_orders_query(org_id=org_id, filters=filters, now=now, tz=tz)
    return summary_page(session, stmt, page=page, page_size=page_size, count_limit=DESK_COUNT_LIMIT)
