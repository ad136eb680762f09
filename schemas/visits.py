"""Return visits (回访): the desk's list, one visit, and the outcome of the call."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema, TrimmedString, page_of
from server.orders.rules.states import LABELS, Status
from server.orders.rules.values import STATUSES as ORDER_STATUSES
from server.visits.rules import REASON_LABELS, REASONS, STATUSES


class VisitOrderSchema(Schema):
    """The order a visit is about, in brief (no personal data)."""

    id = fields.Integer()
    number = fields.String(metadata={"example": "BX20261122-0001"})
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    status_label = fields.Function(
        lambda order: LABELS[Status(order.status)],
        metadata={"type": "string", "description": "状态的中文名"},
    )
    description = fields.String()
    assignee_id = fields.Integer(allow_none=True, metadata={"description": "处理师傅（员工 id）"})
    rating_score = fields.Integer(allow_none=True)
    rating_comment = fields.String()
    reopen_count = fields.Integer()
    completed_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)


class ReturnVisitSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    order = fields.Nested(VisitOrderSchema)
    reason = fields.String(
        validate=validate.OneOf(REASONS),
        metadata={"description": "low_rating 低分评价 | reopen 重新打开 | sample 抽样"},
    )
    reason_label = fields.Function(
        lambda visit: REASON_LABELS[visit.reason], metadata={"type": "string"}
    )
    status = fields.String(
        validate=validate.OneOf(STATUSES), metadata={"description": "due 待回访 | done 已回访"}
    )
    reached = fields.Boolean(
        allow_none=True, metadata={"description": "是否联系上（待回访时为空）"}
    )
    satisfied = fields.Boolean(
        allow_none=True, metadata={"description": "是否满意（未联系上时为空）"}
    )
    notes = fields.String()
    reopened = fields.Boolean(metadata={"description": "因不满意重新打开了工单"})
    visited_by_user_id = fields.Integer(allow_none=True)
    visited_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


ReturnVisitPageSchema = page_of(ReturnVisitSchema)


class VisitQueryArgsSchema(PageArgsSchema):
    status = fields.String(
        validate=validate.OneOf(STATUSES), metadata={"description": "due 待回访 | done 已回访"}
    )
    order_id = fields.Integer(metadata={"description": "只看这张工单的回访"})


class VisitOutcomeSchema(Schema):
    reached = fields.Boolean(required=True, metadata={"description": "是否联系上住户"})
    satisfied = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "是否满意：联系上时必填，未联系上时不填"},
    )
    notes = TrimmedString(load_default="", validate=validate.Length(max=1000))
    reopen = fields.Boolean(
        load_default=False,
        metadata={"description": "不满意时重新打开工单（受重新打开时限约束）"},
    )
