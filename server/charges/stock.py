"""Material stock: the store and each technician, moved only here, every move a ledger row.

Every decrease is one conditional UPDATE (`... WHERE qty >= :n RETURNING`): two parallel
requests for the last unit cannot both get it, and a CHECK (qty >= 0) backs it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.charges.models import Material, Requisition, StockMovement, TechnicianStock
from server.charges.rules import (
    CHARGE,
    CHARGE_REMOVED,
    REQUISITION,
    REQUISITION_APPROVED,
    REQUISITION_PENDING,
    REQUISITION_REJECTED,
    RETURN,
    STOCK_IN,
    STOCK_OUT,
)
from server.db.pagination import Page, paginate
from server.db.scoping import get_owned, reference_owned
from server.kernel.errors import InvalidTransition, OutOfStock, ValidationFailed
from server.staff.models import Staff


@dataclass(frozen=True)
class Move:
    """Who moves stock, when and why (the ledger's other columns)."""

    org_id: int
    actor_user_id: int
    now: datetime
    note: str = ""
    order_id: int | None = None
    requisition_id: int | None = None


def _ledger(
    session: Session,
    move: Move,
    *,
    material_id: int,
    reason: str,
    store_delta: int = 0,
    tech_delta: int = 0,
    staff_id: int | None = None,
) -> None:
    session.add(
        StockMovement(
            org_id=move.org_id,
            material_id=material_id,
            reason=reason,
            store_delta=store_delta,
            tech_delta=tech_delta,
            staff_id=staff_id,
            order_id=move.order_id,
            requisition_id=move.requisition_id,
            actor_user_id=move.actor_user_id,
            note=move.note,
            created_at=move.now,
        )
    )


def _material(session: Session, *, org_id: int, material_id: int) -> Material:
    return reference_owned(
        session, Material, material_id, org_id=org_id, field="material_id", message="耗材不存在"
    )


# -- the store -------------------------------------------------------------------------------


def _take_from_store(session: Session, *, material_id: int, quantity: int) -> bool:
    left = session.scalar(
        update(Material)
        .where(Material.id == material_id, Material.store_qty >= quantity)
        .values(store_qty=Material.store_qty - quantity)
        .returning(Material.store_qty)
    )
    return left is not None


def _give_to_store(session: Session, *, material_id: int, quantity: int) -> None:
    session.execute(
        update(Material)
        .where(Material.id == material_id)
        .values(store_qty=Material.store_qty + quantity)
    )


def stock_in(session: Session, *, move: Move, material_id: int, quantity: int) -> Material:
    """Material bought into the store (入库)."""
    material = get_owned(session, Material, material_id, org_id=move.org_id, message="耗材不存在")
    _give_to_store(session, material_id=material.id, quantity=quantity)
    _ledger(session, move, material_id=material.id, reason=STOCK_IN, store_delta=quantity)
    session.flush()
    session.refresh(material)
    return material


def stock_out(session: Session, *, move: Move, material_id: int, quantity: int) -> Material:
    """Material written off the store (出库 / 盘亏); never below zero."""
    material = get_owned(session, Material, material_id, org_id=move.org_id, message="耗材不存在")
    if not _take_from_store(session, material_id=material.id, quantity=quantity):
        raise OutOfStock("仓库库存不足")
    _ledger(session, move, material_id=material.id, reason=STOCK_OUT, store_delta=-quantity)
    session.flush()
    session.refresh(material)
    return material


# -- a technician's stock --------------------------------------------------------------------


def _give_to_technician(
    session: Session, *, org_id: int, staff_id: int, material_id: int, quantity: int
) -> None:
    session.execute(
        insert(TechnicianStock)
        .values(org_id=org_id, staff_id=staff_id, material_id=material_id, qty=quantity)
        .on_conflict_do_update(
            index_elements=["material_id", "staff_id"],
            set_={"qty": TechnicianStock.qty + quantity},
        )
    )


def _take_from_technician(
    session: Session, *, staff_id: int, material_id: int, quantity: int
) -> bool:
    left = session.scalar(
        update(TechnicianStock)
        .where(
            TechnicianStock.staff_id == staff_id,
            TechnicianStock.material_id == material_id,
            TechnicianStock.qty >= quantity,
        )
        .values(qty=TechnicianStock.qty - quantity)
        .returning(TechnicianStock.qty)
    )
    return left is not None


def use_on_order(
    session: Session, *, move: Move, staff_id: int, material_id: int, quantity: int
) -> None:
    """A technician's material goes into an order; none (or too little) left is 409."""
    if not _take_from_technician(
        session, staff_id=staff_id, material_id=material_id, quantity=quantity
    ):
        raise OutOfStock()
    _ledger(
        session,
        move,
        material_id=material_id,
        reason=CHARGE,
        tech_delta=-quantity,
        staff_id=staff_id,
    )


def put_back_from_order(
    session: Session, *, move: Move, staff_id: int, material_id: int, quantity: int
) -> None:
    """A material charge removed before completion: the units go back to the technician."""
    _give_to_technician(
        session,
        org_id=move.org_id,
        staff_id=staff_id,
        material_id=material_id,
        quantity=quantity,
    )
    _ledger(
        session,
        move,
        material_id=material_id,
        reason=CHARGE_REMOVED,
        tech_delta=quantity,
        staff_id=staff_id,
    )


def return_to_store(
    session: Session, *, move: Move, staff_id: int, material_id: int, quantity: int
) -> None:
    """A technician hands unused material back to the store (退料)."""
    _material(session, org_id=move.org_id, material_id=material_id)
    if not _take_from_technician(
        session, staff_id=staff_id, material_id=material_id, quantity=quantity
    ):
        raise OutOfStock("您手上的该耗材数量不足")
    _give_to_store(session, material_id=material_id, quantity=quantity)
    _ledger(
        session,
        move,
        material_id=material_id,
        reason=RETURN,
        store_delta=quantity,
        tech_delta=-quantity,
        staff_id=staff_id,
    )
    session.flush()


@dataclass(frozen=True)
class Holding:
    material: Material
    qty: int


def technician_stock(session: Session, *, org_id: int, staff_id: int) -> list[Holding]:
    """What a technician carries (materials with none left included if they ever had some)."""
    rows = session.execute(
        select(Material, TechnicianStock.qty)
        .join(TechnicianStock, TechnicianStock.material_id == Material.id)
        .where(TechnicianStock.staff_id == staff_id, Material.org_id == org_id)
        .order_by(Material.name, Material.id)
    ).all()
    return [Holding(material, qty) for material, qty in rows]


# -- requisitions (耗材领用) -----------------------------------------------------------------


def request_material(
    session: Session,
    *,
    org_id: int,
    staff_id: int,
    material_id: int,
    quantity: int,
    note: str,
) -> Requisition:
    """A technician asks the store for material; the desk decides."""
    material = _material(session, org_id=org_id, material_id=material_id)
    if not material.is_active:
        raise ValidationFailed.field("material_id", "该耗材已停用")
    requisition = Requisition(
        org_id=org_id, staff_id=staff_id, material_id=material.id, quantity=quantity, note=note
    )
    session.add(requisition)
    session.flush()
    return requisition


def decide_requisition(
    session: Session,
    *,
    move: Move,
    requisition_id: int,
    approve: bool,
) -> Requisition:
    """Approve (store → technician, never below zero) or reject a pending requisition, once."""
    get_owned(session, Requisition, requisition_id, org_id=move.org_id, message="申领单不存在")
    decided = session.scalar(
        update(Requisition)
        .where(Requisition.id == requisition_id, Requisition.status == REQUISITION_PENDING)
        .values(
            status=REQUISITION_APPROVED if approve else REQUISITION_REJECTED,
            decided_by_user_id=move.actor_user_id,
            decided_at=move.now,
            decision_note=move.note,
            updated_at=move.now,
        )
        .returning(Requisition.id)
    )
    if decided is None:
        raise InvalidTransition("该申领单已处理")
    requisition = get_owned(
        session,
        Requisition,
        requisition_id,
        org_id=move.org_id,
        populate_existing=True,
    )
    if approve:
        if not _take_from_store(
            session, material_id=requisition.material_id, quantity=requisition.quantity
        ):
            raise OutOfStock("仓库库存不足，无法批准")
        _give_to_technician(
            session,
            org_id=move.org_id,
            staff_id=requisition.staff_id,
            material_id=requisition.material_id,
            quantity=requisition.quantity,
        )
        _ledger(
            session,
            Move(
                org_id=move.org_id,
                actor_user_id=move.actor_user_id,
                now=move.now,
                note=move.note,
                requisition_id=requisition.id,
            ),
            material_id=requisition.material_id,
            reason=REQUISITION,
            store_delta=-requisition.quantity,
            tech_delta=requisition.quantity,
            staff_id=requisition.staff_id,
        )
    session.flush()
    return requisition


def list_requisitions(
    session: Session,
    *,
    org_id: int,
    staff_id: int | None,
    status: str | None,
    page: int,
    page_size: int,
) -> Page[Requisition]:
    """Requisitions, newest first: all of them for the desk, a technician's own for them."""
    stmt = select(Requisition).where(Requisition.org_id == org_id)
    if staff_id is not None:
        stmt = stmt.where(Requisition.staff_id == staff_id)
    if status is not None:
        stmt = stmt.where(Requisition.status == status)
    return paginate(
        session,
        stmt.order_by(Requisition.created_at.desc(), Requisition.id.desc()),
        page=page,
        page_size=page_size,
    )


# -- the ledger and the report ---------------------------------------------------------------


def movements(
    session: Session,
    *,
    org_id: int,
    material_id: int | None,
    staff_id: int | None,
    order_id: int | None,
    page: int,
    page_size: int,
) -> Page[StockMovement]:
    """The stock ledger, newest first."""
    stmt = select(StockMovement).where(StockMovement.org_id == org_id)
    if material_id is not None:
        stmt = stmt.where(StockMovement.material_id == material_id)
    if staff_id is not None:
        stmt = stmt.where(StockMovement.staff_id == staff_id)
    if order_id is not None:
        stmt = stmt.where(StockMovement.order_id == order_id)
    return paginate(
        session,
        stmt.order_by(StockMovement.created_at.desc(), StockMovement.id.desc()),
        page=page,
        page_size=page_size,
    )


@dataclass(frozen=True)
class TechnicianHolding:
    staff_id: int
    name: str
    qty: int


@dataclass
class StockLine:
    """One material in the stock report: the store, the technicians, and the value."""

    material: Material
    store_qty: int
    technician_qty: int
    value_fen: int
    technicians: list[TechnicianHolding] = field(default_factory=list)


def stock_report(session: Session, *, org_id: int) -> list[StockLine]:
    """Every material: in the store, on each technician, in all, and what it is worth."""
    materials = list(
        session.scalars(
            select(Material).where(Material.org_id == org_id).order_by(Material.name, Material.id)
        )
    )
    held: dict[int, list[TechnicianHolding]] = {}
    for material_id, staff_id, name, qty in session.execute(
        select(
            TechnicianStock.material_id, TechnicianStock.staff_id, User.name, TechnicianStock.qty
        )
        .join(Staff, Staff.id == TechnicianStock.staff_id)
        .join(User, User.id == Staff.user_id)
        .where(TechnicianStock.org_id == org_id, TechnicianStock.qty > 0)
        .order_by(TechnicianStock.staff_id)
    ):
        held.setdefault(material_id, []).append(TechnicianHolding(staff_id, name, qty))
    report = []
    for material in materials:
        on_techs = sum(h.qty for h in held.get(material.id, []))
        report.append(
            StockLine(
                material=material,
                store_qty=material.store_qty,
                technician_qty=on_techs,
                value_fen=(material.store_qty + on_techs) * material.price_fen,
                technicians=held.get(material.id, []),
            )
        )
    return report
