"""日志管理: the audit log and the desk's WeChat unbinding."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import LocalDateTime, MaskedPhone, PageArgsSchema, Phone, TrimmedString
from server.audit.rules import ACTOR_ROLES, KINDS, TARGET_TYPES
from server.orders.rules.values import DESK_LIST_FORMATS


def _plausible(moment: datetime) -> None:
    # Far-off years are refused here: they would overflow on the way to local time.
    if not 2000 <= moment.year <= 2100:
        raise ValidationError("时间超出范围")


class AuditQueryArgsSchema(PageArgsSchema):
    actor_user_id = fields.Integer(
        validate=validate.Range(min=1, max=2**63 - 1), metadata={"description": "操作人用户 ID"}
    )
    kind = fields.String(
        validate=validate.OneOf(tuple(KINDS)),
        metadata={"description": "类型：" + "；".join(f"{k} {v}" for k, v in KINDS.items())},
    )
    target_type = fields.String(
        validate=validate.OneOf(tuple(TARGET_TYPES)),
        metadata={
            "description": "对象类型：" + "；".join(f"{k} {v}" for k, v in TARGET_TYPES.items())
        },
    )
    target_id = fields.Integer(
        validate=validate.Range(min=1, max=2**63 - 1), metadata={"description": "对象 ID"}
    )
    at_from = fields.AwareDateTime(
        validate=_plausible, metadata={"description": "时间起（含，带时区的 ISO 8601）"}
    )
    at_to = fields.AwareDateTime(
        validate=_plausible, metadata={"description": "时间止（不含，带时区的 ISO 8601）"}
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(DESK_LIST_FORMATS),
        metadata={
            "description": "json 分页；csv（UTF-8 带 BOM）/ xlsx 导出全部匹配（最多 50,000 行）"
        },
    )

    @validates_schema
    def _range(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("at_from"), data.get("at_to")
        if start and end and start >= end:
            raise ValidationError("结束时间须晚于开始时间", "at_to")


class AuditEntrySchema(Schema):
    id = fields.Integer(required=True)
    at = LocalDateTime(required=True, metadata={"description": "发生时间"})
    actor_user_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "操作人（登录失败时为空）"}
    )
    actor_name = fields.String(required=True)
    actor_role = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(ACTOR_ROLES),
        metadata={"description": "操作时的角色；无操作人时为 null"},
    )
    actor_role_label = fields.String(required=True, dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(tuple(KINDS)))
    kind_label = fields.String(required=True, dump_only=True)
    target_type = fields.String(required=True, metadata={"description": "对象类型；空为无"})
    target_type_label = fields.String(required=True, dump_only=True)
    target_id = fields.Integer(required=True, allow_none=True)
    summary = fields.String(required=True, metadata={"description": "摘要（个人信息已脱敏）"})
    data = fields.Dict(required=True, metadata={"description": "明细（个人信息已脱敏）"})
    client_address = fields.String(required=True, metadata={"description": "客户端 IP"})
    user_agent = fields.String(required=True)
    device = fields.String(required=True, dump_only=True, metadata={"description": "设备"})


class WeChatUnbindSchema(Schema):
    phone = Phone(required=True, metadata={"description": "住户账号的手机号"})
    reason = TrimmedString(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "解绑原因（记入操作日志）"},
    )


class WeChatUnbindResultSchema(Schema):
    user_id = fields.Integer(required=True, attribute="id")
    name = fields.String(required=True)
    phone = MaskedPhone(required=True)


class AuditDayQueryArgsSchema(PageArgsSchema):
    """The console's filters: the API's, with the time range as local dates (both included)."""

    actor_user_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    kind = fields.String(validate=validate.OneOf(tuple(KINDS)))
    target_type = fields.String(validate=validate.OneOf(tuple(TARGET_TYPES)))
    target_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    date_from = fields.Date(metadata={"description": "日期起（北京时间，含）"})
    date_to = fields.Date(metadata={"description": "日期止（北京时间，含）"})

    @validates_schema
    def _dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError("结束日期不能早于开始日期", "date_to")
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day and not 2000 <= day.year <= 2100:
                raise ValidationError("日期超出范围", name)
