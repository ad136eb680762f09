"""Console schemas for departments, posts and staff."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from schemas.common import (
    LocalDateTime,
    MaskedPhone,
    PageArgsSchema,
    Phone,
    TrimmedString,
    name_field,
)
from server.kernel.roles import STAFF_ROLES
from server.orders.rules.grab_cap import MAX_GRAB_CAP

STAFF_ROLE_VALUES = sorted(r.value for r in STAFF_ROLES)
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"\d")


def grab_cap_field(**kwargs: Any) -> fields.Integer:
    """A grab cap of 0..MAX_GRAB_CAP; null means "not set here, fall back"."""
    return fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=MAX_GRAB_CAP), **kwargs
    )


def _validate_password(value: str) -> None:
    if not (8 <= len(value) <= 64):
        raise ValidationError("密码长度应为 8 到 64 位")
    if not (_LETTER.search(value) and _DIGIT.search(value)):
        raise ValidationError("密码须同时包含字母和数字")


def _validate_roles(value: list[str]) -> None:
    if not value:
        raise ValidationError("至少选择一个角色")
    unknown = [r for r in value if r not in STAFF_ROLE_VALUES]
    if unknown:
        raise ValidationError(f"角色取值应为：{', '.join(STAFF_ROLE_VALUES)}")


class DepartmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "工程部"})
    grab_cap = grab_cap_field(metadata={"description": "部门默认抢单数上限；为空则使用机构默认值"})
    lead_staff_id = fields.Integer(
        allow_none=True,
        strict=True,
        metadata={
            "description": "部门负责人（员工 id，本机构在职员工）；督办无人处理的工单时，"
            "与可接单的师傅一并收到提醒。为空表示未设负责人"
        },
    )
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class PostSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "水电工"})
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class NameQueryArgsSchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "按名称搜索"})


class DepartmentBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class PostBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class OrderTypeBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class StaffSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "张师傅"})
    phone: fields.String = Phone(required=True, metadata={"example": "13900000001"})
    password = fields.String(
        required=True,
        load_only=True,
        validate=_validate_password,
        metadata={"description": "8–64 位，须同时包含字母和数字", "example": "demo1234"},
    )
    roles = fields.List(
        # The list is checked as a whole (errors on `roles`); the enum documents each item.
        fields.String(metadata={"enum": STAFF_ROLE_VALUES}),
        required=True,
        validate=_validate_roles,
        metadata={"description": "technician 维修工 | dispatcher 调度 | admin 管理员"},
    )
    department_id = fields.Integer(allow_none=True)
    department = fields.Nested(DepartmentBriefSchema, dump_only=True, allow_none=True)
    post_id = fields.Integer(allow_none=True)
    post = fields.Nested(PostBriefSchema, dump_only=True, allow_none=True)
    employee_no = TrimmedString(validate=validate.Length(max=32), metadata={"example": "E001"})
    on_duty = fields.Boolean(metadata={"description": "是否在岗"})
    is_active = fields.Boolean(metadata={"description": "账号是否启用（删除即停用）"})
    grab_cap = grab_cap_field(
        load_only=True, metadata={"description": "个人抢单数上限；为空则使用部门或机构默认值"}
    )
    grab_cap_override = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "个人抢单数上限（未设置为空）"}
    )
    cap = fields.Integer(dump_only=True, metadata={"description": "生效的抢单数上限"})
    held = fields.Integer(
        dump_only=True,
        metadata={"description": "手上的工单数（已派单、处理中、待备件）"},
    )
    available = fields.Integer(
        dump_only=True,
        metadata={"description": "还可接的工单数：max(cap - held, 0)；非维修工或已停用的账号为 0"},
    )
    eligible_order_types = fields.List(
        fields.Nested(OrderTypeBriefSchema),
        dump_only=True,
        metadata={"description": "按部门/岗位绑定可接的启用工单类型（仅维修工）"},
    )
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class StaffListItemSchema(StaffSchema):
    """As `StaffSchema`, with the phone masked: lists are screenshotted and exported."""

    phone = MaskedPhone(dump_only=True, metadata={"example": "139****0001"})


class StaffQueryArgsSchema(PageArgsSchema):
    department_id = fields.Integer()
    post_id = fields.Integer()
    role = fields.String(validate=validate.OneOf(STAFF_ROLE_VALUES))
    on_duty = fields.Boolean()
    is_active = fields.Boolean()
    has_capacity = fields.Boolean(
        metadata={"description": "true 还能接单的维修工（available > 0）| false 不能再接单的"}
    )
    q = fields.String(
        validate=validate.Length(max=50), metadata={"description": "按姓名或手机号搜索"}
    )
