"""Schemas of the directory.

The property tree, rooms as tenants see them, and the console's customers, contacts and
tenancies. Lists mask phones and ID numbers; a single customer is shown in full to the desk.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
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
from server.directory.rules import CONTACT_RELATIONS, CUSTOMER_KINDS, ORIENTATIONS, ROOM_RELATIONS
from server.kernel.personal_data import mask_id_number


class RoomBriefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    community_id = fields.Integer()
    community_name = fields.String(attribute="community.name")
    building_id = fields.Integer()
    building_name = fields.String(attribute="building.name")
    unit_id = fields.Integer(allow_none=True)
    unit_name = fields.String(attribute="unit.name", allow_none=True, dump_default=None)
    floor = fields.Integer()
    label = fields.Method(
        "_label",
        metadata={"type": "string", "description": "展示用地址，如 阳光花园 1栋 1单元 101"},
    )

    def _label(self, room: object) -> str:
        parts = [room.community.name, room.building.name]  # type: ignore[attr-defined]
        if room.unit is not None:  # type: ignore[attr-defined]
            parts.append(room.unit.name)  # type: ignore[attr-defined]
        parts.append(room.code)  # type: ignore[attr-defined]
        return " ".join(parts)


class TenantRoomSchema(Schema):
    room = fields.Nested(RoomBriefSchema)
    customer_id = fields.Integer()
    customer_name = fields.String()
    relation = fields.String(
        validate=validate.OneOf(ROOM_RELATIONS),
        metadata={"description": "owner 业主 | tenant 租户 | resident 住户"},
    )


class TenantRoomListSchema(Schema):
    items = fields.List(fields.Nested(TenantRoomSchema))


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
        lambda room: room.unit.name if room.unit is not None else None,
        dump_only=True,
        allow_none=True,
        metadata={"type": "string"},
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


class IdNumber(TrimmedString):
    """身份证号 or 统一社会信用代码, upper-cased; an empty string clears it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).upper()
        return text or None


class ContactSchema(Schema):
    id = fields.Integer(dump_only=True)
    customer_id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "张三"})
    phone = Phone(required=True, metadata={"example": "13800000001"})
    relation = fields.String(
        required=True,
        validate=validate.OneOf(CONTACT_RELATIONS),
        metadata={"description": "self 本人 | family 家属 | employee 员工 | other 其他"},
    )
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class ContactMaskedSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = MaskedPhone(metadata={"example": "138****0001"})
    relation = fields.String(validate=validate.OneOf(CONTACT_RELATIONS))


class CustomerRoomSchema(Schema):
    id = fields.Integer(dump_only=True)
    customer_id = fields.Integer(dump_only=True)
    room_id = fields.Integer(required=True, strict=True)
    room = fields.Nested(RoomBriefSchema, dump_only=True)
    relation = fields.String(
        required=True,
        validate=validate.OneOf(ROOM_RELATIONS),
        metadata={"description": "owner 业主 | tenant 租户 | resident 住户"},
    )
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True, metadata={"description": "为空表示仍有效"})
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class CustomerUpdateSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(CUSTOMER_KINDS),
        metadata={"description": "person 个人 | company 单位"},
    )
    name = name_field(100, metadata={"example": "张三"})
    phone = Phone(allow_none=True, metadata={"example": "13800000001"})
    id_number = IdNumber(
        allow_none=True,
        metadata={"description": "个人：18 位身份证号；单位：18 位统一社会信用代码"},
    )
    remark = TrimmedString(load_default="", validate=validate.Length(max=500))
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class CustomerSchema(CustomerUpdateSchema):
    contacts = fields.List(fields.Nested(ContactSchema), metadata={"description": "联系人"})
    rooms = fields.List(
        fields.Nested(CustomerRoomSchema), dump_only=True, metadata={"description": "房屋关系"}
    )


class CustomerListItemSchema(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(CUSTOMER_KINDS))
    name = fields.String()
    phone = MaskedPhone(metadata={"example": "138****0001"})
    id_number = fields.Function(
        lambda customer: mask_id_number(customer.id_number),
        allow_none=True,
        metadata={"type": "string", "description": "脱敏后的证件号"},
    )
    remark = fields.String()
    contacts = fields.List(fields.Nested(ContactMaskedSchema))
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class CustomerQueryArgsSchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(CUSTOMER_KINDS))
    q = fields.String(
        validate=validate.Length(max=50), metadata={"description": "按客户名称或手机号搜索"}
    )
