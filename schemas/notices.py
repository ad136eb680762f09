"""Schemas for notices (通知公告), the staff bulletin (公告板) and their read receipts."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import LocalDateTime, MaskedPhone, PageArgsSchema, TrimmedString, name_field
from schemas.orders import IMAGE_IDS, ImageSchema
from server.notices.rules import AUDIENCES, MAX_TARGETS, SCOPES, STATUSES

_SCOPE_HELP = (
    "住户通知：org 全体、communities 指定小区、buildings 指定楼栋、rooms 指定房间；"
    "员工公告：departments 指定部门、all_staff 全体员工"
)


class NoticeCreateSchema(Schema):
    audience = fields.String(
        load_default="tenant",
        validate=validate.OneOf(AUDIENCES),
        metadata={"description": "tenant 住户通知（默认）；staff 员工公告"},
    )
    title = name_field(40)
    body = TrimmedString(required=True, validate=validate.Length(min=1, max=5000))
    urgent = fields.Boolean(
        load_default=False, metadata={"description": "紧急通知（停水停电）：立即推送"}
    )
    scope = fields.String(
        required=True, validate=validate.OneOf(SCOPES), metadata={"description": _SCOPE_HELP}
    )
    target_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=MAX_TARGETS),
        metadata={"description": "发布对象的 id（小区 / 楼栋 / 房间 / 部门，随 scope）"},
    )
    publish_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "定时发布时间；不填或已过去则立即发布"},
    )
    expires_at = fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "过期时间（可选）"}
    )
    image_ids = IMAGE_IDS

    @validates_schema
    def _order(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("publish_at"), data.get("expires_at")
        if start is not None and end is not None and end <= start:
            raise ValidationError("过期时间应晚于发布时间", "expires_at")


class NoticeQueryArgsSchema(PageArgsSchema):
    audience = fields.String(validate=validate.OneOf(AUDIENCES), load_default=None)
    status = fields.String(validate=validate.OneOf(STATUSES), load_default=None)


class DeskNoticeSchema(Schema):
    id = fields.Integer()
    audience = fields.String(validate=validate.OneOf(AUDIENCES))
    title = fields.String()
    body = fields.String()
    urgent = fields.Boolean()
    scope = fields.String(validate=validate.OneOf(SCOPES))
    target_ids = fields.List(fields.Integer())
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "scheduled 待发布，published 已发布，withdrawn 已撤回"},
    )
    publish_at = LocalDateTime()
    published_at = LocalDateTime(allow_none=True)
    expires_at = LocalDateTime(allow_none=True)
    withdrawn_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    recipients = fields.Integer(metadata={"description": "送达人数（后台分发完成前会增长）"})
    read = fields.Integer(metadata={"description": "已读人数"})
    unread = fields.Integer(metadata={"description": "未读人数"})
    images = fields.List(fields.Nested(ImageSchema), metadata={"description": "通知图片"})


class UnreadRecipientSchema(Schema):
    user_id = fields.Integer()
    name = fields.String()
    phone = MaskedPhone(metadata={"description": "脱敏手机号"})
    room = fields.String(allow_none=True, metadata={"description": "送达时关联的房间"})


class ReceivedNoticeQueryArgsSchema(PageArgsSchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "只看未读"})


class ReceivedNoticeSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    urgent = fields.Boolean()
    published_at = LocalDateTime(allow_none=True)
    expires_at = LocalDateTime(allow_none=True)
    read_at = LocalDateTime(allow_none=True)
    images = fields.List(fields.Nested(ImageSchema), metadata={"description": "通知图片"})
