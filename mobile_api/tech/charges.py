"""Technician app: charges on my orders, my material stock, requisitions and returns.

Also the specs (服务规格) of a subtype, which the tenant picks from when filing.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.charges import (
    ChargeCreateSchema,
    MyRequisitionQueryArgsSchema,
    MyStockSchema,
    PriceListSchema,
    RequisitionCreateSchema,
    RequisitionSchema,
    ReturnCreateSchema,
    TenantSpecSchema,
)
from schemas.common import page_of
from schemas.orders import OrderDetailSchema
from server.charges import catalogue, order_charges, stock
from server.kernel.errors import Forbidden
from server.kernel.roles import Role
from server.orders.actors import Actor, staff_actor
from server.orders.detail import order_detail, reveals_contact
from server.orders.moves import load_order
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "tech_charges", __name__, url_prefix="/api/v1", description="维修工 App：费用与耗材"
)

TECH = (Role.TECHNICIAN,)


def _actor() -> Actor:
    caller = principal()
    actor = staff_actor(
        session(),
        user_id=caller.user_id,
        org_id=caller.org_id,
        role=Role.TECHNICIAN.value,
        staff_id=caller.staff_id,
    )
    if actor.staff_id is None:
        raise Forbidden("您没有员工档案，请联系管理员")
    return actor


def _move(actor: Actor, note: str = "") -> stock.Move:
    return stock.Move(org_id=actor.org_id, actor_user_id=actor.user_id, now=now(), note=note)


@blp.post("/tech/orders/<int:order_id>/charges")
@blp.auth(*TECH)
@blp.idempotent()
@blp.arguments(ChargeCreateSchema)
@blp.response(201, OrderDetailSchema)
@blp.alt_response(
    409,
    description="out_of_stock：手上该耗材不足（暂无库存，请申领）；"
    "invalid_transition：工单已办结或不在我手上处理；idempotency_conflict",
)
def add_charge(data: dict[str, Any], order_id: int) -> Any:
    """添加费用（工时/耗材/服务项）：价格由服务端按目录与我所在部门确定；耗材从我手上扣减"""
    actor = _actor()
    order_charges.add_charge(
        session(),
        actor=actor,
        order_id=order_id,
        kind=data["kind"],
        item_id=data["item_id"],
        quantity=data["quantity"],
        now=now(),
    )
    return _detail(actor, order_id)


@blp.delete("/tech/orders/<int:order_id>/charges/<int:charge_id>")
@blp.auth(*TECH)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition：工单已办结，费用不能再改")
def remove_charge(order_id: int, charge_id: int) -> Any:
    """删除费用（办结前）；耗材退回到我手上"""
    actor = _actor()
    order_charges.remove_charge(
        session(), actor=actor, order_id=order_id, charge_id=charge_id, now=now()
    )
    return _detail(actor, order_id)


def _detail(actor: Actor, order_id: int) -> Any:
    order = load_order(session(), org_id=actor.org_id, order_id=order_id)
    revealed = reveals_contact(order, staff_id=actor.staff_id, desk=False)
    return order_detail(session(), order=order, contact_revealed=revealed)


@blp.get("/tech/price-list")
@blp.auth(*TECH)
@blp.response(200, PriceListSchema)
def price_list() -> Any:
    """可添加的收费项目：工时（按我所在部门的单价）、耗材（含我手上的数量）、服务项"""
    actor = _actor()
    assert actor.staff_id is not None
    return order_charges.price_list(session(), org_id=actor.org_id, staff_id=actor.staff_id)


@blp.get("/tech/stock")
@blp.auth(*TECH)
@blp.response(200, MyStockSchema)
def my_stock() -> Any:
    """我手上的耗材"""
    actor = _actor()
    assert actor.staff_id is not None
    return {
        "items": stock.technician_stock(session(), org_id=actor.org_id, staff_id=actor.staff_id)
    }


@blp.post("/tech/stock/returns")
@blp.auth(*TECH)
@blp.arguments(ReturnCreateSchema)
@blp.response(200, MyStockSchema)
@blp.alt_response(409, description="out_of_stock：手上数量不足")
def return_stock(data: dict[str, Any]) -> Any:
    """退料：把没用完的耗材退回仓库"""
    actor = _actor()
    assert actor.staff_id is not None
    stock.return_to_store(
        session(),
        move=_move(actor, data["note"]),
        staff_id=actor.staff_id,
        material_id=data["material_id"],
        quantity=data["quantity"],
    )
    return {
        "items": stock.technician_stock(session(), org_id=actor.org_id, staff_id=actor.staff_id)
    }


@blp.route("/tech/requisitions")
class MyRequisitions(MethodView):
    @blp.auth(*TECH)
    @blp.arguments(MyRequisitionQueryArgsSchema, location="query")
    @blp.response(200, page_of(RequisitionSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """我的耗材申领"""
        actor = _actor()
        return stock.list_requisitions(
            session(),
            org_id=actor.org_id,
            staff_id=actor.staff_id,
            status=args.get("status"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(*TECH)
    @blp.idempotent()
    @blp.arguments(RequisitionCreateSchema)
    @blp.response(201, RequisitionSchema)
    @blp.alt_response(409, description="idempotency_conflict")
    def post(self, data: dict[str, Any]) -> Any:
        """申领耗材（耗材领用），待调度员/管理员审批"""
        actor = _actor()
        assert actor.staff_id is not None
        return stock.request_material(
            session(),
            org_id=actor.org_id,
            staff_id=actor.staff_id,
            material_id=data["material_id"],
            quantity=data["quantity"],
            note=data["note"],
        )


@blp.get("/catalog/subtypes/<int:subtype_id>/specs")
@blp.auth()
@blp.response(200, TenantSpecSchema(many=True))
def subtype_specs(subtype_id: int) -> Any:
    """子类的服务规格（下单即收费时报修须选择其一）"""
    return catalogue.list_specs(
        session(), org_id=principal().org_id, subtype_id=subtype_id, active_only=True
    )
