"""Complaints and suggestions (投诉建议): the tenant's and the desk's views."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import LocalDateTime, MaskedPhone, PageArgsSchema, TrimmedString, page_of
from schemas.orders import IMAGE_IDS, ImageSchema, NamedRefSchema
from server.complaints.rules import (
    AUTHOR_ROLES,
    CATEGORIES,
    CATEGORY_LABELS,
    KIND_LABELS,
    KINDS,
    SEVERITIES,
    SEVERITY_LABELS,
    STATUS_LABELS,
    STATUSES,
)

KIND = fields.String(
    validate=validate.OneOf(KINDS), metadata={"description": "complaint 投诉 | suggestion 建议"}
)
CATEGORY = fields.String(validate=validate.OneOf(CATEGORIES), metadata={"description": "分类"})
SEVERITY = fields.String(
    validate=validate.OneOf(SEVERITIES),
    metadata={"description": "low 一般 | normal 较重 | high 严重"},
)
STATUS = fields.String(
    validate=validate.OneOf(STATUSES),
    metadata={"description": "open 待处理 | processing 处理中 | closed 已办结"},
)
TEXT = TrimmedString(required=True, validate=validate.Length(min=1, max=1000))


# --- requests ---------------------------------------------------------------------------------


class ComplaintCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    text = TrimmedString(required=True, validate=validate.Length(min=1, max=2000))
    image_ids = IMAGE_IDS
    order_id = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "关于我的哪张工单"},
    )
    staff_id = fields.Integer(
        strict=True, load_default=None, allow_none=True, metadata={"description": "关于哪位师傅"}
    )


class ComplaintReplyCreateSchema(Schema):
    text = TEXT


class ComplaintRatingSchema(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = TrimmedString(load_default="", validate=validate.Length(max=500))


class ComplaintClassifySchema(Schema):
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))

    @validates_schema
    def _something(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("请填写分类或严重程度", "category")


class ComplaintAssignSchema(Schema):
    department_id = fields.Integer(strict=True, load_default=None, allow_none=True)
    staff_id = fields.Integer(strict=True, load_default=None, allow_none=True)

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if (data.get("department_id") is None) == (data.get("staff_id") is None):
            raise ValidationError("请选择一个部门或一位员工（二选一）", "department_id")


class TenantComplaintQueryArgsSchema(PageArgsSchema):
    status = STATUS


class DeskComplaintQueryArgsSchema(PageArgsSchema):
    status = fields.List(STATUS, metadata={"description": "可重复：?status=open&status=processing"})
    kind = KIND
    category = CATEGORY
    severity = SEVERITY


# --- answers ----------------------------------------------------------------------------------


class ComplaintReplySchema(Schema):
    id = fields.Integer()
    author_role = fields.String(
        validate=validate.OneOf(AUTHOR_ROLES), metadata={"description": "tenant 住户 | desk 物业"}
    )
    text = fields.String()
    created_at = LocalDateTime()


class StaffRefSchema(Schema):
    id = fields.Integer()
    name = fields.String(attribute="user.name")


def _label(labels: dict[str, str], attribute: str) -> Any:
    def label(obj: Any) -> str | None:
        value = getattr(obj, attribute)
        return None if value is None else labels[value]

    return label


class ComplaintSchema(Schema):
    """A complaint or suggestion as its tenant sees it in a list."""

    id = fields.Integer()
    kind = KIND
    kind_label = fields.Function(_label(KIND_LABELS, "kind"), metadata={"type": "string"})
    text = fields.String()
    order_id = fields.Integer(allow_none=True)
    status = STATUS
    status_label = fields.Function(_label(STATUS_LABELS, "status"), metadata={"type": "string"})
    category = fields.String(allow_none=True, validate=validate.OneOf(CATEGORIES))
    category_label = fields.Function(
        _label(CATEGORY_LABELS, "category"), allow_none=True, metadata={"type": "string"}
    )
    severity = SEVERITY
    severity_label = fields.Function(
        _label(SEVERITY_LABELS, "severity"), metadata={"type": "string"}
    )
    desk_replied_at = LocalDateTime(allow_none=True, metadata={"description": "物业首次答复"})
    closed_at = LocalDateTime(allow_none=True)
    rating_score = fields.Integer(allow_none=True, metadata={"description": "我对处理的评分"})
    rating_comment = fields.String()
    rated_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class ComplaintDetailSchema(ComplaintSchema):
    staff = fields.Nested(StaffRefSchema, allow_none=True, metadata={"description": "所涉师傅"})
    replies = fields.List(fields.Nested(ComplaintReplySchema))
    images = fields.List(fields.Nested(ImageSchema))


class ComplainantSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = MaskedPhone()


class DeskComplaintSchema(ComplaintSchema):
    tenant = fields.Nested(ComplainantSchema, metadata={"description": "投诉人（手机号脱敏）"})
    staff = fields.Nested(StaffRefSchema, allow_none=True, metadata={"description": "所涉师傅"})
    department = fields.Nested(
        NamedRefSchema, allow_none=True, metadata={"description": "承办部门"}
    )
    assignee = fields.Nested(StaffRefSchema, allow_none=True, metadata={"description": "承办人"})
    due_at = LocalDateTime(metadata={"description": "按严重程度的办结时限（工作时间）"})
    alert_level = fields.Integer(
        metadata={"description": "已发出的时效提醒：0 无 | 1 即将超时 | 2 已超时 | 3 已升级"}
    )


class DeskComplaintDetailSchema(DeskComplaintSchema):
    replies = fields.List(fields.Nested(ComplaintReplySchema))
    images = fields.List(fields.Nested(ImageSchema))


TenantComplaintPageSchema = page_of(ComplaintSchema)
DeskComplaintPageSchema = page_of(DeskComplaintSchema)
