"""Charges on an order, added and removed by the technician holding it, priced by the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from server.charges import rules
from server.charges.models import (
    LaborItem,
    LaborPrice,
    Material,
    OrderCharge,
    OrderFee,
    ServiceItem,
    TechnicianStock,
)
from server.charges.stock import Move, put_back_from_order, use_on_order
from server.db.scoping import find_owned
from server.kernel.errors import NotFound, ValidationFailed
from server.kernel.values import CHARGE_LABOR, CHARGE_MATERIAL, CHARGE_SERVICE
from server.orders.actors import Actor
from server.orders.models import Order
from server.orders.moves import load_held_order
from server.staff.models import Staff

_ITEMS: dict[str, type[LaborItem] | type[Material] | type[ServiceItem]] = {
    CHARGE_LABOR: LaborItem,
    CHARGE_MATERIAL: Material,
    CHARGE_SERVICE: ServiceItem,
}
_KIND_NAMES = {CHARGE_LABOR: "工时", CHARGE_MATERIAL: "耗材", CHARGE_SERVICE: "服务项"}


def charges_of(session: Session, *, order_id: int) -> list[OrderCharge]:
    """An order's charge lines in the order they were added."""
    return list(
        session.scalars(
            select(OrderCharge)
            .where(OrderCharge.order_id == order_id)
            .order_by(OrderCharge.created_at, OrderCharge.id)
        )
    )


@dataclass(frozen=True)
class PricedItem:
    """An item a technician may charge, at the price that applies to them."""

    id: int
    name: str
    unit: str
    price_fen: int
    qty: int | None = None  # materials: how many the technician carries


def price_list(session: Session, *, org_id: int, staff_id: int) -> dict[str, list[PricedItem]]:
    """What this technician may charge: labour at their department's price, their materials."""
    staff = session.get(Staff, staff_id)
    department_id = staff.department_id if staff is not None else None
    labor = [
        PricedItem(
            i.id, i.name, i.unit, labor_price_for(session, item=i, department_id=department_id)
        )
        for i in session.scalars(
            select(LaborItem)
            .where(LaborItem.org_id == org_id, LaborItem.is_active.is_(True))
            .order_by(LaborItem.name, LaborItem.id)
        )
    ]
    held: dict[int, int] = {
        material_id: qty
        for material_id, qty in session.execute(
            select(TechnicianStock.material_id, TechnicianStock.qty).where(
                TechnicianStock.staff_id == staff_id
            )
        )
    }
    materials = [
        PricedItem(m.id, m.name, m.unit, m.price_fen, held.get(m.id, 0))
        for m in session.scalars(
            select(Material)
            .where(Material.org_id == org_id, Material.is_active.is_(True))
            .order_by(Material.name, Material.id)
        )
    ]
    services = [
        PricedItem(i.id, i.name, i.unit, i.price_fen)
        for i in session.scalars(
            select(ServiceItem)
            .where(ServiceItem.org_id == org_id, ServiceItem.is_active.is_(True))
            .order_by(ServiceItem.name, ServiceItem.id)
        )
    ]
    return {"labor": labor, "materials": materials, "services": services}


def labor_price_for(session: Session, *, item: LaborItem, department_id: int | None) -> int:
    """The labour item's price for a technician of this department (else its default)."""
    if department_id is not None:
        price = session.scalar(
            select(LaborPrice.price_fen).where(
                LaborPrice.labor_item_id == item.id, LaborPrice.department_id == department_id
            )
        )
        if price is not None:
            return int(price)
    return item.price_fen


def add_charge(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    kind: str,
    item_id: int,
    quantity: int,
    now: datetime,
) -> OrderCharge:
    """Add a charge line: the price comes from the catalogue, never from the client.

    Labour is priced for the technician's department; a material is taken from the
    technician's own stock (409 out_of_stock when there is too little).
    """
    order = load_held_order(session, actor=actor, order_id=order_id)
    if kind not in order.subtype.charge_kinds:
        raise ValidationFailed.field(
            "kind", f"该报修类型不允许添加{_KIND_NAMES.get(kind, '此类')}费用"
        )
    lines = session.scalar(
        select(func.count()).select_from(OrderCharge).where(OrderCharge.order_id == order.id)
    )
    if (lines or 0) >= rules.MAX_LINES:
        raise ValidationFailed.field("kind", f"每张工单最多 {rules.MAX_LINES} 条费用")
    model = _ITEMS.get(kind)
    if model is None:
        raise ValidationFailed.field("kind", "收费类别不正确")
    item = find_owned(session, model, item_id, org_id=actor.org_id)
    if item is None or not item.is_active:
        raise ValidationFailed.field("item_id", "收费项目不存在或已停用")
    staff = session.get(Staff, actor.staff_id)
    assert staff is not None
    department_id = staff.department_id if kind == CHARGE_LABOR else None
    if isinstance(item, LaborItem):
        unit_price = labor_price_for(session, item=item, department_id=department_id)
    else:
        unit_price = item.price_fen
    amount = rules.line_amount(unit_price_fen=unit_price, quantity=quantity)
    if isinstance(item, Material):
        use_on_order(
            session,
            move=Move(org_id=actor.org_id, actor_user_id=actor.user_id, now=now, order_id=order.id),
            staff_id=staff.id,
            material_id=item.id,
            quantity=quantity,
        )
    charge = OrderCharge(
        org_id=actor.org_id,
        order_id=order.id,
        kind=kind,
        item_id=item.id,
        name=item.name,
        unit=item.unit,
        unit_price_fen=unit_price,
        quantity=quantity,
        amount_fen=amount,
        staff_id=staff.id,
        department_id=department_id,
        created_at=now,
    )
    session.add(charge)
    order.updated_at = now
    session.flush()
    return charge


def remove_charge(
    session: Session, *, actor: Actor, order_id: int, charge_id: int, now: datetime
) -> None:
    """Remove a charge before completion; a material goes back to whoever it came from."""
    order = load_held_order(session, actor=actor, order_id=order_id)
    charge = find_owned(session, OrderCharge, charge_id, org_id=actor.org_id, for_update=True)
    if charge is None or charge.order_id != order.id:
        raise NotFound("费用不存在")
    if charge.kind == CHARGE_MATERIAL:
        put_back_from_order(
            session,
            move=Move(org_id=actor.org_id, actor_user_id=actor.user_id, now=now, order_id=order.id),
            staff_id=charge.staff_id,
            material_id=charge.item_id,
            quantity=charge.quantity,
        )
    session.delete(charge)
    order.updated_at = now
    session.flush()


def void_materials(
    session: Session, *, org_id: int, order_id: int, actor_user_id: int, now: datetime
) -> int:
    """A cancelled order keeps no materials: each goes back to whoever charged it, on the ledger.

    Labour and service charges stay as a record; settlement of a cancelled order owes nothing.
    Returns how many material charges were voided.
    """
    charges = session.scalars(
        select(OrderCharge)
        .where(OrderCharge.order_id == order_id, OrderCharge.kind == CHARGE_MATERIAL)
        .order_by(OrderCharge.id)
        .with_for_update()
    ).all()
    move = Move(
        org_id=org_id, actor_user_id=actor_user_id, now=now, order_id=order_id, note="工单取消"
    )
    for charge in charges:
        put_back_from_order(
            session,
            move=move,
            staff_id=charge.staff_id,
            material_id=charge.item_id,
            quantity=charge.quantity,
        )
        session.delete(charge)
    session.flush()
    return len(charges)


@dataclass(frozen=True)
class ExportColumns:
    """Correlated columns for an order-list export (one value per `orders` row)."""

    spec_name: Any
    lines: Any
    gross_fen: Any


def export_columns() -> ExportColumns:
    """The order's spec, its charge lines as text (一般维修×2；水龙头×1), spec + charges (fen)."""
    spec_name = select(OrderFee.spec_name).where(OrderFee.order_id == Order.id).scalar_subquery()
    spec_price = (
        select(OrderFee.spec_price_fen).where(OrderFee.order_id == Order.id).scalar_subquery()
    )
    lines = (
        select(
            func.string_agg(
                OrderCharge.name + "×" + cast(OrderCharge.quantity, String),
                aggregate_order_by(literal("；"), OrderCharge.created_at, OrderCharge.id),
            )
        )
        .where(OrderCharge.order_id == Order.id)
        .scalar_subquery()
    )
    charged = (
        select(func.sum(OrderCharge.amount_fen))
        .where(OrderCharge.order_id == Order.id)
        .scalar_subquery()
    )
    return ExportColumns(
        spec_name=func.coalesce(spec_name, ""),
        lines=func.coalesce(lines, ""),
        gross_fen=func.coalesce(spec_price, 0) + func.coalesce(charged, 0),
    )
