"""Console: 客车关系 — parking spaces, their owners and tenants over time, vehicles."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.common import page_of
from schemas.parking import (
    AssignSpaceSchema,
    CustomerHoldingSchema,
    EndSchema,
    HoldingUpdateSchema,
    ParkingSpaceCreateSchema,
    ParkingSpaceDetailSchema,
    ParkingSpaceQueryArgsSchema,
    ParkingSpaceSchema,
    ParkingSpaceUpdateSchema,
    VehicleCreateSchema,
    VehicleQueryArgsSchema,
    VehicleSchema,
    VehicleUpdateSchema,
)
from server.kernel.permissions import Permission
from server.parking import spaces, vehicles
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session, today

blp = Blueprint(
    "admin_parking",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：客车关系（车位、产权 / 租用、车辆）",
)

IDEMPOTENCY = "idempotency_conflict：同一幂等键对应了不同的请求内容"


@blp.route("/parking-spaces")
class ParkingSpaces(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.arguments(ParkingSpaceQueryArgsSchema, location="query")
    @blp.response(200, page_of(ParkingSpaceSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """车位列表（含今天的持有人、合同结束日期和停放车辆；手机号脱敏）"""
        return spaces.list_spaces(
            session(),
            org_id=principal().org_id,
            today=today(),
            community_id=args.get("community_id"),
            kind=args.get("kind"),
            status=args.get("status"),
            occupied=args.get("occupied"),
            customer_id=args.get("customer_id"),
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.idempotent()
    @blp.arguments(ParkingSpaceCreateSchema)
    @blp.response(201, ParkingSpaceDetailSchema)
    @blp.alt_response(409, description="该小区已有此编号的车位；" + IDEMPOTENCY)
    def post(self, data: dict[str, Any]) -> Any:
        """登记车位（编号在小区内唯一）"""
        org_id = principal().org_id
        space = spaces.create_space(session(), org_id=org_id, data=data)
        return spaces.space_view(session(), org_id=org_id, space_id=space.id, today=today())


@blp.route("/parking-spaces/<int:space_id>")
class ParkingSpaceById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, ParkingSpaceDetailSchema)
    @blp.alt_response(404, description="车位不存在")
    def get(self, space_id: int) -> Any:
        """车位详情（含全部产权 / 租用记录）"""
        return spaces.space_view(
            session(), org_id=principal().org_id, space_id=space_id, today=today()
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(ParkingSpaceUpdateSchema)
    @blp.response(200, ParkingSpaceDetailSchema)
    @blp.alt_response(404, description="车位不存在")
    @blp.alt_response(409, description="该小区已有此编号的车位")
    def patch(self, changes: dict[str, Any], space_id: int) -> Any:
        """修改车位（编号、区域、类型、位置、状态、备注）"""
        org_id = principal().org_id
        spaces.update_space(session(), org_id=org_id, space_id=space_id, changes=changes)
        return spaces.space_view(session(), org_id=org_id, space_id=space_id, today=today())


@blp.post("/parking-spaces/<int:space_id>/holdings")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.idempotent()
@blp.arguments(AssignSpaceSchema)
@blp.response(201, CustomerHoldingSchema)
@blp.alt_response(404, description="车位不存在")
@blp.alt_response(
    409, description="space_occupied：所选期间该车位已有产权或租用关系；车位已停用；" + IDEMPOTENCY
)
def assign_space(data: dict[str, Any], space_id: int) -> Any:
    """分配车位：客户产权或租用（租用须填合同结束日期和提前提醒天数）"""
    return spaces.assign(
        session(), org_id=principal().org_id, space_id=space_id, data=data, now=now()
    )


@blp.route("/parking-space-holdings/<int:holding_id>")
class HoldingById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, CustomerHoldingSchema)
    @blp.alt_response(404, description="车位关系不存在")
    def get(self, holding_id: int) -> Any:
        """车位关系详情"""
        return spaces.get_holding(session(), org_id=principal().org_id, holding_id=holding_id)

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(HoldingUpdateSchema)
    @blp.response(200, CustomerHoldingSchema)
    @blp.alt_response(404, description="车位关系不存在")
    @blp.alt_response(409, description="space_occupied：与其他关系重叠；关系已结束")
    def patch(self, changes: dict[str, Any], holding_id: int) -> Any:
        """续租或更正：合同结束日期、提醒天数、合同号、备注（新的结束日期会重新提醒）"""
        return spaces.change_holding(
            session(), org_id=principal().org_id, holding_id=holding_id, changes=changes
        )


@blp.post("/parking-space-holdings/<int:holding_id>/end")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(EndSchema)
@blp.response(200, CustomerHoldingSchema)
@blp.alt_response(404, description="车位关系不存在")
@blp.alt_response(409, description="该车位关系已结束")
def end_holding(data: dict[str, Any], holding_id: int) -> Any:
    """结束车位关系（保留历史：设置结束日期，次日起车位空闲）"""
    return spaces.end_holding(
        session(),
        org_id=principal().org_id,
        holding_id=holding_id,
        end_date=data["end_date"],
        reason=data["reason"],
        now=now(),
    )


@blp.route("/vehicles")
class Vehicles(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.read_only()
    @blp.arguments(VehicleQueryArgsSchema, location="query")
    @blp.response(200, page_of(VehicleSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """车辆列表（新登记在前；车主手机号脱敏）"""
        return vehicles.list_vehicles(
            session(),
            org_id=principal().org_id,
            customer_id=args.get("customer_id"),
            space_id=args.get("space_id"),
            community_id=args.get("community_id"),
            q=args.get("q"),
            include_removed=args["include_removed"],
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.idempotent()
    @blp.arguments(VehicleCreateSchema)
    @blp.response(201, VehicleSchema)
    @blp.alt_response(409, description="plate_taken：该车牌号已登记；" + IDEMPOTENCY)
    def post(self, data: dict[str, Any]) -> Any:
        """登记车辆（车牌号校验并规范为大写，如 粤b·12345 → 粤B12345）"""
        return vehicles.register_vehicle(session(), org_id=principal().org_id, data=data)


@blp.route("/vehicles/<int:vehicle_id>")
class VehicleById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, VehicleSchema)
    @blp.alt_response(404, description="车辆不存在")
    def get(self, vehicle_id: int) -> Any:
        """车辆详情"""
        return vehicles.get_vehicle(session(), org_id=principal().org_id, vehicle_id=vehicle_id)

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(VehicleUpdateSchema)
    @blp.response(200, VehicleSchema)
    @blp.alt_response(404, description="车辆不存在")
    @blp.alt_response(409, description="plate_taken：该车牌号已登记；车辆已注销")
    def patch(self, changes: dict[str, Any], vehicle_id: int) -> Any:
        """修改车辆（车牌、车型、颜色、车主、车位、备注）"""
        return vehicles.update_vehicle(
            session(), org_id=principal().org_id, vehicle_id=vehicle_id, changes=changes
        )


@blp.post("/vehicles/<int:vehicle_id>/remove")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(EndSchema)
@blp.response(200, VehicleSchema)
@blp.alt_response(404, description="车辆不存在")
@blp.alt_response(409, description="该车辆已注销")
def remove_vehicle(data: dict[str, Any], vehicle_id: int) -> Any:
    """注销车辆（保留历史；车牌号可再次登记）"""
    return vehicles.remove_vehicle(
        session(),
        org_id=principal().org_id,
        vehicle_id=vehicle_id,
        on=data["end_date"],
        reason=data["reason"],
        now=now(),
    )
