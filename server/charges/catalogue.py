"""The price catalogue as the console manages it: specs, labour, materials, service items."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from server.catalog.models import OrderSubtype
from server.charges.models import (
    LaborItem,
    LaborPrice,
    Material,
    ServiceItem,
    ServiceSpec,
    StockMovement,
)
from server.db.base import Base
from server.db.pagination import Page, paginate
from server.db.scoping import apply_changes, ensure_absent, get_owned, reference_owned
from server.kernel.errors import InUse, NotFound
from server.staff.models import Department

Named = TypeVar("Named", LaborItem, Material, ServiceItem)


# -- service specs (服务规格) of a subtype -------------------------------------------------


def list_specs(
    session: Session, *, org_id: int, subtype_id: int, active_only: bool = False
) -> list[ServiceSpec]:
    """A subtype's specs in display order."""
    get_owned(session, OrderSubtype, subtype_id, org_id=org_id, message="工单子类不存在")
    stmt = select(ServiceSpec).where(ServiceSpec.subtype_id == subtype_id)
    if active_only:
        stmt = stmt.where(ServiceSpec.is_active.is_(True))
    return list(session.scalars(stmt.order_by(ServiceSpec.sort_order, ServiceSpec.id)))


def create_spec(
    session: Session, *, org_id: int, subtype_id: int, data: dict[str, Any]
) -> ServiceSpec:
    """Add a spec to a subtype; its name is unique within the subtype."""
    get_owned(session, OrderSubtype, subtype_id, org_id=org_id, message="工单子类不存在")
    _spec_name_free(session, subtype_id=subtype_id, name=data["name"], exclude_id=None)
    spec = ServiceSpec(org_id=org_id, subtype_id=subtype_id, **data)
    session.add(spec)
    session.flush()
    return spec


def update_spec(
    session: Session, *, org_id: int, spec_id: int, changes: dict[str, Any]
) -> ServiceSpec:
    spec = get_owned(session, ServiceSpec, spec_id, org_id=org_id, message="服务规格不存在")
    if "name" in changes:
        _spec_name_free(
            session, subtype_id=spec.subtype_id, name=changes["name"], exclude_id=spec.id
        )
    apply_changes(spec, changes)
    session.flush()
    return spec


def delete_spec(session: Session, *, org_id: int, spec_id: int) -> None:
    """Delete a spec; orders filed with it keep its name and price."""
    session.delete(
        get_owned(session, ServiceSpec, spec_id, org_id=org_id, message="服务规格不存在")
    )
    session.flush()


def _spec_name_free(
    session: Session, *, subtype_id: int, name: str, exclude_id: int | None
) -> None:
    stmt = select(ServiceSpec.id).where(
        ServiceSpec.subtype_id == subtype_id, ServiceSpec.name == name
    )
    if exclude_id is not None:
        stmt = stmt.where(ServiceSpec.id != exclude_id)
    ensure_absent(session, stmt, field="name", message="该子类下已有同名服务规格")


# -- labour items (工时) and their department prices ---------------------------------------


def list_named(
    session: Session,
    model: type[Named],
    *,
    org_id: int,
    q: str | None,
    is_active: bool | None,
    page: int,
    page_size: int,
) -> Page[Named]:
    """Labour items, materials or service items of the organisation, by name."""
    stmt = select(model).where(model.org_id == org_id)
    if q:
        stmt = stmt.where(model.name.ilike(f"%{q}%"))
    if is_active is not None:
        stmt = stmt.where(model.is_active.is_(is_active))
    return paginate(session, stmt.order_by(model.name, model.id), page=page, page_size=page_size)


def get_named(session: Session, model: type[Named], *, org_id: int, item_id: int) -> Named:
    return get_owned(session, model, item_id, org_id=org_id, message=_NOT_FOUND[model])


def create_named(
    session: Session, model: type[Named], *, org_id: int, data: dict[str, Any]
) -> Named:
    """Add a labour item, material (store stock starts at 0) or service item."""
    _name_free(session, model, org_id=org_id, name=data["name"], exclude_id=None)
    item = model(org_id=org_id, **data)
    session.add(item)
    session.flush()
    return item


def update_named(
    session: Session, model: type[Named], *, org_id: int, item_id: int, changes: dict[str, Any]
) -> Named:
    item = get_named(session, model, org_id=org_id, item_id=item_id)
    if "name" in changes:
        _name_free(session, model, org_id=org_id, name=changes["name"], exclude_id=item.id)
    apply_changes(item, changes)
    session.flush()
    return item


def delete_named(session: Session, model: type[Named], *, org_id: int, item_id: int) -> None:
    """Delete an item; a material with stock history is refused (deactivate it instead)."""
    item = get_named(session, model, org_id=org_id, item_id=item_id)
    if isinstance(item, Material) and session.scalar(
        select(exists().where(StockMovement.material_id == item.id))
    ):
        raise InUse("该耗材已有库存记录，无法删除，请停用")
    session.delete(item)
    session.flush()


def labor_prices(session: Session, *, org_id: int, labor_item_id: int) -> list[LaborPrice]:
    """A labour item's prices per department."""
    get_named(session, LaborItem, org_id=org_id, item_id=labor_item_id)
    return list(
        session.scalars(
            select(LaborPrice)
            .where(LaborPrice.labor_item_id == labor_item_id)
            .order_by(LaborPrice.department_id)
        )
    )


def set_labor_price(
    session: Session, *, org_id: int, labor_item_id: int, department_id: int, price_fen: int
) -> LaborPrice:
    """Set what the item costs when a technician of the department does the work."""
    get_named(session, LaborItem, org_id=org_id, item_id=labor_item_id)
    reference_owned(
        session,
        Department,
        department_id,
        org_id=org_id,
        field="department_id",
        message="部门不存在",
    )
    price = session.scalar(
        select(LaborPrice)
        .where(LaborPrice.labor_item_id == labor_item_id, LaborPrice.department_id == department_id)
        .with_for_update()
    )
    if price is None:
        price = LaborPrice(
            org_id=org_id,
            labor_item_id=labor_item_id,
            department_id=department_id,
            price_fen=price_fen,
        )
        session.add(price)
    else:
        price.price_fen = price_fen
    session.flush()
    return price


def delete_labor_price(
    session: Session, *, org_id: int, labor_item_id: int, department_id: int
) -> None:
    """Remove a department's price: its technicians then charge the item's default price."""
    get_named(session, LaborItem, org_id=org_id, item_id=labor_item_id)
    price = session.scalar(
        select(LaborPrice).where(
            LaborPrice.labor_item_id == labor_item_id, LaborPrice.department_id == department_id
        )
    )
    if price is None:
        raise NotFound("该部门没有单独的价格")
    session.delete(price)
    session.flush()


_NOT_FOUND: dict[type[Base], str] = {
    LaborItem: "工时项目不存在",
    Material: "耗材不存在",
    ServiceItem: "服务项不存在",
}
_DUPLICATE: dict[type[Base], str] = {
    LaborItem: "已有同名工时项目",
    Material: "已有同名耗材",
    ServiceItem: "已有同名服务项",
}


def _name_free(
    session: Session, model: type[Named], *, org_id: int, name: str, exclude_id: int | None
) -> None:
    stmt = select(model.id).where(model.org_id == org_id, model.name == name)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    ensure_absent(session, stmt, field="name", message=_DUPLICATE[model])
