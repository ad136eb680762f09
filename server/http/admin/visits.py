"""Console: return visits (回访) — the queue, one visit, the outcome of the call."""

from __future__ import annotations

from typing import Any

from schemas.visits import (
    ReturnVisitPageSchema,
    ReturnVisitSchema,
    VisitOutcomeSchema,
    VisitQueryArgsSchema,
)
from server.kernel.permissions import Permission
from server.kernel.roles import Role
from server.orders.actors import Actor
from server.visits import desk
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint("admin_visits", __name__, url_prefix="/api/v1/admin", description="控制台：回访")


def _actor() -> Actor:
    caller = principal()
    role = Role.DISPATCHER.value if Role.DISPATCHER.value in caller.roles else Role.ADMIN.value
    return Actor(user_id=caller.user_id, org_id=caller.org_id, role=role)


@blp.get("/return-visits")
@blp.auth(Permission.ORDERS_VIEW)
@blp.read_only()
@blp.arguments(VisitQueryArgsSchema, location="query")
@blp.response(200, ReturnVisitPageSchema)
def visits(args: dict[str, Any]) -> Any:
    """回访任务：status=due 待回访（最早的在前）| done 已回访（最新的在前）

    低分评价、重新打开的工单，以及按机构设置抽样的关闭工单，各生成一条回访任务。
    """
    return desk.list_visits(
        session(),
        org_id=principal().org_id,
        status=args.get("status"),
        order_id=args.get("order_id"),
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.get("/return-visits/<int:visit_id>")
@blp.auth(Permission.ORDERS_VIEW)
@blp.read_only()
@blp.response(200, ReturnVisitSchema)
@blp.alt_response(404, description="回访任务不存在")
def visit(visit_id: int) -> Any:
    """回访任务详情"""
    return desk.get_visit(session(), org_id=principal().org_id, visit_id=visit_id)


@blp.post("/return-visits/<int:visit_id>/outcome")
@blp.auth(Permission.ORDERS_ACT)
@blp.arguments(VisitOutcomeSchema)
@blp.response(200, ReturnVisitSchema)
@blp.alt_response(404, description="回访任务不存在")
@blp.alt_response(
    409, description="invalid_transition：已记录过结果；reopen_window_passed：超过重新打开时限"
)
def outcome(data: dict[str, Any], visit_id: int) -> Any:
    """记录回访结果（每条任务只记录一次）；不满意时可重新打开工单"""
    return desk.record_outcome(
        session(),
        actor=_actor(),
        visit_id=visit_id,
        reached=data["reached"],
        satisfied=data["satisfied"],
        notes=data["notes"],
        reopen=data["reopen"],
        now=now(),
    )
