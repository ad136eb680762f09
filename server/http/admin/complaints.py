"""Console: complaints and suggestions (投诉建议) — list, classify, assign, reply, close."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.complaints import (
    ComplaintAssignSchema,
    ComplaintClassifySchema,
    ComplaintReplyCreateSchema,
    DeskComplaintDetailSchema,
    DeskComplaintPageSchema,
    DeskComplaintQueryArgsSchema,
)
from server.complaints import desk
from server.kernel.permissions import Permission
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "admin_complaints", __name__, url_prefix="/api/v1/admin", description="控制台：投诉建议"
)

_CLOSED = "invalid_transition：已办结"


@blp.get("/complaints")
@blp.auth(Permission.ORDERS_VIEW)
@blp.read_only()
@blp.arguments(DeskComplaintQueryArgsSchema, location="query")
@blp.response(200, DeskComplaintPageSchema)
def complaints(args: dict[str, Any]) -> Any:
    """投诉建议列表：按状态、类型、分类、严重程度筛选，最新的在前"""
    return desk.desk_complaints(
        session(),
        org_id=principal().org_id,
        filters=desk.ComplaintFilters(
            statuses=args.get("status"),
            kind=args.get("kind"),
            category=args.get("category"),
            severity=args.get("severity"),
        ),
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.route("/complaints/<int:complaint_id>")
class DeskComplaint(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.read_only()
    @blp.response(200, DeskComplaintDetailSchema)
    @blp.alt_response(404, description="投诉建议不存在")
    def get(self, complaint_id: int) -> Any:
        """投诉建议详情，含往来回复与图片"""
        return desk.desk_detail(session(), org_id=principal().org_id, complaint_id=complaint_id)

    @blp.auth(Permission.ORDERS_ACT)
    @blp.arguments(ComplaintClassifySchema)
    @blp.response(200, DeskComplaintDetailSchema)
    @blp.alt_response(404, description="投诉建议不存在")
    @blp.alt_response(409, description=_CLOSED)
    def patch(self, data: dict[str, Any], complaint_id: int) -> Any:
        """分类：设置分类与严重程度（严重程度决定办结时限，从提交时起按工作时间计）"""
        return desk.classify(
            session(),
            org_id=principal().org_id,
            complaint_id=complaint_id,
            category=data.get("category"),
            severity=data.get("severity"),
            now=now(),
        )


@blp.post("/complaints/<int:complaint_id>/assign")
@blp.auth(Permission.ORDERS_ACT)
@blp.arguments(ComplaintAssignSchema)
@blp.response(200, DeskComplaintDetailSchema)
@blp.alt_response(404, description="投诉建议不存在")
@blp.alt_response(409, description=_CLOSED)
def assign(data: dict[str, Any], complaint_id: int) -> Any:
    """交办：给一个部门或一位员工（二选一）"""
    return desk.assign(
        session(),
        org_id=principal().org_id,
        complaint_id=complaint_id,
        department_id=data["department_id"],
        staff_id=data["staff_id"],
        now=now(),
    )


@blp.post("/complaints/<int:complaint_id>/replies")
@blp.auth(Permission.ORDERS_ACT)
@blp.arguments(ComplaintReplyCreateSchema)
@blp.response(201, DeskComplaintDetailSchema)
@blp.alt_response(404, description="投诉建议不存在")
@blp.alt_response(409, description=_CLOSED)
def reply(data: dict[str, Any], complaint_id: int) -> Any:
    """答复住户（住户会收到通知）"""
    caller = principal()
    return desk.desk_reply(
        session(),
        org_id=caller.org_id,
        user_id=caller.user_id,
        complaint_id=complaint_id,
        text=data["text"],
        now=now(),
    )


@blp.post("/complaints/<int:complaint_id>/close")
@blp.auth(Permission.ORDERS_ACT)
@blp.response(200, DeskComplaintDetailSchema)
@blp.alt_response(404, description="投诉建议不存在")
@blp.alt_response(409, description="invalid_transition：尚未答复住户，或已办结")
def close(complaint_id: int) -> Any:
    """办结（须先答复住户）"""
    caller = principal()
    return desk.close(
        session(),
        org_id=caller.org_id,
        user_id=caller.user_id,
        complaint_id=complaint_id,
        now=now(),
    )
