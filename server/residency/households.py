"""家庭成员: the household of a room's owner or tenant, and the primitives every residency
use case shares (the room's lock, the relations in force, ending one, the customer named).

A household is its head's `customer_rooms` row (owner / tenant) and its members' own rows
(relation 'resident', `household_id` → the head's row, `household_label` 配偶 / 子女 …). A
member is a person customer with their own contact, so their phone opens the room exactly as
long as their relation holds (`server.directory.tenancy`). Removing a member ends their
relation on a day; nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.db.scoping import find_owned, get_owned
from server.directory import customers as customer_service
from server.directory.models import Customer, CustomerRoom, Room
from server.kernel.clock import instant
from server.kernel.errors import Conflict, NotFound, ValidationFailed
from server.kernel.permissions import Permission
from server.residency.rules import HEAD_RELATIONS, MEMBER_RELATION, last_day_before, may_end_on
from server.roles.grants import require


def lock_room(session: Session, *, org_id: int, room_id: int, field: str | None = None) -> Room:
    """The room, locked for this transaction: changes to one room's relations are serial.

    `field` names the body field that referenced it (a 422 there); None: from the path (404).
    """
    room = find_owned(
        session, Room, room_id, org_id=org_id, for_update=True, populate_existing=True
    )
    if room is None:
        if field is None:
            raise NotFound("房间不存在")
        raise ValidationFailed.field(field, "房间不存在")
    return room


def ensure_in_use(room: Room, *, field: str) -> None:
    """A retired room (split or merged away) takes no new relation."""
    if room.retired_on is not None:
        raise ValidationFailed.field(
            field, f"房间 {room.code} 已于 {room.retired_on.isoformat()} 停用（拆分或合并）"
        )


def relations_on(session: Session, *, room_id: int, day: date) -> list[CustomerRoom]:
    """The room's relations holding on `day`, heads first then members, in their order."""
    return list(
        session.scalars(
            select(CustomerRoom)
            .where(
                CustomerRoom.room_id == room_id,
                CustomerRoom.start_date <= day,
                or_(CustomerRoom.end_date.is_(None), CustomerRoom.end_date >= day),
            )
            .order_by(CustomerRoom.household_id.is_not(None), CustomerRoom.id)
        )
    )


def relations_reaching(
    session: Session, *, room_id: int, day: date, relation: str
) -> list[CustomerRoom]:
    """The room's relations of a kind that hold on `day` or later (open or ending after it)."""
    return list(
        session.scalars(
            select(CustomerRoom)
            .where(
                CustomerRoom.room_id == room_id,
                CustomerRoom.relation == relation,
                or_(CustomerRoom.end_date.is_(None), CustomerRoom.end_date >= day),
            )
            .order_by(CustomerRoom.id)
        )
    )


def end_before(link: CustomerRoom, *, day: date, field: str) -> None:
    """End a relation the day before a change that takes effect on `day`."""
    if not may_end_on(link.start_date, day):
        raise ValidationFailed.field(
            field,
            f"客户 #{link.customer_id} 与该房间的关系从 {link.start_date.isoformat()} 开始，"
            f"日期须晚于此",
        )
    link.end_date = last_day_before(day)


def customer_named(
    session: Session,
    *,
    org_id: int,
    customer_id: int | None,
    new: Mapping[str, Any] | None,
    field: str,
) -> Customer:
    """The customer a form names: an existing one (by id) or a new one registered now."""
    if (customer_id is None) == (new is None):
        raise ValidationFailed.field(field, "请选择已有客户或填写新客户（二选一）")
    if customer_id is not None:
        customer = find_owned(session, Customer, customer_id, org_id=org_id)
        if customer is None:
            raise ValidationFailed.field(f"{field}_id", "客户不存在")
        return customer
    assert new is not None
    try:
        return customer_service.create_customer(session, org_id=org_id, data=dict(new))
    except (ValidationFailed, Conflict) as error:
        # The directory names its own fields; here they sit under `field`.
        errors = {f"{field}.{name}": texts for name, texts in (error.errors or {}).items()}
        raise type(error)(error.message, errors=errors or None) from None


def head_of(session: Session, *, org_id: int, household_id: int) -> CustomerRoom:
    """A household's head relation (an owner's or tenant's own row), else 404."""
    head = get_owned(session, CustomerRoom, household_id, org_id=org_id, message="住户不存在")
    if head.relation not in HEAD_RELATIONS or head.household_id is not None:
        raise NotFound("住户不存在")
    return head


def members_of(session: Session, *, household_id: int) -> list[CustomerRoom]:
    """Every member relation ever recorded for a household (ended ones too), in order."""
    return list(
        session.scalars(
            select(CustomerRoom)
            .where(CustomerRoom.household_id == household_id)
            .order_by(CustomerRoom.start_date, CustomerRoom.id)
        )
    )


def join_household(
    session: Session,
    *,
    head: CustomerRoom,
    customer: Customer,
    label: str,
    start_date: date,
    field: str,
) -> CustomerRoom:
    """The member's own relation to the head's room, within the head's period."""
    if start_date < head.start_date or (head.end_date is not None and start_date > head.end_date):
        raise ValidationFailed.field(field, "家庭成员的入住日期须在户主的关系有效期内")
    if customer.id == head.customer_id:
        raise ValidationFailed.field(field, "户主本人不能作为家庭成员")
    if customer.kind != "person":
        raise ValidationFailed.field(field, "家庭成员须为个人客户")
    for other in members_of(session, household_id=head.id):
        if other.customer_id == customer.id and (
            other.end_date is None or other.end_date >= start_date
        ):
            raise Conflict(
                "该客户已是这一户的家庭成员", errors={field: ["该客户已是这一户的家庭成员"]}
            )
    member = CustomerRoom(
        org_id=head.org_id,
        customer_id=customer.id,
        room_id=head.room_id,
        room=head.room,
        relation=MEMBER_RELATION,
        start_date=start_date,
        end_date=head.end_date,
        household_id=head.id,
        household_label=label,
    )
    session.add(member)
    session.flush()
    return member


def add_member(
    session: Session, *, org_id: int, household_id: int, data: Mapping[str, Any]
) -> CustomerRoom:
    """添加家庭成员: an existing person or a new one (name, phone) joins a household."""
    require(session, Permission.CUSTOMERS_ACT)
    head = head_of(session, org_id=org_id, household_id=household_id)
    lock_room(session, org_id=org_id, room_id=head.room_id)
    session.refresh(head)
    customer = customer_named(
        session,
        org_id=org_id,
        customer_id=data.get("customer_id"),
        new=_new_person(data.get("customer")),
        field="customer",
    )
    member = join_household(
        session,
        head=head,
        customer=customer,
        label=data["label"],
        start_date=data.get("start_date") or head.start_date,
        field="start_date",
    )
    _audit(
        session,
        member,
        f"房间 {head.room.code} 添加家庭成员 {customer.name}（{member.household_label}）",
    )
    return member


def update_member(
    session: Session, *, org_id: int, member_id: int, changes: Mapping[str, Any]
) -> CustomerRoom:
    """Change what a member is to the head (配偶 → 子女 …)."""
    require(session, Permission.CUSTOMERS_ACT)
    member = _member(session, org_id=org_id, member_id=member_id)
    if "label" in changes:
        member.household_label = changes["label"]
    session.flush()
    _audit(session, member, f"修改家庭成员 #{member.customer_id} 的关系为 {member.household_label}")
    return member


def end_member(session: Session, *, org_id: int, member_id: int, end_date: date) -> CustomerRoom:
    """迁出: the member's relation ends on `end_date` (their last day); kept as history.

    From the next day their phone no longer opens the room, nor the orders filed in it
    (what they filed themselves they still see).
    """
    require(session, Permission.CUSTOMERS_ACT)
    member = _member(session, org_id=org_id, member_id=member_id)
    lock_room(session, org_id=org_id, room_id=member.room_id)
    session.refresh(member)
    if member.end_date is not None and member.end_date <= end_date:
        raise Conflict(
            f"该成员的关系已于 {member.end_date.isoformat()} 结束",
            errors={"end_date": [f"该成员的关系已于 {member.end_date.isoformat()} 结束"]},
        )
    if end_date < member.start_date:
        raise ValidationFailed.field("end_date", "结束日期不能早于入住日期")
    member.end_date = end_date
    session.flush()
    _audit(session, member, f"家庭成员 #{member.customer_id} 于 {end_date.isoformat()} 迁出")
    return member


def end_households(session: Session, *, heads: list[CustomerRoom], day: date) -> None:
    """End the members of these heads' households still in force on `day` (the day before)."""
    for head in heads:
        for member in members_of(session, household_id=head.id):
            if member.end_date is None or member.end_date >= day:
                if member.start_date >= day:
                    raise ValidationFailed.field(
                        "date", "该户有成员在此日期或之后才入住，请先调整其入住日期"
                    )
                member.end_date = last_day_before(day)


def _member(session: Session, *, org_id: int, member_id: int) -> CustomerRoom:
    member = get_owned(session, CustomerRoom, member_id, org_id=org_id, message="家庭成员不存在")
    if member.household_id is None:
        raise NotFound("家庭成员不存在")
    return member


def _new_person(new: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if new is None:
        return None
    return {"kind": "person", **new}


def _audit(session: Session, member: CustomerRoom, summary: str) -> None:
    audit_log.record(
        session,
        org_id=member.org_id,
        at=instant(),
        kind="household_changed",
        summary=summary,
        target_type="customer_room",
        target_id=member.id,
        data={
            "room_id": member.room_id,
            "customer_id": member.customer_id,
            "household_id": member.household_id,
            "label": member.household_label,
            "start_date": member.start_date.isoformat(),
            "end_date": member.end_date.isoformat() if member.end_date else None,
        },
    )
