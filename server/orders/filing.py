"""Filing a repair: by the tenant on the mini-program, or by staff on a tenant's behalf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.booking.places import book_place
from server.catalog.models import OrderSubtype, OrderType
from server.charges.fees import attach_fee, fee_at_filing
from server.db.scoping import reference_owned
from server.directory.models import Room
from server.directory.tenancy import tenant_may_use_room
from server.kernel.clock import local_date
from server.kernel.errors import Forbidden, ValidationFailed
from server.kernel.roles import CONSOLE_ROLES
from server.orders.actors import Actor
from server.orders.models import PAYERS, Order, OrderNumberCounter
from server.orders.moves import record_event
from server.orders.rules.states import Action, next_status
from server.uploads.files import attachable_uploads

NUMBER_PREFIX = "BX"
COMPANY = "company"
NO_FEE = "none"
# Who may let the company pay for a repair that has a fee.
DESK_ROLES = frozenset(role.value for role in CONSOLE_ROLES)


@dataclass(frozen=True)
class NewOrder:
    subtype_id: int
    room_id: int
    description: str
    image_ids: tuple[str, ...] = ()
    contact_phone: str | None = None
    contact_name: str | None = None
    priority: str = "normal"
    payer: str = "tenant"
    spec_id: int | None = None  # the service spec (服务规格) of a pay-on-order subtype
    slot_start: datetime | None = None  # the booked visit slot (预约时段), aware


def next_order_number(session: Session, *, org_id: int, day: date) -> str:
    """BX20261122-0001: per organisation and local day, gap-free within committed filings."""
    last = session.scalar(
        insert(OrderNumberCounter)
        .values(org_id=org_id, day=day, last=1)
        .on_conflict_do_update(
            index_elements=["org_id", "day"], set_={"last": OrderNumberCounter.last + 1}
        )
        .returning(OrderNumberCounter.last)
    )
    return f"{NUMBER_PREFIX}{day:%Y%m%d}-{int(last or 0):04d}"


def file_order(
    session: Session, *, actor: Actor, new: NewOrder, now: datetime, today: date
) -> Order:
    """Validate and file a repair order; it lands in the pool (or awaits payment)."""
    reporter = session.get(User, actor.user_id)
    assert reporter is not None
    subtype = reference_owned(
        session,
        OrderSubtype,
        new.subtype_id,
        org_id=actor.org_id,
        field="subtype_id",
        message="报修类型不存在或已停用",
    )
    if not subtype.is_active:
        raise ValidationFailed.field("subtype_id", "报修类型不存在或已停用")
    order_type = session.get(OrderType, subtype.order_type_id)
    assert order_type is not None
    if not order_type.is_active:
        raise ValidationFailed.field("subtype_id", "报修类型不存在或已停用")
    check_payer(actor, new.payer, fee_mode=subtype.fee_mode)
    room = reference_owned(
        session, Room, new.room_id, org_id=actor.org_id, field="room_id", message="房间不存在"
    )
    if room.retired_on is not None and room.retired_on <= today:
        raise ValidationFailed.field(
            "room_id",
            f"房间 {room.code} 已于 {room.retired_on.isoformat()} 拆分或合并，请选择新房间",
        )
    if actor.role == "tenant" and not tenant_may_use_room(
        session, user=reporter, room_id=room.id, today=today
    ):
        raise ValidationFailed.field("room_id", "您不能为该房间报修")
    contact_phone = new.contact_phone or (reporter.phone if actor.role == "tenant" else None)
    if not contact_phone:
        raise ValidationFailed.field("contact_phone", "请填写联系电话")
    images = attachable_uploads(
        session, org_id=actor.org_id, user_id=actor.user_id, upload_ids=list(new.image_ids)
    )

    place = None
    if subtype.booking_enabled:
        if new.slot_start is None:
            raise ValidationFailed.field("slot_start", "该项目需预约上门时段，请选择时段")
        # The place is taken first: a full slot refuses the filing before anything is written.
        place = book_place(
            session,
            org_id=actor.org_id,
            subtype_id=subtype.id,
            community_id=room.community_id,
            start=new.slot_start,
            desk=actor.role in DESK_ROLES,
            now=now,
        )
    elif new.slot_start is not None:
        raise ValidationFailed.field("slot_start", "该项目无需预约时段")

    # A fee charged on order must be paid before the order reaches the pool, unless the
    # tenant's company pays (it is invoiced afterwards).
    fee = fee_at_filing(session, subtype=subtype, spec_id=new.spec_id)
    payable = fee.prepay_fen if fee is not None else 0
    pay_first = payable > 0 and new.payer == "tenant"
    action = Action.FILE_UNPAID if pay_first else Action.FILE
    status = next_status(None, action)
    order = Order(
        org_id=actor.org_id,
        number=next_order_number(session, org_id=actor.org_id, day=today),
        status=status.value,
        priority=new.priority,
        community_id=room.community_id,
        building_id=room.building_id,
        room_id=room.id,
        order_type_id=order_type.id,
        subtype_id=subtype.id,
        description=new.description,
        contact_name=new.contact_name or reporter.name,
        contact_phone=contact_phone,
        reporter_user_id=reporter.id,
        channel="tenant" if actor.role == "tenant" else "staff",
        payer=new.payer,
        due_at=now + timedelta(hours=order_type.sla_hours),
        # 公司代付: the tenant owes nothing, so nothing is payable by them (the prepay stays
        # on the fee record for the company's invoice).
        payable_fen=payable if pay_first else 0,
        payment_status="unpaid" if pay_first else "none",
        created_at=now,
        updated_at=now,
    )
    if place is not None:
        order.slot_start, order.slot_end = place.start, place.end
        order.slot_date = local_date(place.start)
    session.add(order)
    session.flush()
    if fee is not None:
        attach_fee(session, order=order, fee=fee)
    for upload in images:
        upload.order_id, upload.purpose = order.id, "report"
    data: dict[str, Any] = {"image_count": len(images)} if images else {}
    if new.payer == COMPANY:
        # Who let the company pay stays on the record (the timeline is append-only).
        data.update(payer=COMPANY, payer_decided_by=actor.user_id, payer_decided_by_role=actor.role)
    record_event(
        session,
        order=order,
        action=action,
        from_status=None,
        actor=actor,
        now=now,
        data=data or None,
    )
    session.flush()
    return order


def check_payer(actor: Actor, payer: str, *, fee_mode: str) -> None:
    """公司代付 on a subtype with a fee is a desk decision: it waives what the tenant would pay.

    A technician (or a tenant) asking for it is refused outright (403), not told to fix a
    field: the same body is fine from a dispatcher or an admin.
    """
    if payer not in PAYERS:
        raise ValidationFailed.field("payer", "付费方只能是 tenant 或 company")
    if payer == COMPANY and fee_mode != NO_FEE and actor.role not in DESK_ROLES:
        raise Forbidden("收费项目由公司代付须由调度员或管理员决定")
