"""Tenant endpoints: complaints and suggestions (投诉建议) — file, follow, reply, rate."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.complaints import (
    ComplaintCreateSchema,
    ComplaintDetailSchema,
    ComplaintRatingSchema,
    ComplaintReplyCreateSchema,
    TenantComplaintPageSchema,
    TenantComplaintQueryArgsSchema,
)
from server.accounts.auth import active_user
from server.complaints import tenant
from server.kernel.roles import Role
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session, today

blp = Blueprint(
    "tenant_complaints", __name__, url_prefix="/api/v1/tenant", description="住户：投诉建议"
)


def _user() -> Any:
    caller = principal()
    return active_user(session(), user_id=caller.user_id, org_id=caller.org_id)


@blp.route("/complaints")
class TenantComplaints(MethodView):
    @blp.auth(Role.TENANT)
    @blp.read_only()
    @blp.arguments(TenantComplaintQueryArgsSchema, location="query")
    @blp.response(200, TenantComplaintPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """我的投诉建议，最新的在前"""
        return tenant.own_complaints(
            session(),
            user=_user(),
            status=args.get("status"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Role.TENANT)
    @blp.idempotent()
    @blp.arguments(ComplaintCreateSchema)
    @blp.response(201, ComplaintDetailSchema)
    @blp.alt_response(409, description="idempotency_conflict")
    def post(self, data: dict[str, Any]) -> Any:
        """提交投诉或建议：可附最多 9 张照片，可注明相关工单（须是我的）或师傅"""
        return tenant.file_complaint(
            session(),
            user=_user(),
            kind=data["kind"],
            text=data["text"],
            image_ids=data["image_ids"],
            order_id=data["order_id"],
            staff_id=data["staff_id"],
            now=now(),
            today=today(),
        )


@blp.get("/complaints/<int:complaint_id>")
@blp.auth(Role.TENANT)
@blp.read_only()
@blp.response(200, ComplaintDetailSchema)
@blp.alt_response(404, description="投诉建议不存在")
def complaint(complaint_id: int) -> Any:
    """我的一条投诉建议：处理进度与往来回复"""
    return tenant.tenant_detail(session(), user=_user(), complaint_id=complaint_id)


@blp.post("/complaints/<int:complaint_id>/replies")
@blp.auth(Role.TENANT)
@blp.arguments(ComplaintReplyCreateSchema)
@blp.response(201, ComplaintDetailSchema)
@blp.alt_response(404, description="投诉建议不存在")
@blp.alt_response(409, description="invalid_transition：已办结")
def reply(data: dict[str, Any], complaint_id: int) -> Any:
    """补充说明 / 回复物业"""
    return tenant.tenant_reply(
        session(), user=_user(), complaint_id=complaint_id, text=data["text"], now=now()
    )


@blp.post("/complaints/<int:complaint_id>/rating")
@blp.auth(Role.TENANT)
@blp.arguments(ComplaintRatingSchema)
@blp.response(200, ComplaintDetailSchema)
@blp.alt_response(404, description="投诉建议不存在")
@blp.alt_response(409, description="invalid_transition：未办结或已评价")
def rate(data: dict[str, Any], complaint_id: int) -> Any:
    """评价处理结果（办结后，一次）"""
    return tenant.rate_handling(
        session(),
        user=_user(),
        complaint_id=complaint_id,
        score=data["score"],
        comment=data["comment"],
        now=now(),
    )
