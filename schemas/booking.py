"""Schemas of booking slots (预约时段): the slot list, the console's settings and occupancy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import LocalDateTime, TrimmedString
from server.booking.rules import (
    DAYS_AHEAD_MAX,
    HOLD_MINUTES_MAX,
    HOLD_MINUTES_MIN,
    LEAD_MINUTES_MAX,
    QUOTA_MAX,
    REASONS,
    SLOT_MINUTES_MAX,
    SLOT_MINUTES_MIN,
    WEEKDAYS,
    WINDOWS_MAX,
)

HHMM = r"^([01]\d|2[0-4]):[0-5]\d$"
REASON_DOC = (
    "不可预约的原因：past 已过 | too_soon 即将开始（提前量内）| too_far 尚未开放 | "
    "closed 暂停预约 | full 已约满；可预约时为 null"
)


def _plausible(moment: datetime) -> None:
    # Far-off years are refused here: they would overflow on the way to local time.
    if not 2000 <= moment.year <= 2100:
        raise ValidationError("时间超出范围")


def slot_start_field(**kwargs: Any) -> fields.AwareDateTime:
    """A slot's start as the slot list gives it: ISO 8601 with its offset."""
    metadata = {
        "description": "预约时段的开始时间（取自时段列表的 start，须带时区）",
        "example": "2026-12-01T09:00:00+08:00",
        **kwargs.pop("metadata", {}),
    }
    return fields.AwareDateTime(validate=_plausible, metadata=metadata, **kwargs)


class SlotQueryArgsSchema(Schema):
    date = fields.Date(required=True, metadata={"description": "北京时间日期 YYYY-MM-DD"})
    room_id = fields.Integer(
        metadata={"description": "报修房间：名额按其小区计算（机构只有一个小区时可省略）"}
    )


class SlotSchema(Schema):
    start = LocalDateTime()
    end = LocalDateTime()
    capacity = fields.Integer(metadata={"description": "每时段上限（调度员含预留名额）"})
    remaining = fields.Integer(metadata={"description": "剩余名额"})
    available = fields.Boolean(metadata={"description": "是否可选"})
    reason = fields.String(
        allow_none=True, validate=validate.OneOf(REASONS), metadata={"description": REASON_DOC}
    )


class RescheduleSchema(Schema):
    slot_start = slot_start_field(required=True)


class WindowSchema(Schema):
    start = fields.String(
        required=True,
        validate=validate.Regexp(HHMM, error="时间格式应为 HH:MM"),
        metadata={"example": "09:00"},
    )
    end = fields.String(
        required=True,
        validate=validate.Regexp(HHMM, error="时间格式应为 HH:MM"),
        metadata={"example": "12:00"},
    )


class CommunityQuotaSchema(Schema):
    community_id = fields.Integer(required=True, strict=True)
    quota = fields.Integer(required=True, strict=True, validate=validate.Range(0, QUOTA_MAX))


class BookingSettingsSchema(Schema):
    """A subtype's booking settings; PUT replaces them all."""

    subtype_id = fields.Integer(dump_only=True)
    customised = fields.Boolean(
        dump_only=True, metadata={"description": "false：尚未设置，显示的是默认值"}
    )
    enabled = fields.Boolean(required=True, metadata={"description": "开启预约（报修时须选时段）"})
    slot_minutes = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(SLOT_MINUTES_MIN, SLOT_MINUTES_MAX),
        metadata={"description": "时段长度（分钟），如 60、120"},
    )
    windows = fields.List(
        fields.Nested(WindowSchema),
        required=True,
        validate=validate.Length(min=1, max=WINDOWS_MAX),
        metadata={"description": "每日可预约时间段（北京时间），时段长度须能整除各段长度"},
    )
    weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.OneOf(WEEKDAYS)),
        required=True,
        validate=validate.Length(min=1, max=7),
        metadata={"description": "可预约的星期（1 = 周一 … 7 = 周日）"},
    )
    quota = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(0, QUOTA_MAX),
        metadata={"description": "每时段上限（每个小区分别计算）"},
    )
    desk_reserve = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(0, QUOTA_MAX),
        metadata={"description": "仅调度员可用的预留名额（紧急工单），住户不可见"},
    )
    days_ahead = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(0, DAYS_AHEAD_MAX),
        metadata={"description": "可提前预约的天数"},
    )
    lead_minutes = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(0, LEAD_MINUTES_MAX),
        metadata={"description": "时段开始前多少分钟停止预约"},
    )
    hold_minutes = fields.Integer(
        load_default=15,
        strict=True,
        validate=validate.Range(HOLD_MINUTES_MIN, HOLD_MINUTES_MAX),
        metadata={"description": "下单即收费：待支付订单占用时段的时长（分钟），超时自动取消"},
    )
    community_quotas = fields.List(
        fields.Nested(CommunityQuotaSchema),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "各小区的每时段上限（覆盖 quota）"},
    )


class ExceptionQueryArgsSchema(Schema):
    since = fields.Date(metadata={"description": "从哪天起（默认今天）"})


class BookingExceptionSchema(Schema):
    id = fields.Integer(dump_only=True)
    date = fields.Date(required=True, metadata={"description": "北京时间日期"})
    slot_time = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="时间格式应为 HH:MM"),
        metadata={
            "description": "只针对该日某一时段（其开始时间 HH:MM）；省略则整天",
            "example": "09:00",
        },
    )
    closed = fields.Boolean(load_default=False, metadata={"description": "关闭（节假日）"})
    quota = fields.Integer(
        allow_none=True,
        load_default=None,
        strict=True,
        validate=validate.Range(0, QUOTA_MAX),
        metadata={"description": "当日（或该时段）的上限"},
    )
    note = TrimmedString(load_default="", validate=validate.Length(max=200))
    created_at = LocalDateTime(dump_only=True)

    @validates_schema
    def closes_or_sets_quota(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("closed") and data.get("quota") is None:
            raise ValidationError("请关闭（closed: true）或设置名额（quota）", "quota")


class ExceptionListSchema(Schema):
    items = fields.List(fields.Nested(BookingExceptionSchema))


class OccupancyQueryArgsSchema(Schema):
    subtype_id = fields.Integer(required=True)
    date = fields.Date(required=True, metadata={"description": "北京时间日期 YYYY-MM-DD"})
    community_id = fields.Integer()


class BookedOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()


class SlotOccupancySchema(Schema):
    start = LocalDateTime()
    end = LocalDateTime()
    quota = fields.Integer(metadata={"description": "住户可约上限"})
    capacity = fields.Integer(metadata={"description": "上限（含调度员预留）"})
    used = fields.Integer()
    reason = fields.String(allow_none=True, metadata={"description": REASON_DOC})
    orders = fields.List(fields.Nested(BookedOrderSchema))


class CommunityOccupancySchema(Schema):
    community_id = fields.Integer()
    community_name = fields.String()
    slots = fields.List(fields.Nested(SlotOccupancySchema))


class OccupancySchema(Schema):
    items = fields.List(fields.Nested(CommunityOccupancySchema))
