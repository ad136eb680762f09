"""Technician app: the staff bulletin (公告板) notices that reached me, and reading them."""

from __future__ import annotations

from typing import Any

from schemas.common import page_of
from schemas.notices import ReceivedNoticeQueryArgsSchema, ReceivedNoticeSchema
from server.kernel.roles import Role
from server.notices import reading
from server.notices.rules import AUDIENCE_STAFF
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "tech_notices", __name__, url_prefix="/api/v1/tech", description="维修工 App：公告板"
)


@blp.get("/notices")
@blp.auth(Role.TECHNICIAN, Role.DISPATCHER, Role.ADMIN)
@blp.read_only()
@blp.arguments(ReceivedNoticeQueryArgsSchema, location="query")
@blp.response(200, page_of(ReceivedNoticeSchema))
def notices(args: dict[str, Any]) -> Any:
    """我的公告（新发布在前）：发给我所在部门或全体员工的公告；已撤回、已过期的不显示"""
    caller = principal()
    return reading.my_notices(
        session(),
        user_id=caller.user_id,
        org_id=caller.org_id,
        audience=AUDIENCE_STAFF,
        unread_only=args["unread"],
        now=now(),
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.get("/notices/<int:notice_id>")
@blp.auth(Role.TECHNICIAN, Role.DISPATCHER, Role.ADMIN)
@blp.read_only()
@blp.response(200, ReceivedNoticeSchema)
def notice(notice_id: int) -> Any:
    """公告详情（阅读请调用 POST …/read）"""
    caller = principal()
    return reading.my_notice(
        session(),
        user_id=caller.user_id,
        org_id=caller.org_id,
        audience=AUDIENCE_STAFF,
        notice_id=notice_id,
        now=now(),
    )


@blp.post("/notices/<int:notice_id>/read")
@blp.auth(Role.TECHNICIAN, Role.DISPATCHER, Role.ADMIN)
@blp.response(200, ReceivedNoticeSchema)
def read(notice_id: int) -> Any:
    """标记已读（只记第一次阅读的时间；消息中心里对应的通知也变为已读）"""
    caller = principal()
    return reading.mark_read(
        session(),
        user_id=caller.user_id,
        org_id=caller.org_id,
        audience=AUDIENCE_STAFF,
        notice_id=notice_id,
        now=now(),
    )
