"""The caller's own profile, devices, notification consents, inbox and preferences."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.accounts import UserSchema
from schemas.notifications import (
    ConsentsSchema,
    DeviceCreateSchema,
    DeviceSchema,
    DeviceTokenSchema,
    InboxArgsSchema,
    InboxSchema,
    NotificationSchema,
    PreferencesSchema,
    ReadAllSchema,
    SubscriptionsSchema,
)
from server.accounts.auth import active_user
from server.accounts.profile import profile
from server.notifications import devices, inbox
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="当前用户")


@blp.get("")
@blp.auth()
@blp.response(200, UserSchema)
def me() -> dict[str, Any]:
    """当前登录用户、所属机构、角色与员工信息"""
    caller = principal()
    user = active_user(session(), user_id=caller.user_id, org_id=caller.org_id)
    return profile(session(), user=user)


# --- devices, consents, the inbox, preferences ------------------------------------------------


def _caller() -> tuple[int, int]:
    caller = principal()
    active_user(session(), user_id=caller.user_id, org_id=caller.org_id)
    return int(caller.org_id), int(caller.user_id)


@blp.post("/devices")
@blp.auth()
@blp.arguments(DeviceCreateSchema)
@blp.response(201, DeviceSchema)
def register_device(data: dict[str, Any]) -> Any:
    """登记接收推送的设备（同一用户可有多台；令牌已属他人时转到当前用户）"""
    org_id, user_id = _caller()
    return devices.register_device(
        session(),
        org_id=org_id,
        user_id=user_id,
        platform=data["platform"],
        token=data["token"],
        now=now(),
    )


@blp.post("/devices/unregister")
@blp.auth()
@blp.arguments(DeviceTokenSchema)
@blp.response(204)
def unregister_device(data: dict[str, Any]) -> None:
    """本设备退出登录：不再接收推送"""
    _, user_id = _caller()
    devices.unregister_device(session(), user_id=user_id, token=data["token"])


@blp.post("/subscriptions")
@blp.auth()
@blp.arguments(SubscriptionsSchema)
@blp.response(200, ConsentsSchema)
def subscriptions(data: dict[str, Any]) -> Any:
    """小程序上报用户同意的订阅消息模板（一次性订阅：每发一条用掉一次；无授权只进消息中心）"""
    org_id, user_id = _caller()
    devices.record_consents(
        session(), org_id=org_id, user_id=user_id, template_ids=data["template_ids"], now=now()
    )
    return {"consents": devices.consents_of(session(), user_id=user_id)}


@blp.get("/notifications")
@blp.auth()
@blp.arguments(InboxArgsSchema, location="query")
@blp.response(200, InboxSchema)
def notifications(args: dict[str, Any]) -> Any:
    """消息中心：我的通知（新的在前）与未读数"""
    _, user_id = _caller()
    listed, unread = inbox.inbox(
        session(),
        user_id=user_id,
        unread_only=args["unread"],
        page=args["page"],
        page_size=args["page_size"],
    )
    return {
        "items": listed.items,
        "total": listed.total,
        "page": listed.page,
        "page_size": listed.page_size,
        "unread": unread,
    }


@blp.post("/notifications/<int:notification_id>/read")
@blp.auth()
@blp.response(200, NotificationSchema)
def read(notification_id: int) -> Any:
    """标为已读（再次标记不变）"""
    _, user_id = _caller()
    return inbox.mark_read(session(), user_id=user_id, notification_id=notification_id, now=now())


@blp.post("/notifications/read-all")
@blp.auth()
@blp.response(200, ReadAllSchema)
def read_all() -> Any:
    """全部标为已读"""
    _, user_id = _caller()
    return {"updated": inbox.mark_all_read(session(), user_id=user_id, now=now())}


@blp.route("/notification-preferences")
class Preferences(MethodView):
    @blp.auth()
    @blp.response(200, PreferencesSchema)
    def get(self) -> Any:
        """免打扰时段与关闭的通知类型"""
        _, user_id = _caller()
        return devices.preferences_of(session(), user_id=user_id)

    @blp.auth()
    @blp.arguments(PreferencesSchema)
    @blp.response(200, PreferencesSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """设置免打扰（北京时间，可跨零点）与不推送的类型；指派、超时等紧急通知总会推送"""
        org_id, user_id = _caller()
        return devices.set_preferences(
            session(),
            org_id=org_id,
            user_id=user_id,
            quiet_start=data["quiet_start"],
            quiet_end=data["quiet_end"],
            muted_kinds=data["muted_kinds"],
        )
