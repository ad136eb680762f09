"""Console schemas for the property tree."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema, TrimmedString, name_field
from server.models.property import ORIENTATIONS

CODE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,32}$", error="编码只能包含字母、数字、下划线和连字符")
MAX_AREA = Decimal("99999999.99")


class Area(fields.Decimal):
    """Square metres to 0.01, shown as a string ("88.50"); more places are refused, not rounded."""

    def __init__(self, *, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        # Documented as the string it is on the wire (apispec would say "number").
        doc = {"type": "string", "pattern": r"^\d{1,8}(\.\d{1,2})?$", **(metadata or {})}
        super().__init__(
            places=2, as_string=True, allow_nan=False, allow_none=True, metadata=doc, **kwargs
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        number: Decimal = super()._deserialize(value, attr, data, **kwargs)
        try:
            exact = Decimal(str(value))
        except InvalidOperation as error:
            raise self.make_error("invalid") from error
        if exact != number:
            raise ValidationError("面积最多保留两位小数")
        if not 0 < number <= MAX_AREA:
            raise ValidationError(f"面积应大于 0 且不超过 {MAX_AREA}")
        return number


class CommunitySchema(Schema):
    id = fields.Integer(dump_only=True)
    code = TrimmedString(required=True, validate=CODE, metadata={"example": "SUN01"})
    name = name_field(100, metadata={"example": "阳光花园"})
    address = TrimmedString(load_default="", validate=validate.Length(max=200))
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class CommunityQueryArgsSchema(PageArgsSchema):
    q = fields.String(
        validate=validate.Length(max=50), metadata={"description": "按名称或编码搜索"}
    )


class BuildingSchema(Schema):
    id = fields.Integer(dump_only=True)
    community_id = fields.Integer(required=True, strict=True, metadata={"description": "所属小区"})
    community_name = fields.String(attribute="community.name", dump_only=True)
    name = name_field(50, metadata={"example": "1栋"})
    floors = fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=300),
        metadata={"description": "层数"},
    )
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class BuildingUpdateSchema(BuildingSchema):
    """A building stays in its community: its rooms' community is derived from it."""

    community_id = fields.Integer(dump_only=True)


class BuildingQueryArgsSchema(PageArgsSchema):
    community_id = fields.Integer(metadata={"description": "按小区过滤"})
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "按名称搜索"})


class UnitSchema(Schema):
    id = fields.Integer(dump_only=True)
    building_id = fields.Integer(required=True, strict=True, metadata={"description": "所属楼栋"})
    name = name_field(50, metadata={"example": "1单元"})
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class UnitUpdateSchema(UnitSchema):
    """A unit stays in its building."""

    building_id = fields.Integer(dump_only=True)


class UnitQueryArgsSchema(PageArgsSchema):
    building_id = fields.Integer(metadata={"description": "按楼栋过滤"})


class RoomSchema(Schema):
    id = fields.Integer(dump_only=True)
    community_id = fields.Integer(dump_only=True, metadata={"description": "由楼栋决定"})
    community_name = fields.String(attribute="community.name", dump_only=True)
    building_id = fields.Integer(required=True, strict=True)
    building_name = fields.String(attribute="building.name", dump_only=True)
    unit_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    unit_name = fields.Function(
        lambda room: room.unit.name if room.unit is not None else None, dump_only=True
    )
    code = name_field(50, metadata={"example": "1-101", "description": "房号，小区内唯一"})
    floor = fields.Integer(required=True, strict=True, validate=validate.Range(min=-10, max=300))
    building_area = Area(metadata={"description": "建筑面积（㎡，两位小数）", "example": "88.50"})
    charge_area = Area(metadata={"description": "计费面积（㎡，两位小数）", "example": "86.00"})
    layout = TrimmedString(
        load_default="", validate=validate.Length(max=50), metadata={"example": "三室两厅"}
    )
    orientation = fields.String(
        allow_none=True,
        validate=validate.OneOf(ORIENTATIONS),
        metadata={"description": "朝向"},
    )
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class RoomQueryArgsSchema(PageArgsSchema):
    community_id = fields.Integer(metadata={"description": "按小区过滤"})
    building_id = fields.Integer(metadata={"description": "按楼栋过滤"})
    unit_id = fields.Integer(metadata={"description": "按单元过滤"})
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "按房号搜索"})
