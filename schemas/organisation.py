"""Console schemas for organisation settings and the grab-cap overview."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, name_field
from server.orders.rules.grab_cap import MAX_GRAB_CAP
from server.organisation.models import MAX_LOW_RATING_AT_OR_BELOW, MAX_SAMPLE_PERCENT


class OrganisationSettingsSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    name = name_field(100, metadata={"example": "阳光物业"})
    default_grab_cap = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=0, max=MAX_GRAB_CAP),
        metadata={"description": "机构默认抢单数上限"},
    )
    reopen_window_days = fields.Integer(
        strict=True,
        load_default=7,
        validate=validate.Range(min=0, max=365),
        metadata={"description": "办结后住户可重新打开工单的天数（默认 7）"},
    )
    visit_low_rating_at_or_below = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_LOW_RATING_AT_OR_BELOW),
        metadata={"description": "评分不高于此值的工单生成回访任务（默认 2；0 为不生成）"},
    )
    visit_sample_percent = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_SAMPLE_PERCENT),
        metadata={"description": "其余关闭工单按此百分比抽样回访（默认 10，可复现的抽样）"},
    )
    updated_at = LocalDateTime(dump_only=True)


class DepartmentGrabCapSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    grab_cap = fields.Integer(allow_none=True, metadata={"description": "部门设置（为空则未设置）"})
    effective = fields.Integer(metadata={"description": "部门生效值"})


class TechnicianGrabCapSchema(Schema):
    staff_id = fields.Integer()
    name = fields.String()
    department_id = fields.Integer(allow_none=True)
    override = fields.Integer(allow_none=True, metadata={"description": "个人设置（为空则未设置）"})
    effective = fields.Integer(metadata={"description": "生效值：个人 > 部门 > 机构"})


class GrabCapsSchema(Schema):
    organisation_default = fields.Integer()
    departments = fields.List(fields.Nested(DepartmentGrabCapSchema))
    technicians = fields.List(fields.Nested(TechnicianGrabCapSchema))
