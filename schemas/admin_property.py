"""Console schemas for the property tree."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema, TrimmedString, name_field

CODE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,32}$", error="编码只能包含字母、数字、下划线和连字符")


class CommunitySchema(Schema):
    id = fields.Integer(dump_only=True)
    code = TrimmedString(required=True, validate=CODE, metadata={"example": "SUN01"})
    name = name_field(100, metadata={"example": "阳光花园"})
    address = TrimmedString(load_default="", validate=validate.Length(max=200))
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class CommunityQueryArgsSchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "按名称或编码搜索"})
