"""Console: notices (通知公告) and the staff bulletin (公告板) — publish, schedule, withdraw,
read receipts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.common import PageArgsSchema, page_of
from schemas.notices import (
    DeskNoticeSchema,
    NoticeCreateSchema,
    NoticeQueryArgsSchema,
    UnreadRecipientSchema,
)
from server.kernel.permissions import Permission
from server.notices import publishing, reading
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "admin_notices", __name__, url_prefix="/api/v1/admin", description="控制台：通知公告与公告板"
)


@blp.route("/notices")
class Notices(MethodView):
    @blp.auth(Permission.NOTICES_VIEW)
    @blp.read_only()
    @blp.arguments(NoticeQueryArgsSchema, location="query")
    @blp.response(200, page_of(DeskNoticeSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """通知与公告列表（新建在前），附送达、已读、未读人数"""
        return reading.desk_notices(
            session(),
            org_id=principal().org_id,
            audience=args["audience"],
            status=args["status"],
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.NOTICES_ACT)
    @blp.idempotent()
    @blp.arguments(NoticeCreateSchema)
    @blp.response(201, DeskNoticeSchema)
    @blp.alt_response(409, description="idempotency_conflict：同一幂等键对应了不同的请求内容")
    def post(self, data: dict[str, Any]) -> Any:
        """发布通知：全体、指定小区 / 楼栋 / 房间（住户），或指定部门 / 全体员工（公告板）

        立即返回；送达（收件箱、推送、订阅消息）在后台分批进行。发布日与房间有关联的住户
        收到通知；紧急通知立即推送。`publish_at` 在将来则定时发布。`image_ids`：先经
        POST /uploads 上传的图片（最多 9 张），发布后只有控制台与收到通知的人可以查看。
        """
        caller = principal()
        notice = publishing.publish(
            session(),
            org_id=caller.org_id,
            user_id=caller.user_id,
            new=publishing.NewNotice(
                audience=data["audience"],
                title=data["title"],
                body=data["body"],
                scope=data["scope"],
                target_ids=tuple(data["target_ids"]),
                urgent=data["urgent"],
                publish_at=data["publish_at"],
                expires_at=data["expires_at"],
                image_ids=tuple(data["image_ids"]),
            ),
            now=now(),
        )
        return reading.desk_notice(session(), org_id=caller.org_id, notice_id=notice.id)


@blp.get("/notices/<int:notice_id>")
@blp.auth(Permission.NOTICES_VIEW)
@blp.read_only()
@blp.response(200, DeskNoticeSchema)
def notice(notice_id: int) -> Any:
    """通知详情与阅读统计"""
    return reading.desk_notice(session(), org_id=principal().org_id, notice_id=notice_id)


@blp.get("/notices/<int:notice_id>/unread")
@blp.auth(Permission.NOTICES_VIEW)
@blp.read_only()
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_of(UnreadRecipientSchema))
def unread(args: dict[str, Any], notice_id: int) -> Any:
    """尚未阅读的人（手机号脱敏）"""
    return reading.unread_recipients(
        session(),
        org_id=principal().org_id,
        notice_id=notice_id,
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.post("/notices/<int:notice_id>/withdraw")
@blp.auth(Permission.NOTICES_ACT)
@blp.response(200, DeskNoticeSchema)
@blp.alt_response(409, description="invalid_transition：通知已撤回")
def withdraw(notice_id: int) -> Any:
    """撤回通知：住户与员工不再看到（定时发布的不再发布）"""
    org_id = principal().org_id
    publishing.withdraw(session(), org_id=org_id, notice_id=notice_id, now=now())
    return reading.desk_notice(session(), org_id=org_id, notice_id=notice_id)
