"""Console: 住户生命周期 — move-ins, households, transfers, splits and merges, payers, history,
the customer-service report."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from schemas.residency import (
    CustomerServiceReportArgsSchema,
    CustomerServiceReportSchema,
    HouseholdMemberCreateSchema,
    HouseholdMemberEndSchema,
    HouseholdMemberSchema,
    HouseholdMemberUpdateSchema,
    MoveInCreateSchema,
    MoveInSchema,
    RoomHistoryArgsSchema,
    RoomHistorySchema,
    RoomLineageListSchema,
    RoomMergeSchema,
    RoomPayerSchema,
    RoomPayerSetSchema,
    RoomSplitSchema,
    RoomTransferCreateSchema,
    RoomTransferSchema,
)
from server.kernel.permissions import Permission
from server.orders import export as order_export
from server.residency import details, households, move_ins, payers, report, reshaping, transfers
from server.web.blueprint import Blueprint
from server.web.context import principal, session, today

blp = Blueprint(
    "admin_residency",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：住户生命周期（入伙、家庭成员、过户、拆分/合并房、收费对象、客服报表）",
)

# The desk runs these scenarios, so dispatchers act here too.


@blp.post("/move-ins")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(MoveInCreateSchema)
@blp.response(201, MoveInSchema)
@blp.alt_response(409, description="该房间在该日期已有业主 / 手机号或车牌重复")
def create_move_in(data: dict[str, Any]) -> Any:
    """业主入伙：房间、日期、业主或租户（已有或新客户）、联系人、家庭成员、车辆，一次办理"""
    return move_ins.move_in(session(), org_id=principal().org_id, data=data)


@blp.post("/households/<int:household_id>/members")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(HouseholdMemberCreateSchema)
@blp.response(201, HouseholdMemberSchema)
@blp.alt_response(404, description="住户不存在")
@blp.alt_response(409, description="该客户已是这一户的家庭成员")
def add_household_member(data: dict[str, Any], household_id: int) -> Any:
    """添加家庭成员（household_id：户主的房屋关系 id）"""
    return households.add_member(
        session(), org_id=principal().org_id, household_id=household_id, data=data
    )


@blp.route("/household-members/<int:member_id>")
class HouseholdMember(MethodView):
    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(HouseholdMemberUpdateSchema)
    @blp.response(200, HouseholdMemberSchema)
    @blp.alt_response(404, description="家庭成员不存在")
    def patch(self, changes: dict[str, Any], member_id: int) -> Any:
        """修改家庭成员与户主的关系"""
        return households.update_member(
            session(), org_id=principal().org_id, member_id=member_id, changes=changes
        )


@blp.post("/household-members/<int:member_id>/end")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(HouseholdMemberEndSchema)
@blp.response(200, HouseholdMemberSchema)
@blp.alt_response(404, description="家庭成员不存在")
@blp.alt_response(409, description="该成员的关系已结束")
def end_household_member(data: dict[str, Any], member_id: int) -> Any:
    """家庭成员迁出：关系于 end_date（含）结束，保留历史"""
    return households.end_member(
        session(), org_id=principal().org_id, member_id=member_id, end_date=data["end_date"]
    )


@blp.post("/rooms/<int:room_id>/transfers")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(RoomTransferCreateSchema)
@blp.response(201, RoomTransferSchema)
@blp.alt_response(404, description="房间不存在")
@blp.alt_response(409, description="该日期或之后已有新业主")
def transfer_room(data: dict[str, Any], room_id: int) -> Any:
    """房屋过户：原业主（及其家庭成员）至前一天止，新业主自当天起"""
    return transfers.transfer(session(), org_id=principal().org_id, room_id=room_id, data=data)


@blp.post("/room-splits")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(RoomSplitSchema)
@blp.response(201, RoomLineageListSchema)
@blp.alt_response(409, description="房间已停用 / 房号重复")
def split_room(data: dict[str, Any]) -> Any:
    """拆分房屋：一个房间拆为多个新房间，业主带到每个新房间，原房间停用"""
    return {"items": reshaping.split_room(session(), org_id=principal().org_id, data=data)}


@blp.post("/room-merges")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(RoomMergeSchema)
@blp.response(201, RoomLineageListSchema)
@blp.alt_response(409, description="房间已停用 / 房号重复")
def merge_rooms(data: dict[str, Any]) -> Any:
    """合并房屋：同一楼栋的多个房间合并为一个新房间，关系去重后带入，原房间停用"""
    return {"items": reshaping.merge_rooms(session(), org_id=principal().org_id, data=data)}


@blp.put("/rooms/<int:room_id>/payer")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(RoomPayerSetSchema)
@blp.response(200, RoomPayerSchema)
@blp.alt_response(404, description="房间不存在")
def set_room_payer(data: dict[str, Any], room_id: int) -> Any:
    """设置收费对象：自 start_date 起由该客户缴费（须与房间有关系），此前的收费对象至前一天止"""
    return payers.set_payer(
        session(),
        org_id=principal().org_id,
        room_id=room_id,
        customer_id=data["customer_id"],
        start_date=data["start_date"],
    )


@blp.get("/rooms/<int:room_id>/history")
@blp.auth(Permission.CUSTOMERS_VIEW)
@blp.read_only()
@blp.arguments(RoomHistoryArgsSchema, location="query")
@blp.response(200, RoomHistorySchema)
@blp.alt_response(404, description="房间不存在")
def room_history(args: dict[str, Any], room_id: int) -> Any:
    """房屋历史：某天（on）谁与房间有关系、谁缴费；不填 on：全部带日期的历史"""
    return details.room_history(
        session(), org_id=principal().org_id, room_id=room_id, on=args.get("on"), today=today()
    )


_CSV = {
    "type": "string",
    "description": "UTF-8（带 BOM）CSV，中文表头；以 = + - @ 开头的单元格前加单引号",
}


@blp.get("/reports/customer-service")
@blp.auth(Permission.REPORTS_VIEW)
@blp.read_only()
@blp.arguments(CustomerServiceReportArgsSchema, location="query")
@blp.response(200, CustomerServiceReportSchema)
@blp.alt_response(200, schema=_CSV, content_type=order_export.CSV_MEDIA_TYPE)
def customer_service_report(args: dict[str, Any]) -> Any:
    """客服中心报表：入伙、过户（按日/月）、各小区入住率、无手机号客户、无业主房间"""
    answer = report.customer_service(
        session(),
        org_id=principal().org_id,
        date_from=args["date_from"],
        date_to=args["date_to"],
        community_id=args.get("community_id"),
        bucket=args["bucket"],
        today=today(),
    )
    if args["format"] == "csv":
        headers, rows = report.report_table(answer)
        body = b"".join(order_export.csv_chunks(rows, headers=headers))
        response = Response(body, mimetype=order_export.CSV_MEDIA_TYPE)
        name = f"customer-service-{answer.date_from:%Y%m%d}-{answer.date_to:%Y%m%d}.csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Cache-Control"] = "no-store"
        return response
    return answer
