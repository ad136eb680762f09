"""Console: background jobs (the outbox) — what failed, what waits, and retrying."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.common import page_of
from schemas.outbox import OutboxItemSchema, OutboxQueryArgsSchema
from server.kernel.permissions import Permission
from server.outbox import console
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint("admin_jobs", __name__, url_prefix="/api/v1/admin", description="控制台：后台任务")


@blp.route("/jobs")
class Jobs(MethodView):
    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(OutboxQueryArgsSchema, location="query")
    @blp.response(200, page_of(OutboxItemSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """后台任务列表（本机构；可按状态筛选，如 failed 失败、pending 等待中），新的在前"""
        return console.list_items(
            session(),
            org_id=principal().org_id,
            status=args.get("status"),
            page=args["page"],
            page_size=args["page_size"],
        )


@blp.post("/jobs/<int:job_id>/retry")
@blp.auth(Permission.SETTINGS_ACT)
@blp.response(200, OutboxItemSchema)
@blp.alt_response(404, description="任务不存在")
@blp.alt_response(409, description="invalid_transition：只有失败的任务可以重试")
def retry(job_id: int) -> Any:
    """重试失败的任务（重新给予完整的尝试次数，立即投递）"""
    return console.retry_item(session(), org_id=principal().org_id, outbox_id=job_id, now=now())
