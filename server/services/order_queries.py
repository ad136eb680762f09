"""Reading orders: the grab pool, each role's lists, and the detail with its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import BigInteger, Select, and_, bindparam, false, func, or_, select
from sqlalchemy.orm import Session

from server.domain.errors import NotFound
from server.domain.order_states import FINISHED, OPEN, Status
from server.models.catalog import OrderSubtype, OrderType
from server.models.order import Order, OrderEvent, OrderMessage
from server.models.property import Building, Community, Room, Unit
from server.models.staff import Staff
from server.models.upload import Upload
from server.models.user import User
from server.services.capacity import Technician
from server.services.pagination import Page, paginate
from server.services.tenancy import rooms_for_tenant

_FINISHED = [s.value for s in FINISHED]
_OPEN = [s.value for s in OPEN]


@dataclass(frozen=True)
class Pool:
    page: Page[Any]
    held: int
    cap: int


def _eligible_types(tech: Technician) -> Any:
    """SQL form of domain.eligibility: the order's type binding matches the technician."""
    return and_(
        or_(OrderType.department_id.is_(None), OrderType.department_id == tech.department_id),
        or_(OrderType.post_id.is_(None), OrderType.post_id == tech.post_id),
    )


# The same rule with the technician's binding as parameters, for the prebuilt pool statements.
_ELIGIBLE_BY_PARAMS = and_(
    or_(
        OrderType.department_id.is_(None),
        OrderType.department_id == bindparam("department_id", type_=BigInteger),
    ),
    or_(OrderType.post_id.is_(None), OrderType.post_id == bindparam("post_id", type_=BigInteger)),
)

# The list view of an order, read as plain columns in one statement: the grab pool and the grab
# answer are the hottest reads of the product, and ORM loading of the order's whole graph
# (room → community/building/unit, type → department/post, assignee → user) costs more than
# the SQL itself. Statements are built once; values arrive as bind parameters.
_SUMMARY_COLUMNS = (
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
    Order.created_at,
    Order.updated_at,
    Order.assignee_id,
    Order.order_type_id,
    OrderType.name,
    Order.subtype_id,
    OrderSubtype.name,
    Order.room_id,
    Room.code,
    Room.floor,
    Room.community_id,
    Community.name,
    Room.building_id,
    Building.name,
    Room.unit_id,
    Unit.name,
    User.name,
    User.phone,
)


def _summaries(stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
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


_SUMMARY_BY_ID = _summaries(select(*_SUMMARY_COLUMNS).select_from(Order)).where(
    Order.id == bindparam("order_id"), Order.org_id == bindparam("org_id")
)
_POOL_WHERE = (
    Order.org_id == bindparam("org_id"),
    Order.status == Status.PENDING.value,
    _ELIGIBLE_BY_PARAMS,
)
_POOL_PAGE = (
    _summaries(select(*_SUMMARY_COLUMNS, func.count().over()).select_from(Order))
    .where(*_POOL_WHERE)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_POOL_SORTS = {
    "urgent": _POOL_PAGE.order_by(Order.priority.desc(), Order.created_at.desc(), Order.id.desc()),
    "newest": _POOL_PAGE.order_by(Order.created_at.desc(), Order.id.desc()),
}
_POOL_COUNT = (
    select(func.count())
    .select_from(Order)
    .join(OrderType, OrderType.id == Order.order_type_id)
    .where(*_POOL_WHERE)
)


def _summary(row: Any) -> SimpleNamespace:
    (
        oid,
        number,
        status,
        priority,
        description,
        contact_name,
        contact_phone,
        channel,
        payer,
        payable_fen,
        payment_status,
        rating_score,
        follow_up,
        reopen_count,
        due_at,
        created_at,
        updated_at,
        assignee_id,
        type_id,
        type_name,
        subtype_id,
        subtype_name,
        room_id,
        room_code,
        floor,
        community_id,
        community_name,
        building_id,
        building_name,
        unit_id,
        unit_name,
        assignee_name,
        assignee_phone,
    ) = row[:33]
    ns = SimpleNamespace
    return ns(
        id=oid,
        number=number,
        status=status,
        priority=priority,
        description=description,
        contact_name=contact_name,
        contact_phone=contact_phone,
        channel=channel,
        payer=payer,
        payable_fen=payable_fen,
        payment_status=payment_status,
        rating_score=rating_score,
        follow_up_required=follow_up,
        reopen_count=reopen_count,
        due_at=due_at,
        created_at=created_at,
        updated_at=updated_at,
        order_type=ns(id=type_id, name=type_name),
        subtype=ns(id=subtype_id, name=subtype_name),
        room=ns(
            id=room_id,
            code=room_code,
            floor=floor,
            community_id=community_id,
            community=ns(name=community_name),
            building_id=building_id,
            building=ns(name=building_name),
            unit_id=unit_id,
            unit=ns(name=unit_name) if unit_id is not None else None,
        ),
        assignee=None
        if assignee_id is None
        else ns(id=assignee_id, user=ns(name=assignee_name, phone=assignee_phone)),
    )


def order_summary(session: Session, *, org_id: int, order_id: int) -> SimpleNamespace:
    """One order in its list form."""
    row = session.execute(_SUMMARY_BY_ID, {"order_id": order_id, "org_id": org_id}).first()
    if row is None:
        raise NotFound("工单不存在")
    return _summary(row)


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
    total = int(rows[0][33]) if rows else int(session.scalar(_POOL_COUNT, params) or 0)
    return Pool(
        page=Page([_summary(r) for r in rows], total, page, page_size), held=held, cap=tech.cap
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
                and_(Order.status == Status.PENDING.value, _eligible_types(tech)),
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
