"""Schemas of the residency scenarios: move-ins, households, transfers, splits and merges,
payers, a room's and a customer's history, the customer-service report.

Answers show phones masked (they are lists of people); the desk opens a customer for them.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import LocalDateTime, MaskedPhone, Phone, TrimmedString, name_field
from schemas.directory import Area, ContactSchema, IdNumber, RoomBriefSchema
from server.directory.rules import CUSTOMER_KINDS, ID_TYPES, ORIENTATIONS, ROOM_RELATIONS
from server.residency.rules import (
    BUCKETS,
    FAMILY_LABELS,
    HEAD_RELATIONS,
    LINEAGE_KINDS,
    MAX_PARTS,
)

HEAD_RELATIONS_DOC = "owner 业主 | tenant 租户"
# What the report answers as.
REPORT_FORMATS = ("json", "csv")


class NewResidentSchema(Schema):
    """A customer registered with the scenario (a person with a phone is their own contact)."""

    kind = fields.String(
        load_default="person",
        validate=validate.OneOf(CUSTOMER_KINDS),
        metadata={"description": "person 个人 | company 单位"},
    )
    name = name_field(100, metadata={"example": "张三"})
    phone = Phone(allow_none=True, load_default=None, metadata={"example": "13800000001"})
    id_type = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(ID_TYPES),
        metadata={"description": "证件类型"},
    )
    id_number = IdNumber(allow_none=True, load_default=None)
    emergency_name = TrimmedString(load_default="", validate=validate.Length(max=50))
    emergency_phone = Phone(allow_none=True, load_default=None)
    remark = TrimmedString(load_default="", validate=validate.Length(max=500))


class NewFamilyPersonSchema(Schema):
    name = name_field(100, metadata={"example": "李四"})
    phone = Phone(allow_none=True, load_default=None, metadata={"example": "13800000002"})
    id_type = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(ID_TYPES))
    id_number = IdNumber(allow_none=True, load_default=None)


class _OneCustomer(Schema):
    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("customer_id") is None) == (data.get("customer") is None):
            raise ValidationError(
                "请选择已有客户（customer_id）或填写新客户（customer），二选一", "customer"
            )


class MoveInFamilyMemberSchema(_OneCustomer):
    customer_id = fields.Integer(strict=True, metadata={"description": "已有客户（个人）"})
    customer = fields.Nested(NewFamilyPersonSchema, metadata={"description": "新登记的家庭成员"})
    label = fields.String(
        required=True,
        validate=validate.OneOf(FAMILY_LABELS),
        metadata={"description": "与户主关系：" + " | ".join(FAMILY_LABELS)},
    )


class MoveInVehicleSchema(Schema):
    plate = TrimmedString(
        required=True, validate=validate.Length(min=1, max=20), metadata={"example": "粤B12345"}
    )
    model = TrimmedString(load_default="", validate=validate.Length(max=50))
    colour = TrimmedString(load_default="", validate=validate.Length(max=20))


class MoveInCreateSchema(_OneCustomer):
    room_id = fields.Integer(required=True, strict=True)
    start_date = fields.Date(required=True, metadata={"description": "入伙日期（含）"})
    relation = fields.String(
        load_default="owner",
        validate=validate.OneOf(HEAD_RELATIONS),
        metadata={"description": HEAD_RELATIONS_DOC},
    )
    customer_id = fields.Integer(strict=True, metadata={"description": "已有客户"})
    customer = fields.Nested(NewResidentSchema, metadata={"description": "新登记的客户"})
    contacts = fields.List(
        fields.Nested(ContactSchema), load_default=list, validate=validate.Length(max=20)
    )
    family = fields.List(
        fields.Nested(MoveInFamilyMemberSchema), load_default=list, validate=validate.Length(max=20)
    )
    vehicles = fields.List(
        fields.Nested(MoveInVehicleSchema), load_default=list, validate=validate.Length(max=10)
    )


class ResidentBriefSchema(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(CUSTOMER_KINDS))
    name = fields.String()
    phone = MaskedPhone(metadata={"example": "138****0001"})


class ResidencyRelationSchema(Schema):
    """A relation to a room over its period (household members point at their head's row)."""

    id = fields.Integer(attribute="link.id")
    room = fields.Nested(RoomBriefSchema, attribute="link.room")
    customer = fields.Nested(ResidentBriefSchema)
    relation = fields.String(
        attribute="link.relation",
        validate=validate.OneOf(ROOM_RELATIONS),
        metadata={"description": "owner 业主 | tenant 租户 | resident 住户（家庭成员）"},
    )
    start_date = fields.Date(attribute="link.start_date")
    end_date = fields.Date(attribute="link.end_date", allow_none=True)
    household_id = fields.Integer(
        attribute="link.household_id",
        allow_none=True,
        metadata={"description": "家庭成员：户主的房屋关系 id"},
    )
    household_label = fields.String(attribute="link.household_label")
    head = fields.Nested(
        ResidentBriefSchema,
        attribute="head_customer",
        allow_none=True,
        metadata={"description": "家庭成员的户主"},
    )
    current = fields.Boolean(metadata={"description": "今天是否有效"})


class HouseholdMemberSchema(Schema):
    id = fields.Integer()
    room_id = fields.Integer()
    customer_id = fields.Integer()
    household_id = fields.Integer()
    household_label = fields.String()
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True)


class MoveInSchema(Schema):
    id = fields.Integer()
    room = fields.Nested(RoomBriefSchema)
    customer = fields.Nested(ResidentBriefSchema)
    customer_room_id = fields.Integer(
        allow_none=True, metadata={"description": "户主的房屋关系（户）"}
    )
    relation = fields.String(validate=validate.OneOf(HEAD_RELATIONS))
    effective_on = fields.Date()
    created_at = LocalDateTime()


class HouseholdMemberCreateSchema(_OneCustomer):
    customer_id = fields.Integer(strict=True, metadata={"description": "已有客户（个人）"})
    customer = fields.Nested(NewFamilyPersonSchema)
    label = fields.String(required=True, validate=validate.OneOf(FAMILY_LABELS))
    start_date = fields.Date(
        allow_none=True, load_default=None, metadata={"description": "默认为户主的开始日期"}
    )


class HouseholdMemberUpdateSchema(Schema):
    label = fields.String(required=True, validate=validate.OneOf(FAMILY_LABELS))


class HouseholdMemberEndSchema(Schema):
    end_date = fields.Date(required=True, metadata={"description": "最后一天（含）"})


class RoomTransferCreateSchema(_OneCustomer):
    date = fields.Date(
        required=True,
        metadata={"description": "过户日期：新业主自当天起，原业主至前一天止"},
    )
    customer_id = fields.Integer(strict=True, metadata={"description": "新业主（已有客户）"})
    customer = fields.Nested(NewResidentSchema, metadata={"description": "新业主（新登记）"})
    keep_tenants = fields.Boolean(
        load_default=True, metadata={"description": "保留租户（否：租户及其家庭成员同日迁出）"}
    )


class RoomTransferSchema(Schema):
    id = fields.Integer()
    room = fields.Nested(RoomBriefSchema)
    effective_on = fields.Date()
    from_customer = fields.Nested(ResidentBriefSchema, allow_none=True)
    to_customer = fields.Nested(ResidentBriefSchema, allow_none=True)
    kept_tenants = fields.Boolean()
    created_at = LocalDateTime()


class SplitRoomPartSchema(Schema):
    code = name_field(50, metadata={"example": "1-101A"})
    floor = fields.Integer(strict=True, validate=validate.Range(min=-10, max=300))
    unit_id = fields.Integer(allow_none=True, strict=True)
    building_area = Area(metadata={"description": "建筑面积（㎡）"})
    charge_area = Area(metadata={"description": "计费面积（㎡）"})
    layout = TrimmedString(validate=validate.Length(max=50))
    orientation = fields.String(allow_none=True, validate=validate.OneOf(ORIENTATIONS))


class RoomSplitSchema(Schema):
    room_id = fields.Integer(required=True, strict=True)
    date = fields.Date(required=True, metadata={"description": "生效日期：原房间自当天停用"})
    rooms = fields.List(
        fields.Nested(SplitRoomPartSchema),
        required=True,
        validate=validate.Length(min=2, max=MAX_PARTS, error="拆分后应有 2–20 个新房间"),
    )


class MergeRoomPartSchema(Schema):
    code = name_field(50, metadata={"example": "1-101"})
    floor = fields.Integer(strict=True, validate=validate.Range(min=-10, max=300))
    unit_id = fields.Integer(allow_none=True, strict=True)
    layout = TrimmedString(validate=validate.Length(max=50))
    orientation = fields.String(allow_none=True, validate=validate.OneOf(ORIENTATIONS))


class RoomMergeSchema(Schema):
    room_ids = fields.List(
        fields.Integer(strict=True),
        required=True,
        validate=validate.Length(min=2, max=MAX_PARTS, error="请选择 2–20 个房间"),
    )
    date = fields.Date(required=True, metadata={"description": "生效日期：原房间自当天停用"})
    room = fields.Nested(
        MergeRoomPartSchema,
        required=True,
        metadata={"description": "合并后的房间（面积为各房之和）"},
    )


class RoomLineageSchema(Schema):
    id = fields.Integer()
    from_room = fields.Nested(RoomBriefSchema)
    to_room = fields.Nested(RoomBriefSchema)
    kind = fields.String(
        validate=validate.OneOf(LINEAGE_KINDS), metadata={"description": "split 拆分 | merge 合并"}
    )
    effective_on = fields.Date()


class RoomLineageListSchema(Schema):
    items = fields.List(fields.Nested(RoomLineageSchema))


class RoomPayerSetSchema(Schema):
    customer_id = fields.Integer(required=True, strict=True)
    start_date = fields.Date(required=True, metadata={"description": "自该日起（含）"})


class RoomPayerSchema(Schema):
    id = fields.Integer()
    room_id = fields.Integer()
    customer = fields.Nested(ResidentBriefSchema)
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True)


class CustomerRoomsSchema(Schema):
    customer = fields.Nested(ResidentBriefSchema)
    items = fields.List(
        fields.Nested(ResidencyRelationSchema),
        attribute="relations",
        metadata={"description": "全部房屋关系（含已结束），当前有效的在前"},
    )


class RoomHistoryArgsSchema(Schema):
    on = fields.Date(metadata={"description": "某一天（北京时间）；不填：全部历史"})


class RoomMoveInSchema(Schema):
    id = fields.Integer()
    customer = fields.Nested(ResidentBriefSchema)
    relation = fields.String(validate=validate.OneOf(HEAD_RELATIONS))
    effective_on = fields.Date()


class RoomTransferBriefSchema(Schema):
    id = fields.Integer()
    effective_on = fields.Date()
    from_customer = fields.Nested(ResidentBriefSchema, allow_none=True)
    to_customer = fields.Nested(ResidentBriefSchema, allow_none=True)
    kept_tenants = fields.Boolean()


class ResidencyRoomSchema(RoomBriefSchema):
    retired_on = fields.Date(allow_none=True, metadata={"description": "停用日期（已拆分或合并）"})


class RoomHistorySchema(Schema):
    room = fields.Nested(ResidencyRoomSchema)
    on = fields.Date(allow_none=True)
    relations = fields.List(fields.Nested(ResidencyRelationSchema))
    payers = fields.List(
        fields.Nested(RoomPayerSchema), metadata={"description": "收费对象（为空：由业主缴费）"}
    )
    move_ins = fields.List(fields.Nested(RoomMoveInSchema))
    transfers = fields.List(fields.Nested(RoomTransferBriefSchema))
    lineage = fields.List(fields.Nested(RoomLineageSchema))


class CustomerServiceReportArgsSchema(Schema):
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    community_id = fields.Integer()
    bucket = fields.String(
        load_default="day",
        validate=validate.OneOf(BUCKETS),
        metadata={"description": "day | month"},
    )
    format = fields.String(load_default="json", validate=validate.OneOf(REPORT_FORMATS))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if "date_from" in data and "date_to" in data:
            if data["date_to"] < data["date_from"]:
                raise ValidationError("结束日期不能早于开始日期", "to")
            if (data["date_to"] - data["date_from"]).days > 366 * 3:
                raise ValidationError("统计区间最长三年", "to")


class CustomerServicePeriodSchema(Schema):
    period = fields.Date(metadata={"description": "日或月的第一天"})
    move_ins = fields.Integer()
    transfers = fields.Integer()


class ResidencyOccupancySchema(Schema):
    community_id = fields.Integer()
    community_name = fields.String()
    rooms = fields.Integer(metadata={"description": "未停用的房间数"})
    occupied = fields.Integer(metadata={"description": "有业主或租户的房间数"})
    rate = fields.Float(allow_none=True)


class CustomerServiceReportSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    on = fields.Date(metadata={"description": "入住率等按这一天统计（区间末日，最晚今天）"})
    bucket = fields.String(validate=validate.OneOf(BUCKETS))
    periods = fields.List(fields.Nested(CustomerServicePeriodSchema))
    occupancy = fields.List(fields.Nested(ResidencyOccupancySchema))
    customers_without_phone = fields.Integer()
    customers_without_phone_items = fields.List(fields.Nested(ResidentBriefSchema))
    rooms_without_owner = fields.Integer()
    rooms_without_owner_items = fields.List(fields.Nested(RoomBriefSchema))
