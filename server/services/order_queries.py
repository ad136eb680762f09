"""Reading orders: the grab pool, each role's lists, and the detail with its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session

from server.domain.errors import NotFound
from server.domain.order_states import FINISHED, OPEN, Status
from server.models.catalog import OrderType
from server.models.order import Order, OrderEvent, OrderMessage
from server.models.organisation import Organisation
from server.models.staff import Staff
from server.models.upload import Upload
from server.models.user import User
from server.services.capacity import held_count
from server.services.pagination import Page, paginate
from server.services.profile import grab_cap_of
from server.services.tenancy import rooms_for_tenant

_FINISHED = [s.value for s in FINISHED]
_OPEN = [s.value for s in OPEN]


@dataclass(frozen=True)
class Pool:
    page: Page[Order]
    held: int
    cap: int


def _eligible_types(staff: Staff) -> Any:
    """SQL form of domain.eligibility: the order's type binding matches the technician."""
    return and_(
        or_(OrderType.department_id.is_(None), OrderType.department_id == staff.department_id),
        or_(OrderType.post_id.is_(None), OrderType.post_id == staff.post_id),
    )


def grab_pool(
    session: Session, *, staff: Staff, page: int, page_size: int, sort: str = "urgent"
) -> Pool:
    """Pending orders this technician may grab, most urgent (or newest) first, with held/cap."""
    stmt = (
        select(Order)
        .join(OrderType, OrderType.id == Order.order_type_id)
        .where(
            Order.org_id == staff.org_id,
            Order.status == Status.PENDING.value,
            _eligible_types(staff),
        )
    )
    if sort == "urgent":
        stmt = stmt.order_by(Order.priority.desc(), Order.created_at.desc(), Order.id.desc())
    else:
        stmt = stmt.order_by(Order.created_at.desc(), Order.id.desc())
    organisation = session.get(Organisation, staff.org_id)
    assert organisation is not None
    return Pool(
        page=paginate(session, stmt, page=page, page_size=page_size),
        held=held_count(session, staff_id=staff.id),
        cap=grab_cap_of(staff, organisation),
    )


def technician_orders(
    session: Session, *, staff: Staff, statuses: list[str] | None, page: int, page_size: int
) -> Page[Order]:
    """The orders a technician holds or held, newest activity first."""
    stmt = select(Order).where(Order.org_id == staff.org_id, Order.assignee_id == staff.id)
    if statuses:
        stmt = stmt.where(Order.status.in_(statuses))
    return paginate(
        session,
        stmt.order_by(Order.updated_at.desc(), Order.id.desc()),
        page=page,
        page_size=page_size,
    )


def technician_order(session: Session, *, staff: Staff, order_id: int) -> Order:
    """An order the technician holds, or one in their pool; anything else is not found."""
    order = session.scalar(
        select(Order)
        .join(OrderType, OrderType.id == Order.order_type_id)
        .where(
            Order.id == order_id,
            Order.org_id == staff.org_id,
            or_(
                Order.assignee_id == staff.id,
                and_(Order.status == Status.PENDING.value, _eligible_types(staff)),
            ),
        )
    )
    if order is None:
        raise NotFound("工单不存在")
    return order


def _tenant_visibility(session: Session, user: User, today: date) -> Any:
    room_ids = [r.room.id for r in rooms_for_tenant(session, user=user, today=today)]
    return and_(
        Order.org_id == user.org_id,
        or_(
            Order.reporter_user_id == user.id, Order.room_id.in_(room_ids) if room_ids else false()
        ),
    )


def tenant_orders(
    session: Session,
    *,
    user: User,
    box: str,
    statuses: list[str] | None,
    today: date,
    page: int,
    page_size: int,
) -> Page[Order]:
    """Orders of my rooms (and those I filed); `todo` = waiting for my payment or rating."""
    stmt: Select[Order] = select(Order).where(_tenant_visibility(session, user, today))
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
    return paginate(
        session,
        stmt.order_by(Order.created_at.desc(), Order.id.desc()),
        page=page,
        page_size=page_size,
    )


def tenant_order(session: Session, *, user: User, order_id: int, today: date) -> Order:
    """One order the tenant may see."""
    order = session.scalar(
        select(Order).where(Order.id == order_id, _tenant_visibility(session, user, today))
    )
    if order is None:
        raise NotFound("工单不存在")
    return order


def desk_order(session: Session, *, org_id: int, order_id: int) -> Order:
    """Any order of the organisation, for the console."""
    order = session.get(Order, order_id)
    if order is None or order.org_id != org_id:
        raise NotFound("工单不存在")
    return order


def is_overdue(order: Order, now: datetime) -> bool:
    """Past its promised time and still open (督办)."""
    return order.status in _OPEN and order.due_at < now


@dataclass
class OrderDetail:
    """An order with its history, conversation and photos; reads through to the order."""

    order: Order
    timeline: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    images: list[Upload]
    completion_images: list[Upload]
    charges: list[dict[str, Any]]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.order, name)


def order_detail(session: Session, *, order: Order) -> OrderDetail:
    """The order with its timeline, conversation and photos, in time order."""
    events = list(
        session.scalars(
            select(OrderEvent)
            .where(OrderEvent.order_id == order.id)
            .order_by(OrderEvent.created_at, OrderEvent.id)
        )
    )
    messages = list(
        session.scalars(
            select(OrderMessage)
            .where(OrderMessage.order_id == order.id)
            .order_by(OrderMessage.created_at, OrderMessage.id)
        )
    )
    uploads = list(
        session.scalars(
            select(Upload).where(Upload.order_id == order.id).order_by(Upload.created_at)
        )
    )
    message_images: dict[int, list[Upload]] = {}
    if messages:
        for upload in session.scalars(
            select(Upload)
            .where(Upload.message_id.in_([m.id for m in messages]))
            .order_by(Upload.created_at)
        ):
            assert upload.message_id is not None
            message_images.setdefault(upload.message_id, []).append(upload)
    actor_ids = {e.actor_user_id for e in events if e.actor_user_id} | {
        m.author_user_id for m in messages
    }
    names: dict[int, str] = {}
    if actor_ids:
        for user_id, name in session.execute(
            select(User.id, User.name).where(User.id.in_(actor_ids))
        ):
            names[user_id] = name
    return OrderDetail(
        order=order,
        timeline=[
            {"event": e, "actor_name": names.get(e.actor_user_id or 0, "系统")} for e in events
        ],
        messages=[{"message": m, "images": message_images.get(m.id, [])} for m in messages],
        images=[u for u in uploads if u.purpose == "report"],
        completion_images=[u for u in uploads if u.purpose == "completion"],
        charges=[],
    )


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
    if f.created_from is not None:
        start = datetime.combine(f.created_from, datetime.min.time(), tzinfo=tz)
        stmt = stmt.where(Order.created_at >= start)
    if f.created_to is not None:
        end = datetime.combine(f.created_to, datetime.min.time(), tzinfo=tz)
        stmt = stmt.where(Order.created_at < end + timedelta(days=1))
    if f.overdue is not None:
        overdue = and_(Order.status.in_(_OPEN), Order.due_at < now)
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
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def desk_orders(
    session: Session,
    *,
    org_id: int,
    filters: DeskFilters,
    now: datetime,
    tz: Any,
    page: int,
    page_size: int,
) -> Page[Order]:
    """One page of the console's order list."""
    stmt = desk_orders_query(org_id=org_id, filters=filters, now=now, tz=tz)
    return paginate(session, stmt, page=page, page_size=page_size)
