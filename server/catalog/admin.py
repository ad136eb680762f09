"""Order types (一级) and subtypes (二级) as the console manages them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from server.catalog.models import OrderSubtype, OrderType
from server.catalog.rules import NO_FEE, fee_setting_problem, prepay_setting_problem
from server.db.pagination import Page, paginate
from server.db.scoping import apply_changes, ensure_absent, get_owned, reference_owned
from server.kernel.errors import InUse, ValidationFailed
from server.staff.members import StaffView, technicians_reached_by
from server.staff.models import Department, Post


def list_order_types(
    session: Session,
    *,
    org_id: int,
    q: str | None,
    is_active: bool | None,
    page: int,
    page_size: int,
) -> Page[OrderType]:
    """Order types in display order, each with all its subtypes (active or not)."""
    stmt = (
        select(OrderType)
        .where(OrderType.org_id == org_id)
        .options(selectinload(OrderType.subtypes))
    )
    if q:
        stmt = stmt.where(OrderType.name.ilike(f"%{q}%"))
    if is_active is not None:
        stmt = stmt.where(OrderType.is_active.is_(is_active))
    return paginate(
        session, stmt.order_by(OrderType.sort_order, OrderType.id), page=page, page_size=page_size
    )


def get_order_type(session: Session, *, org_id: int, order_type_id: int) -> OrderType:
    """One order type of the organisation."""
    return get_owned(session, OrderType, order_type_id, org_id=org_id, message="工单类型不存在")


def create_order_type(session: Session, *, org_id: int, data: dict[str, Any]) -> OrderType:
    """Add an order type bound to a department and/or post of the organisation."""
    _check_binding(session, org_id=org_id, data=data)
    _ensure_type_name_free(session, org_id=org_id, name=data["name"], exclude_id=None)
    order_type = OrderType(org_id=org_id, **data)
    session.add(order_type)
    session.flush()
    return order_type


def update_order_type(
    session: Session, *, org_id: int, order_type_id: int, changes: dict[str, Any]
) -> OrderType:
    """Change an order type; a null department or post removes that binding."""
    order_type = get_order_type(session, org_id=org_id, order_type_id=order_type_id)
    _check_binding(session, org_id=org_id, data=changes)
    if "name" in changes:
        _ensure_type_name_free(
            session, org_id=org_id, name=changes["name"], exclude_id=order_type.id
        )
    apply_changes(order_type, changes)
    session.flush()
    # The relationships still hold the old department/post until reloaded.
    session.expire(order_type, ["department", "post"])
    return order_type


def delete_order_type(session: Session, *, org_id: int, order_type_id: int) -> None:
    """Delete an order type that has no subtypes left."""
    order_type = get_order_type(session, org_id=org_id, order_type_id=order_type_id)
    if session.scalar(select(exists().where(OrderSubtype.order_type_id == order_type.id))):
        raise InUse("工单类型下仍有子类，无法删除")
    session.delete(order_type)
    session.flush()


def eligible_technicians(
    session: Session, *, org_id: int, order_type_id: int, page: int, page_size: int
) -> Page[StaffView]:
    """The active technicians the type's binding reaches, one page of them."""
    order_type = get_order_type(session, org_id=org_id, order_type_id=order_type_id)
    reached = technicians_reached_by(session, org_id=org_id, order_type=order_type)
    start = (page - 1) * page_size
    return Page(reached[start : start + page_size], len(reached), page, page_size)


def list_subtypes(session: Session, *, org_id: int, order_type_id: int) -> list[OrderSubtype]:
    """All subtypes of one order type in display order."""
    order_type = get_order_type(session, org_id=org_id, order_type_id=order_type_id)
    return list(order_type.subtypes)


def get_subtype(session: Session, *, org_id: int, subtype_id: int) -> OrderSubtype:
    """One subtype of the organisation."""
    return get_owned(session, OrderSubtype, subtype_id, org_id=org_id, message="工单子类不存在")


def create_subtype(
    session: Session, *, org_id: int, order_type_id: int, data: dict[str, Any]
) -> OrderSubtype:
    """Add a subtype under an order type; its name is unique within the type."""
    order_type = get_order_type(session, org_id=org_id, order_type_id=order_type_id)
    _check_fee(fee_mode=data.get("fee_mode", NO_FEE), fee_fen=data.get("fee_fen", 0))
    _check_prepay(
        prepay=data.get("prepay", "full"),
        deposit_fen=data.get("deposit_fen", 0),
        percent=data.get("deposit_percent"),
    )
    _ensure_subtype_name_free(
        session, order_type_id=order_type.id, name=data["name"], exclude_id=None
    )
    subtype = OrderSubtype(org_id=org_id, order_type_id=order_type.id, **data)
    session.add(subtype)
    session.flush()
    session.expire(order_type, ["subtypes"])
    return subtype


def update_subtype(
    session: Session, *, org_id: int, subtype_id: int, changes: dict[str, Any]
) -> OrderSubtype:
    """Change a subtype; the fee mode and amount are checked together."""
    subtype = get_subtype(session, org_id=org_id, subtype_id=subtype_id)
    _check_fee(
        fee_mode=changes.get("fee_mode", subtype.fee_mode),
        fee_fen=changes.get("fee_fen", subtype.fee_fen),
    )
    _check_prepay(
        prepay=changes.get("prepay", subtype.prepay),
        deposit_fen=changes.get("deposit_fen", subtype.deposit_fen),
        percent=changes.get("deposit_percent", subtype.deposit_percent),
    )
    if "name" in changes:
        _ensure_subtype_name_free(
            session,
            order_type_id=subtype.order_type_id,
            name=changes["name"],
            exclude_id=subtype.id,
        )
    apply_changes(subtype, changes)
    session.flush()
    return subtype


def delete_subtype(session: Session, *, org_id: int, subtype_id: int) -> None:
    """Delete a subtype (one that orders refer to is refused as in use)."""
    session.delete(get_subtype(session, org_id=org_id, subtype_id=subtype_id))
    session.flush()


def _check_binding(session: Session, *, org_id: int, data: dict[str, Any]) -> None:
    reference_owned(
        session,
        Department,
        data.get("department_id"),
        org_id=org_id,
        field="department_id",
        message="部门不存在",
    )
    reference_owned(
        session, Post, data.get("post_id"), org_id=org_id, field="post_id", message="岗位不存在"
    )


def _check_fee(*, fee_mode: str, fee_fen: int) -> None:
    problem = fee_setting_problem(fee_mode=fee_mode, fee_fen=fee_fen)
    if problem is not None:
        raise ValidationFailed.field("fee_fen", problem)


def _check_prepay(*, prepay: str, deposit_fen: int, percent: int | None) -> None:
    problem = prepay_setting_problem(prepay=prepay, deposit_fen=deposit_fen, percent=percent)
    if problem is not None:
        raise ValidationFailed.field("deposit_fen", problem)


def _ensure_type_name_free(
    session: Session, *, org_id: int, name: str, exclude_id: int | None
) -> None:
    stmt = select(OrderType.id).where(OrderType.org_id == org_id, OrderType.name == name)
    if exclude_id is not None:
        stmt = stmt.where(OrderType.id != exclude_id)
    ensure_absent(session, stmt, field="name", message="工单类型名称已存在")


def _ensure_subtype_name_free(
    session: Session, *, order_type_id: int, name: str, exclude_id: int | None
) -> None:
    stmt = select(OrderSubtype.id).where(
        OrderSubtype.order_type_id == order_type_id, OrderSubtype.name == name
    )
    if exclude_id is not None:
        stmt = stmt.where(OrderSubtype.id != exclude_id)
    ensure_absent(session, stmt, field="name", message="该类型下已有同名子类")
