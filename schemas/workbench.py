"""The dispatcher's workbench (工作台): its queues, and its thresholds."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import MAX_PAGE_SIZE, LocalDateTime, PageArgsSchema, page_of
from schemas.complaints import DeskComplaintSchema
from schemas.orders import OrderSchema
from server.organisation.models import MAX_SETTING_MINUTES
from server.workbench.rules import DEFAULT_FIRST_PAGE, QUEUES

QUEUE = fields.String(
    validate=validate.OneOf(QUEUES),
    metadata={
        "description": "unassigned 待派单 | unaccepted 派单未接 | overdue 已超时 | "
        "long_hold 挂起过久 | unpaid 办结待收款 | tenant_urged 住户催单 | "
        "return_visit_due 待回访"
    },
)


class WorkbenchArgsSchema(Schema):
    page_size = fields.Integer(
        load_default=DEFAULT_FIRST_PAGE,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": f"每个队列返回的条数（默认 {DEFAULT_FIRST_PAGE}）"},
    )


class WorkbenchQueueSchema(Schema):
    name = QUEUE
    label = fields.String(metadata={"description": "队列的中文名"})
    total = fields.Integer(metadata={"description": "队列中的工单数（精确）"})
    items = fields.List(fields.Nested(OrderSchema), metadata={"description": "第一页"})


class WorkbenchComplaintsSchema(Schema):
    label = fields.String(metadata={"description": "待处理投诉建议"})
    total = fields.Integer(metadata={"description": "未关闭的投诉建议数（精确）"})
    items = fields.List(
        fields.Nested(DeskComplaintSchema), metadata={"description": "第一页：时限最近的在前"}
    )


class WorkbenchSchema(Schema):
    queues = fields.List(fields.Nested(WorkbenchQueueSchema))
    complaints = fields.Nested(WorkbenchComplaintsSchema)


class WorkbenchQueueArgsSchema(PageArgsSchema):
    queue = fields.String(
        required=True,
        validate=validate.OneOf(QUEUES),
        metadata={"description": "队列名，见 GET /admin/workbench"},
    )


WorkbenchOrderPageSchema = page_of(OrderSchema)


def _minutes(low: int, description: str) -> fields.Integer:
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=low, max=MAX_SETTING_MINUTES),
        metadata={"description": description},
    )


class WorkbenchSettingsSchema(Schema):
    unaccepted_alert_minutes = _minutes(1, "派单后超过多少分钟未接单列入「派单未接」（默认 30）")
    long_hold_minutes = _minutes(1, "待备件超过多少分钟列入「挂起过久」（默认 1440）")
    tenant_urge_after_minutes = _minutes(0, "报修后等待多少分钟住户才可催单（默认 30）")
    tenant_urge_interval_minutes = _minutes(1, "住户两次催单的最短间隔（分钟，默认 60）")
    updated_at = LocalDateTime(dump_only=True)
