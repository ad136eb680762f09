"""Schemas of parking (客车关系): spaces, their holders over time, vehicles.

Lists show the holder's and owner's phone masked, like every list of people.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from schemas.common import LocalDateTime, MaskedPhone, PageArgsSchema, TrimmedString
from server.parking.rules import (
    DEFAULT_REMIND_DAYS,
    HOLDING_KIND_LABELS,
    HOLDING_KINDS,
    MAX_PLATE_INPUT,
    MAX_REMIND_DAYS,
    PLATE_KIND_LABELS,
    PLATE_KINDS,
    SPACE_KIND_LABELS,
    SPACE_KINDS,
    SPACE_STATUS_LABELS,
    SPACE_STATUSES,
)


def _described(labels: dict[str, str]) -> str:
    return " | ".join(f"{key} {label}" for key, label in labels.items())


class SpaceNumber(TrimmedString):
    """A space's number, upper-cased (b2-015 → B2-015)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).upper()


_NUMBER = validate.Regexp(
    r"^[A-Z0-9\-_#\u4e00-\u9fff]{1,32}$",
    error="车位编号只能包含字母、数字、汉字、#、下划线和连字符，最多 32 位",
)


class PersonBriefSchema(Schema):
    """The customer of a holding or a vehicle (phone masked)."""

    id = fields.Integer()
    name = fields.String()
    phone = MaskedPhone(metadata={"example": "138****0001"})


class SpaceBriefSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    community_name = fields.String(attribute="community.name")
    number = fields.String()
    area = fields.String()


class SpaceHoldingSchema(Schema):
    """A customer's relation to a space: owned (产权) or rented (租用), over a period."""

    id = fields.Integer()
    space_id = fields.Integer()
    customer = fields.Nested(PersonBriefSchema)
    kind = fields.String(
        validate=validate.OneOf(HOLDING_KINDS),
        metadata={"description": _described(HOLDING_KIND_LABELS)},
    )
    kind_label = fields.Function(lambda h: HOLDING_KIND_LABELS[h.kind], metadata={"type": "string"})
    start_date = fields.Date()
    end_date = fields.Date(
        allow_none=True,
        metadata={"description": "租用：合同结束日期；提前结束后为结束日；为空表示长期"},
    )
    remind_days = fields.Integer(metadata={"description": "租用：到期前多少天提醒前台"})
    contract_number = fields.String()
    remark = fields.String()
    ended_at = LocalDateTime(allow_none=True, metadata={"description": "前台结束该关系的时间"})
    end_reason = fields.String()
    reminded_at = LocalDateTime(allow_none=True, metadata={"description": "到期提醒已发送的时间"})
    created_at = LocalDateTime()


class CustomerHoldingSchema(SpaceHoldingSchema):
    space = fields.Nested(SpaceBriefSchema)


class VehicleBriefSchema(Schema):
    id = fields.Integer()
    plate = fields.String()
    model = fields.String()
    colour = fields.String()


class ParkingSpaceSchema(Schema):
    """A space with the relation covering today (`current`, null: free) and its vehicles."""

    id = fields.Integer(attribute="space.id")
    community_id = fields.Integer(attribute="space.community_id")
    community_name = fields.String(attribute="space.community.name")
    number = fields.String(attribute="space.number")
    area = fields.String(attribute="space.area")
    kind = fields.String(
        attribute="space.kind",
        validate=validate.OneOf(SPACE_KINDS),
        metadata={"description": _described(SPACE_KIND_LABELS)},
    )
    kind_label = fields.Function(
        lambda v: SPACE_KIND_LABELS[v.space.kind], metadata={"type": "string"}
    )
    location = fields.String(attribute="space.location")
    status = fields.String(
        attribute="space.status",
        validate=validate.OneOf(SPACE_STATUSES),
        metadata={"description": _described(SPACE_STATUS_LABELS)},
    )
    remark = fields.String(attribute="space.remark")
    current = fields.Nested(
        SpaceHoldingSchema, allow_none=True, metadata={"description": "当前持有人"}
    )
    vehicles = fields.List(fields.Nested(VehicleBriefSchema), metadata={"description": "停放车辆"})
    expiring = fields.Boolean(metadata={"description": "当前租约已进入到期提醒期"})
    created_at = LocalDateTime(attribute="space.created_at")
    updated_at = LocalDateTime(attribute="space.updated_at")


class ParkingSpaceDetailSchema(ParkingSpaceSchema):
    holdings = fields.List(
        fields.Nested(SpaceHoldingSchema),
        metadata={"description": "全部产权 / 租用记录（新的在前）"},
    )


class ParkingSpaceCreateSchema(Schema):
    community_id = fields.Integer(required=True, strict=True, metadata={"description": "所属小区"})
    number = SpaceNumber(
        required=True, validate=_NUMBER, metadata={"example": "B2-015", "description": "小区内唯一"}
    )
    area = TrimmedString(
        load_default="", validate=validate.Length(max=50), metadata={"example": "地下二层 B 区"}
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(SPACE_KINDS),
        metadata={"description": _described(SPACE_KIND_LABELS)},
    )
    location = TrimmedString(load_default="", validate=validate.Length(max=200))
    status = fields.String(
        load_default="active",
        validate=validate.OneOf(SPACE_STATUSES),
        metadata={"description": _described(SPACE_STATUS_LABELS)},
    )
    remark = TrimmedString(load_default="", validate=validate.Length(max=500))


class ParkingSpaceUpdateSchema(Schema):
    number = SpaceNumber(validate=_NUMBER)
    area = TrimmedString(validate=validate.Length(max=50))
    kind = fields.String(validate=validate.OneOf(SPACE_KINDS))
    location = TrimmedString(validate=validate.Length(max=200))
    status = fields.String(validate=validate.OneOf(SPACE_STATUSES))
    remark = TrimmedString(validate=validate.Length(max=500))


class ParkingSpaceQueryArgsSchema(PageArgsSchema):
    community_id = fields.Integer(metadata={"description": "按小区过滤"})
    kind = fields.String(validate=validate.OneOf(SPACE_KINDS))
    status = fields.String(validate=validate.OneOf(SPACE_STATUSES))
    occupied = fields.Boolean(metadata={"description": "true：今天有持有人；false：空闲"})
    customer_id = fields.Integer(metadata={"description": "该客户今天持有的车位"})
    q = fields.String(
        validate=validate.Length(max=50), metadata={"description": "按编号、区域或位置搜索"}
    )


class AssignSpaceSchema(Schema):
    customer_id = fields.Integer(required=True, strict=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(HOLDING_KINDS),
        metadata={"description": _described(HOLDING_KIND_LABELS)},
    )
    start_date = fields.Date(required=True)
    end_date = fields.Date(
        allow_none=True, load_default=None, metadata={"description": "租用必填：合同结束日期"}
    )
    remind_days = fields.Integer(
        load_default=DEFAULT_REMIND_DAYS,
        strict=True,
        validate=validate.Range(min=0, max=MAX_REMIND_DAYS),
        metadata={"description": "租用：到期前多少天提醒（默认 30）"},
    )
    contract_number = TrimmedString(load_default="", validate=validate.Length(max=50))
    remark = TrimmedString(load_default="", validate=validate.Length(max=500))


class HoldingUpdateSchema(Schema):
    end_date = fields.Date(allow_none=True, metadata={"description": "续租：新的合同结束日期"})
    remind_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_REMIND_DAYS))
    contract_number = TrimmedString(validate=validate.Length(max=50))
    remark = TrimmedString(validate=validate.Length(max=500))


class EndSchema(Schema):
    end_date = fields.Date(required=True, metadata={"description": "最后一天（含）"})
    reason = TrimmedString(load_default="", validate=validate.Length(max=200))


class Plate(TrimmedString):
    """A plate as typed (checked and normalised by the use case: 粤b·12345 → 粤B12345)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs))
        if not text:
            raise ValidationError("请填写车牌号")
        return text


class VehicleSchema(Schema):
    id = fields.Integer()
    plate = fields.String(metadata={"example": "粤B12345"})
    plate_kind = fields.String(
        validate=validate.OneOf(PLATE_KINDS),
        metadata={"description": _described(PLATE_KIND_LABELS)},
    )
    plate_kind_label = fields.Function(
        lambda v: PLATE_KIND_LABELS[v.plate_kind], metadata={"type": "string"}
    )
    model = fields.String(metadata={"description": "品牌车型"})
    colour = fields.String(metadata={"description": "颜色"})
    customer = fields.Nested(PersonBriefSchema)
    space = fields.Nested(SpaceBriefSchema, allow_none=True)
    remark = fields.String()
    removed_at = LocalDateTime(allow_none=True, metadata={"description": "注销时间（为空：在用）"})
    removed_on = fields.Date(allow_none=True)
    remove_reason = fields.String()
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class VehicleCreateSchema(Schema):
    plate = Plate(
        required=True,
        validate=validate.Length(max=MAX_PLATE_INPUT),
        metadata={
            "example": "粤B12345",
            "description": "普通 7 位、新能源 8 位，及 学/挂/警/领/使/港/澳",
        },
    )
    model = TrimmedString(load_default="", validate=validate.Length(max=50))
    colour = TrimmedString(load_default="", validate=validate.Length(max=20))
    customer_id = fields.Integer(
        required=True, strict=True, metadata={"description": "车主（客户）"}
    )
    space_id = fields.Integer(
        allow_none=True, load_default=None, strict=True, metadata={"description": "常用车位"}
    )
    remark = TrimmedString(load_default="", validate=validate.Length(max=500))


class VehicleUpdateSchema(Schema):
    plate = Plate(validate=validate.Length(max=MAX_PLATE_INPUT))
    model = TrimmedString(validate=validate.Length(max=50))
    colour = TrimmedString(validate=validate.Length(max=20))
    customer_id = fields.Integer(strict=True)
    space_id = fields.Integer(allow_none=True, strict=True)
    remark = TrimmedString(validate=validate.Length(max=500))


class VehicleQueryArgsSchema(PageArgsSchema):
    customer_id = fields.Integer(metadata={"description": "按车主过滤"})
    space_id = fields.Integer(metadata={"description": "按车位过滤"})
    community_id = fields.Integer(metadata={"description": "按车位所在小区过滤"})
    q = fields.String(
        validate=validate.Length(max=20), metadata={"description": "按车牌号搜索（可输入部分）"}
    )
    include_removed = fields.Boolean(load_default=False, metadata={"description": "包括已注销车辆"})
