"""Console: the dispatcher's workbench (工作台) — every queue in one call — and its thresholds."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.workbench import (
    WorkbenchArgsSchema,
    WorkbenchOrderPageSchema,
    WorkbenchQueueArgsSchema,
    WorkbenchSchema,
    WorkbenchSettingsSchema,
)
from server.kernel.permissions import Permission
from server.organisation import settings as settings_service
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session
from server.workbench import queues

blp = Blueprint(
    "admin_workbench", __name__, url_prefix="/api/v1/admin", description="控制台：工作台"
)


@blp.get("/workbench")
@blp.auth(Permission.ORDERS_VIEW)
@blp.read_only()
@blp.arguments(WorkbenchArgsSchema, location="query")
@blp.response(200, WorkbenchSchema)
def workbench(args: dict[str, Any]) -> Any:
    """工作台：各待办队列的精确数量与第一页

    待派单（最早的在前）、派单未接（超过机构设定的分钟数）、已超时、挂起过久（待备件超过设定）、
    办结待收款、住户催单、待回访（低分、重新打开与抽样的已关闭工单）。列表项与工单列表相同
    （电话脱敏）。另附待处理的投诉建议（未关闭，时限最近的在前）。
    """
    org_id = principal().org_id
    return {
        "queues": queues.workbench(
            session(), org_id=org_id, now=now(), page_size=args["page_size"]
        ),
        "complaints": queues.open_complaints(session(), org_id=org_id, page_size=args["page_size"]),
    }


@blp.get("/workbench/orders")
@blp.auth(Permission.ORDERS_VIEW)
@blp.read_only()
@blp.arguments(WorkbenchQueueArgsSchema, location="query")
@blp.response(200, WorkbenchOrderPageSchema)
def queue(args: dict[str, Any]) -> Any:
    """工作台的一个队列，分页"""
    return queues.queue_page(
        session(),
        org_id=principal().org_id,
        name=args["queue"],
        now=now(),
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.route("/settings/workbench")
class WorkbenchSettings(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.read_only()
    @blp.response(200, WorkbenchSettingsSchema)
    def get(self) -> Any:
        """工作台与催单设置：派单未接、挂起过久的阈值，住户催单的等待时间与间隔（分钟）"""
        return settings_service.get_organisation(session(), org_id=principal().org_id)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(WorkbenchSettingsSchema(partial=True))
    @blp.response(200, WorkbenchSettingsSchema)
    def patch(self, changes: dict[str, Any]) -> Any:
        """修改工作台与催单设置（仅管理员）"""
        return settings_service.update_workbench_settings(
            session(), org_id=principal().org_id, changes=changes
        )
