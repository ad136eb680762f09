"""Console schemas for customers, their contacts and their rooms.

Lists mask phones and ID numbers; a single customer is shown in full to the desk.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from schemas.common import (
    LocalDateTime,
    MaskedPhone,
    PageArgsSchema,
    Phone,
    TrimmedString,
    name_field,
)
from schemas.property import RoomBriefSchema
from server.domain.personal_data import mask_id_number
from server.models.customer import CONTACT_RELATIONS, CUSTOMER_KINDS, ROOM_RELATIONS


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
    relation = fields.String()


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
    kind = fields.String()
    name = fields.String()
    phone = MaskedPhone(metadata={"example": "138****0001"})
    id_number = fields.Function(
        lambda customer: mask_id_number(customer.id_number),
        metadata={"description": "脱敏后的证件号"},
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
