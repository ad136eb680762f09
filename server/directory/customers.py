"""Customers as the desk registers them: people and companies, their contacts and rooms."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, selectinload

from server.audit import log as audit_log
from server.db.pagination import Page, paginate
from server.db.scoping import apply_changes, ensure_absent, get_owned, reference_owned
from server.directory.models import Contact, Customer, CustomerRoom, Room
from server.directory.rules import pinyin_keys
from server.kernel.clock import instant
from server.kernel.errors import Conflict, ValidationFailed
from server.kernel.permissions import Permission
from server.roles.grants import require

_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"
_CREDIT_CODE = re.compile(r"^[0-9A-Z]{18}$")


def name_pinyin(name: str) -> tuple[str, str]:
    """(initials, full pinyin) kept beside a customer's name (张三 → zs, zhangsan). The model
    sets them whenever its name is set; writers past the ORM (the batch import) call this."""
    return pinyin_keys(name)


def id_number_problem(kind: str, id_number: str) -> str | None:
    """Why `id_number` is not a valid ID for a customer of `kind` (None when it is)."""
    if kind == "company":
        if not _CREDIT_CODE.match(id_number):
            return "统一社会信用代码应为 18 位大写字母或数字"
        return None
    if not _RESIDENT_ID.match(id_number):
        return "身份证号应为 18 位，前 17 位为数字，末位为数字或 X"
    try:
        date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    # GB 11643-1999: ISO 7064 MOD 11-2 check character over the first 17 digits.
    total = sum(int(d) * w for d, w in zip(id_number[:17], _RESIDENT_ID_WEIGHTS, strict=True))
    if _RESIDENT_ID_CHECK[total % 11] != id_number[17]:
        return "身份证号校验位不正确"
    return None


def list_customers(
    session: Session, *, org_id: int, kind: str | None, q: str | None, page: int, page_size: int
) -> Page[Customer]:
    """Customers of the organisation, filtered by kind or by name or phone."""
    stmt = (
        select(Customer).where(Customer.org_id == org_id).options(selectinload(Customer.contacts))
    )
    if kind is not None:
        stmt = stmt.where(Customer.kind == kind)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                Customer.name.ilike(like),
                Customer.phone.like(like),
                exists().where(Contact.customer_id == Customer.id, Contact.phone.like(like)),
            )
        )
    return paginate(session, stmt.order_by(Customer.id), page=page, page_size=page_size)


def get_customer(session: Session, *, org_id: int, customer_id: int) -> Customer:
    """One customer of the organisation."""
    return get_owned(session, Customer, customer_id, org_id=org_id, message="客户不存在")


def create_customer(session: Session, *, org_id: int, data: dict[str, Any]) -> Customer:
    """Register a customer, with their contacts if given.

    A person registered with a phone and no contacts becomes their own contact, so that they
    can log in and file for their rooms without a second step at the desk.
    """
    require(session, Permission.CUSTOMERS_ACT)
    fields = dict(data)
    contacts = fields.pop("contacts", None) or []
    if not contacts and fields["kind"] == "person" and fields.get("phone"):
        contacts = [{"name": fields["name"], "phone": fields["phone"], "relation": "self"}]
    _check_id_number(fields["kind"], fields.get("id_number"))
    seen: set[str] = set()
    for index, contact in enumerate(contacts):
        if contact["phone"] in seen:
            message = "联系人手机号重复"
            raise Conflict(message, errors={f"contacts.{index}.phone": [message]})
        seen.add(contact["phone"])
    customer = Customer(org_id=org_id, **fields)
    customer.contacts = [Contact(org_id=org_id, **contact) for contact in contacts]
    session.add(customer)
    session.flush()
    return customer


def update_customer(
    session: Session, *, org_id: int, customer_id: int, changes: dict[str, Any]
) -> Customer:
    """Change a customer's kind, name, phone, ID number or remark."""
    require(session, Permission.CUSTOMERS_ACT)
    customer = get_customer(session, org_id=org_id, customer_id=customer_id)
    if "kind" in changes or "id_number" in changes:
        _check_id_number(
            changes.get("kind", customer.kind), changes.get("id_number", customer.id_number)
        )
    apply_changes(customer, changes)
    session.flush()
    return customer


def delete_customer(session: Session, *, org_id: int, customer_id: int) -> None:
    """Delete a customer with their contacts and room relations."""
    require(session, Permission.CUSTOMERS_ACT)
    customer = get_customer(session, org_id=org_id, customer_id=customer_id)
    session.delete(customer)
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="deleted",
        summary=f"删除客户 {customer.name}（#{customer.id}）及其联系人、房屋关系",
        target_type="customer",
        target_id=customer.id,
        data={"name": customer.name, "kind": customer.kind, "phone": customer.phone},
    )


def get_contact(session: Session, *, org_id: int, contact_id: int) -> Contact:
    """One contact of a customer of the organisation."""
    return get_owned(session, Contact, contact_id, org_id=org_id, message="联系人不存在")


def add_contact(
    session: Session, *, org_id: int, customer_id: int, data: dict[str, Any]
) -> Contact:
    """Add a contact to a customer; a phone appears once per customer."""
    require(session, Permission.CUSTOMERS_ACT)
    customer = get_customer(session, org_id=org_id, customer_id=customer_id)
    _ensure_contact_phone_free(
        session, customer_id=customer.id, phone=data["phone"], exclude_id=None
    )
    contact = Contact(org_id=org_id, customer_id=customer.id, **data)
    session.add(contact)
    session.flush()
    return contact


def update_contact(
    session: Session, *, org_id: int, contact_id: int, changes: dict[str, Any]
) -> Contact:
    """Change a contact's name, phone or relation."""
    require(session, Permission.CUSTOMERS_ACT)
    contact = get_contact(session, org_id=org_id, contact_id=contact_id)
    if "phone" in changes:
        _ensure_contact_phone_free(
            session, customer_id=contact.customer_id, phone=changes["phone"], exclude_id=contact.id
        )
    apply_changes(contact, changes)
    session.flush()
    return contact


def delete_contact(session: Session, *, org_id: int, contact_id: int) -> None:
    """Remove a contact (their phone no longer opens the customer's rooms)."""
    require(session, Permission.CUSTOMERS_ACT)
    contact = get_contact(session, org_id=org_id, contact_id=contact_id)
    session.delete(contact)
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="deleted",
        summary=f"删除客户 #{contact.customer_id} 的联系人 {contact.name}",
        target_type="contact",
        target_id=contact.id,
        data={"customer_id": contact.customer_id, "name": contact.name, "phone": contact.phone},
    )


def get_customer_room(session: Session, *, org_id: int, customer_room_id: int) -> CustomerRoom:
    """One customer–room relation of the organisation."""
    return get_owned(
        session, CustomerRoom, customer_room_id, org_id=org_id, message="房屋关系不存在"
    )


def add_customer_room(
    session: Session, *, org_id: int, customer_id: int, data: dict[str, Any]
) -> CustomerRoom:
    """Record that a customer owns, rents or lives in a room from a date."""
    require(session, Permission.CUSTOMERS_ACT)
    customer = get_customer(session, org_id=org_id, customer_id=customer_id)
    fields = dict(data)
    room = _room_ref(session, org_id=org_id, room_id=fields.pop("room_id"))
    _check_period(fields["start_date"], fields.get("end_date"))
    _ensure_relation_free(
        session,
        customer_id=customer.id,
        room_id=room.id,
        relation=fields["relation"],
        start_date=fields["start_date"],
        exclude_id=None,
    )
    link = CustomerRoom(
        org_id=org_id, customer_id=customer.id, room_id=room.id, room=room, **fields
    )
    session.add(link)
    session.flush()
    return link


def update_customer_room(
    session: Session, *, org_id: int, customer_room_id: int, changes: dict[str, Any]
) -> CustomerRoom:
    """Change a relation's room, kind or period (ending it sets `end_date`)."""
    require(session, Permission.CUSTOMERS_ACT)
    link = get_customer_room(session, org_id=org_id, customer_room_id=customer_room_id)
    fields = dict(changes)
    room = link.room
    if "room_id" in fields:
        room = _room_ref(session, org_id=org_id, room_id=fields.pop("room_id"))
    start_date = fields.get("start_date", link.start_date)
    _check_period(start_date, fields.get("end_date", link.end_date))
    relation = fields.get("relation", link.relation)
    _ensure_relation_free(
        session,
        customer_id=link.customer_id,
        room_id=room.id,
        relation=relation,
        start_date=start_date,
        exclude_id=link.id,
    )
    link.room = room
    apply_changes(link, fields)
    session.flush()
    return link


def delete_customer_room(session: Session, *, org_id: int, customer_room_id: int) -> None:
    """Remove a relation recorded by mistake (to end a real one, set its `end_date`)."""
    require(session, Permission.CUSTOMERS_ACT)
    link = get_customer_room(session, org_id=org_id, customer_room_id=customer_room_id)
    session.delete(link)
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=instant(),
        kind="deleted",
        summary=f"删除客户 #{link.customer_id} 与房屋 #{link.room_id} 的关系",
        target_type="customer_room",
        target_id=link.id,
        data={"customer_id": link.customer_id, "room_id": link.room_id},
    )


def _check_id_number(kind: str, id_number: str | None) -> None:
    if id_number is None:
        return
    problem = id_number_problem(kind, id_number)
    if problem is not None:
        raise ValidationFailed.field("id_number", problem)


def _check_period(start_date: date, end_date: date | None) -> None:
    if end_date is not None and end_date < start_date:
        raise ValidationFailed.field("end_date", "结束日期不能早于开始日期")


def _room_ref(session: Session, *, org_id: int, room_id: int) -> Room:
    room = reference_owned(
        session, Room, room_id, org_id=org_id, field="room_id", message="房间不存在"
    )
    assert room is not None
    return room


def _ensure_contact_phone_free(
    session: Session, *, customer_id: int, phone: str, exclude_id: int | None
) -> None:
    stmt = select(Contact.id).where(Contact.customer_id == customer_id, Contact.phone == phone)
    if exclude_id is not None:
        stmt = stmt.where(Contact.id != exclude_id)
    ensure_absent(session, stmt, field="phone", message="该客户已有此手机号的联系人")


def _ensure_relation_free(
    session: Session,
    *,
    customer_id: int,
    room_id: int,
    relation: str,
    start_date: date,
    exclude_id: int | None,
) -> None:
    stmt = select(CustomerRoom.id).where(
        CustomerRoom.customer_id == customer_id,
        CustomerRoom.room_id == room_id,
        CustomerRoom.relation == relation,
        CustomerRoom.start_date == start_date,
    )
    if exclude_id is not None:
        stmt = stmt.where(CustomerRoom.id != exclude_id)
    ensure_absent(session, stmt, field="room_id", message="该客户已有相同的房屋关系")
