"""Schemas for devices, WeChat subscribe consents, the inbox and notification preferences."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema
from server.notifications.rules import KINDS, MAX_TOKEN, PLATFORMS


class DeviceCreateSchema(Schema):
    platform = fields.String(
        required=True,
        validate=validate.OneOf(PLATFORMS),
        metadata={"description": "android / ios（FCM 推送令牌），wechat（小程序）"},
    )
    token = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TOKEN))


class DeviceTokenSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TOKEN))


class DeviceSchema(Schema):
    id = fields.Integer()
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    token_tail = fields.Method(
        "_tail", metadata={"type": "string", "description": "令牌末 6 位（不返回完整令牌）"}
    )
    created_at = LocalDateTime()
    last_seen_at = LocalDateTime()

    def _tail(self, device: Any) -> str:
        return str(device.token)[-6:]


class SubscriptionsSchema(Schema):
    template_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "wx.requestSubscribeMessage 中用户接受的模板 ID（每次一条）"},
    )


class ConsentsSchema(Schema):
    consents = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "模板 ID → 剩余可发送次数（一次性订阅，每发一条用掉一次）"},
    )


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(KINDS))
    title = fields.String()
    body = fields.String()
    order_id = fields.Integer(allow_none=True)
    data = fields.Dict()
    urgent = fields.Boolean()
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)


class InboxSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    unread = fields.Integer(required=True, metadata={"description": "未读总数"})


class InboxArgsSchema(PageArgsSchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "只看未读"})


class ReadAllSchema(Schema):
    updated = fields.Integer()


class PreferencesSchema(Schema):
    quiet_start = fields.Time(
        allow_none=True, load_default=None, metadata={"description": "免打扰开始（北京时间）"}
    )
    quiet_end = fields.Time(
        allow_none=True, load_default=None, metadata={"description": "免打扰结束（可跨零点）"}
    )
    muted_kinds = fields.List(
        fields.String(validate=validate.OneOf(KINDS)),
        load_default=list,
        validate=validate.Length(max=len(KINDS)),
        metadata={"description": "不推送的通知类型（仍进消息中心；紧急类型不能关闭）"},
    )
    urgent_kinds = fields.List(fields.String(validate=validate.OneOf(KINDS)), dump_only=True)
