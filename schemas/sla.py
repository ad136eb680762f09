"""Console schemas of the SLA: policies per order type (and priority), the business calendar."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import LocalDateTime, TrimmedString
from server.orders.rules.values import PRIORITIES
from server.sla.rules import DAY_KINDS, MAX_DEADLINE_MINUTES

_MINUTES = validate.Range(min=1, max=MAX_DEADLINE_MINUTES)
_HHMM = {"format": "%H:%M"}


class SlaPolicySchema(Schema):
    id = fields.Integer(dump_only=True)
    order_type_id = fields.Integer(required=True, strict=True)
    priority = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(PRIORITIES),
        metadata={"description": "只适用于该优先级；为空则适用于该类型的所有优先级"},
    )
    response_minutes = fields.Integer(
        allow_none=True,
        load_default=None,
        strict=True,
        validate=_MINUTES,
        metadata={"description": "响应时限（分钟）：派单后接单或被抢单；为空则不计"},
    )
    resolution_minutes = fields.Integer(
        required=True,
        strict=True,
        validate=_MINUTES,
        metadata={"description": "办结时限（分钟）"},
    )
    business_hours = fields.Boolean(
        load_default=False, metadata={"description": "只计工作时间（按机构工作日历）"}
    )
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class SlaPolicyListSchema(Schema):
    items = fields.List(fields.Nested(SlaPolicySchema))


class BusinessDaySchema(Schema):
    id = fields.Integer(dump_only=True)
    day = fields.Date(required=True, metadata={"description": "北京时间日期"})
    kind = fields.String(
        required=True,
        validate=validate.OneOf(DAY_KINDS),
        metadata={"description": "holiday 节假日（不上班） / workday 调休上班"},
    )
    name = TrimmedString(load_default="", validate=validate.Length(max=50))


class BusinessWeekSchema(Schema):
    weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
        required=True,
        validate=validate.Length(min=1, max=7),
        metadata={"description": "工作日（ISO：周一 = 1 … 周日 = 7）"},
    )
    opens = fields.Time(required=True, metadata={**_HHMM, "example": "09:00"})
    closes = fields.Time(required=True, metadata={**_HHMM, "example": "18:00"})

    @validates_schema
    def opens_before_closes(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "opens" in data and "closes" in data and not data["opens"] < data["closes"]:
            raise ValidationError("下班时间须晚于上班时间", field_name="closes")


class BusinessCalendarSchema(BusinessWeekSchema):
    customised = fields.Boolean(dump_only=True, metadata={"description": "false：默认日历"})
    days = fields.List(fields.Nested(BusinessDaySchema), dump_only=True)
