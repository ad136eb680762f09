"""Console: specs, labour items and department prices, materials and stock, requisitions,
service items, the stock report, and the desk's waiver or discount on an order."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.charges import (
    DecisionSchema,
    FeeAdjustSchema,
    LaborItemSchema,
    LaborPriceSchema,
    MaterialSchema,
    MovementQueryArgsSchema,
    MovementSchema,
    NamedQueryArgsSchema,
    RequisitionQueryArgsSchema,
    RequisitionSchema,
    ServiceItemSchema,
    SpecSchema,
    StockChangeSchema,
    StockReportSchema,
)
from schemas.common import page_of
from schemas.orders import OrderDetailSchema
from server.charges import catalogue, fees, stock
from server.charges.models import LaborItem, Material, ServiceItem
from server.kernel.permissions import Permission
from server.kernel.roles import Role
from server.orders.actors import Actor
from server.orders.detail import order_detail
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "admin_charges",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：服务规格、工时、耗材与库存、服务项、费用减免",
)


def _org() -> int:
    return int(principal().org_id)


def _move(note: str = "") -> stock.Move:
    caller = principal()
    return stock.Move(org_id=caller.org_id, actor_user_id=caller.user_id, now=now(), note=note)


# -- service specs -------------------------------------------------------------------------


@blp.route("/subtypes/<int:subtype_id>/specs")
class SubtypeSpecs(MethodView):
    @blp.auth(Permission.MONEY_VIEW)
    @blp.response(200, SpecSchema(many=True))
    def get(self, subtype_id: int) -> Any:
        """子类的服务规格（含停用）"""
        return catalogue.list_specs(session(), org_id=_org(), subtype_id=subtype_id)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(SpecSchema)
    @blp.response(201, SpecSchema)
    @blp.alt_response(409, description="该子类下已有同名服务规格")
    def post(self, data: dict[str, Any], subtype_id: int) -> Any:
        """新建服务规格（下单即收费的子类：住户报修时选择，按其价格预付订金或全额）"""
        return catalogue.create_spec(session(), org_id=_org(), subtype_id=subtype_id, data=data)


@blp.route("/specs/<int:spec_id>")
class SpecById(MethodView):
    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(SpecSchema(partial=True))
    @blp.response(200, SpecSchema)
    @blp.alt_response(409, description="该子类下已有同名服务规格")
    def patch(self, changes: dict[str, Any], spec_id: int) -> Any:
        """修改服务规格（已下单的工单保留下单时的名称与价格）"""
        return catalogue.update_spec(session(), org_id=_org(), spec_id=spec_id, changes=changes)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    def delete(self, spec_id: int) -> None:
        """删除服务规格"""
        catalogue.delete_spec(session(), org_id=_org(), spec_id=spec_id)


# -- labour items, materials, service items: the same CRUD ---------------------------------


def _crud(path: str, model: Any, schema: type, label: str) -> None:
    many = page_of(schema)

    class Collection(MethodView):
        @blp.auth(Permission.MONEY_VIEW)
        @blp.arguments(NamedQueryArgsSchema, location="query")
        @blp.response(200, many)
        def get(self, args: dict[str, Any]) -> Any:
            return catalogue.list_named(
                session(),
                model,
                org_id=_org(),
                q=args.get("q"),
                is_active=args.get("is_active"),
                page=args["page"],
                page_size=args["page_size"],
            )

        @blp.auth(Permission.SETTINGS_ACT)
        @blp.arguments(schema)
        @blp.response(201, schema)
        @blp.alt_response(409, description=f"已有同名{label}")
        def post(self, data: dict[str, Any]) -> Any:
            return catalogue.create_named(session(), model, org_id=_org(), data=data)

    class Item(MethodView):
        @blp.auth(Permission.MONEY_VIEW)
        @blp.response(200, schema)
        def get(self, item_id: int) -> Any:
            return catalogue.get_named(session(), model, org_id=_org(), item_id=item_id)

        @blp.auth(Permission.SETTINGS_ACT)
        @blp.arguments(schema(partial=True))
        @blp.response(200, schema)
        @blp.alt_response(409, description=f"已有同名{label}")
        def patch(self, changes: dict[str, Any], item_id: int) -> Any:
            return catalogue.update_named(
                session(), model, org_id=_org(), item_id=item_id, changes=changes
            )

        @blp.auth(Permission.SETTINGS_ACT)
        @blp.response(204)
        @blp.alt_response(409, description="in_use：已有库存记录（请停用）")
        def delete(self, item_id: int) -> None:
            catalogue.delete_named(session(), model, org_id=_org(), item_id=item_id)

    Collection.get.__doc__ = f"{label}列表"
    Collection.post.__doc__ = f"新建{label}"
    Item.get.__doc__ = f"{label}详情"
    Item.patch.__doc__ = f"修改{label}"
    Item.delete.__doc__ = f"删除{label}"
    name = model.__name__
    blp.route(path, endpoint=f"{name}Collection")(type(f"{name}Collection", (Collection,), {}))
    blp.route(f"{path}/<int:item_id>", endpoint=f"{name}Item")(type(f"{name}Item", (Item,), {}))


_crud("/labor-items", LaborItem, LaborItemSchema, "工时项目")
_crud("/materials", Material, MaterialSchema, "耗材")
_crud("/service-items", ServiceItem, ServiceItemSchema, "服务项")


@blp.route("/labor-items/<int:item_id>/prices/<int:department_id>")
class LaborPriceByDepartment(MethodView):
    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(LaborPriceSchema)
    @blp.response(200, LaborItemSchema)
    def put(self, data: dict[str, Any], item_id: int, department_id: int) -> Any:
        """设置某部门维修工做此工时项目的单价（内部与外包团队结算价不同）"""
        catalogue.set_labor_price(
            session(),
            org_id=_org(),
            labor_item_id=item_id,
            department_id=department_id,
            price_fen=data["price_fen"],
        )
        return _labor_item(item_id)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(200, LaborItemSchema)
    def delete(self, item_id: int, department_id: int) -> Any:
        """删除部门单价（该部门改按默认单价）"""
        catalogue.delete_labor_price(
            session(), org_id=_org(), labor_item_id=item_id, department_id=department_id
        )
        return _labor_item(item_id)


def _labor_item(item_id: int) -> LaborItem:
    item = catalogue.get_named(session(), LaborItem, org_id=_org(), item_id=item_id)
    session().refresh(item)
    return item


# -- stock ---------------------------------------------------------------------------------


@blp.post("/materials/<int:material_id>/stock-in")
@blp.auth(Permission.MONEY_ACT)
@blp.arguments(StockChangeSchema)
@blp.response(200, MaterialSchema)
def stock_in(data: dict[str, Any], material_id: int) -> Any:
    """入库（记入库存流水）"""
    return stock.stock_in(
        session(), move=_move(data["note"]), material_id=material_id, quantity=data["quantity"]
    )


@blp.post("/materials/<int:material_id>/stock-out")
@blp.auth(Permission.MONEY_ACT)
@blp.arguments(StockChangeSchema)
@blp.response(200, MaterialSchema)
@blp.alt_response(409, description="out_of_stock：仓库库存不足")
def stock_out(data: dict[str, Any], material_id: int) -> Any:
    """出库/盘亏（记入库存流水，库存不会为负）"""
    return stock.stock_out(
        session(), move=_move(data["note"]), material_id=material_id, quantity=data["quantity"]
    )


@blp.get("/stock/report")
@blp.auth(Permission.MONEY_VIEW)
@blp.response(200, StockReportSchema)
def stock_report() -> Any:
    """库存报表：每种耗材的仓库库存、各维修工手上数量与库存总值"""
    return {"items": stock.stock_report(session(), org_id=_org())}


@blp.get("/stock/movements")
@blp.auth(Permission.MONEY_VIEW)
@blp.arguments(MovementQueryArgsSchema, location="query")
@blp.response(200, page_of(MovementSchema))
def stock_movements(args: dict[str, Any]) -> Any:
    """库存流水（谁、何时、为何、哪张工单），最新在前"""
    return stock.movements(
        session(),
        org_id=_org(),
        material_id=args.get("material_id"),
        staff_id=args.get("staff_id"),
        order_id=args.get("order_id"),
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.get("/requisitions")
@blp.auth(Permission.MONEY_VIEW)
@blp.arguments(RequisitionQueryArgsSchema, location="query")
@blp.response(200, page_of(RequisitionSchema))
def requisitions(args: dict[str, Any]) -> Any:
    """耗材申领单，最新在前"""
    return stock.list_requisitions(
        session(),
        org_id=_org(),
        staff_id=args.get("staff_id"),
        status=args.get("status"),
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.post("/requisitions/<int:requisition_id>/approve")
@blp.auth(Permission.MONEY_ACT)
@blp.arguments(DecisionSchema)
@blp.response(200, RequisitionSchema)
@blp.alt_response(409, description="invalid_transition：已处理；out_of_stock：仓库库存不足")
def approve(data: dict[str, Any], requisition_id: int) -> Any:
    """批准申领：耗材从仓库转到维修工手上"""
    return stock.decide_requisition(
        session(), move=_move(data["note"]), requisition_id=requisition_id, approve=True
    )


@blp.post("/requisitions/<int:requisition_id>/reject")
@blp.auth(Permission.MONEY_ACT)
@blp.arguments(DecisionSchema)
@blp.response(200, RequisitionSchema)
@blp.alt_response(409, description="invalid_transition：已处理")
def reject(data: dict[str, Any], requisition_id: int) -> Any:
    """驳回申领"""
    return stock.decide_requisition(
        session(), move=_move(data["note"]), requisition_id=requisition_id, approve=False
    )


# -- the desk's waiver or discount ---------------------------------------------------------


@blp.post("/orders/<int:order_id>/fee-adjustments")
@blp.auth(Permission.MONEY_ACT)
@blp.arguments(FeeAdjustSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition：已取消的工单")
def adjust_fee(data: dict[str, Any], order_id: int) -> Any:
    """减免或优惠（须填原因，记入工单时间线）；已办结的工单立即重新结算"""
    caller = principal()
    role = Role.DISPATCHER.value if Role.DISPATCHER.value in caller.roles else Role.ADMIN.value
    actor = Actor(user_id=caller.user_id, org_id=caller.org_id, role=role)
    order = fees.adjust_fee(
        session(),
        actor=actor,
        order_id=order_id,
        waive=data["waive"],
        discount_fen=data["discount_fen"],
        reason=data["reason"],
        now=now(),
    )
    return order_detail(session(), order=order)
