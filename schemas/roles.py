"""Console schemas for roles and permissions (权限)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import TrimmedString, name_field
from server.roles.rules import COMMUNITIES_MAX, DESCRIPTION_MAX, NAME_MAX, PERMISSION_CODES

PERMISSION_VALUES = list(PERMISSION_CODES)


class PermissionSchema(Schema):
    code = fields.String(required=True, metadata={"enum": PERMISSION_VALUES})
    area = fields.String(required=True)
    label = fields.String(required=True)


class RoleSchema(Schema):
    id = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "预置角色为 null"}
    )
    key = fields.String(
        dump_only=True,
        metadata={"description": "预置角色为 admin / dispatcher / technician，其余为 role:<id>"},
    )
    name = name_field(NAME_MAX)
    description = TrimmedString(load_default="", validate=validate.Length(max=DESCRIPTION_MAX))
    permissions = fields.List(
        fields.String(validate=validate.OneOf(PERMISSION_VALUES)),
        required=True,
        validate=validate.Length(max=len(PERMISSION_VALUES) * 2),
    )
    all_communities = fields.Boolean(
        load_default=True, metadata={"description": "true：全部小区；false：仅 community_ids"}
    )
    community_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=COMMUNITIES_MAX),
    )
    preset = fields.Boolean(dump_only=True, metadata={"description": "预置角色不可修改"})
    holders = fields.Integer(dump_only=True, metadata={"description": "持有该角色的员工数"})


class StaffRolesSchema(Schema):
    role_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1)),
        required=True,
        validate=validate.Length(max=50),
    )
