"""Console schemas for background jobs (the outbox)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema
from server.outbox.rules import STATUSES


class OutboxItemSchema(Schema):
    """One side effect waiting, delivered or given up (its arguments are not shown)."""

    id = fields.Integer()
    job = fields.String(metadata={"description": "任务名称"})
    status = fields.String(
        metadata={
            "description": "pending 等待投递；delivering 投递中；delivered 已完成；failed 已放弃",
            "enum": list(STATUSES),
        }
    )
    attempts = fields.Integer(metadata={"description": "已尝试次数"})
    max_attempts = fields.Integer(metadata={"description": "允许的尝试次数（重试会增加）"})
    next_attempt_at = LocalDateTime(metadata={"description": "下次尝试时间（pending）"})
    last_error = fields.String(
        allow_none=True, metadata={"description": "最近一次失败：异常类型与信息（已脱敏）"}
    )
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    delivered_at = LocalDateTime(allow_none=True)


class OutboxQueryArgsSchema(PageArgsSchema):
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "只看某一状态，如 failed 或 pending"},
    )
