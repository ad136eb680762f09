"""全能搜索: the query and its answer, grouped by kind. Each hit carries the object as the
lists show it (`RoomBriefSchema`, `CustomerListItemSchema`, `OrderSchema`, a vehicle with its
owner and space: phones and ID numbers masked), how it matched, and the console page to open."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from marshmallow import Schema, fields, validate

from schemas.common import TrimmedString
from schemas.directory import CustomerListItemSchema, RoomBriefSchema
from schemas.orders import OrderSchema
from schemas.parking import PersonBriefSchema, SpaceBriefSchema
from server.search.omni import FIELD_LABELS, FIELDS
from server.search.rules import (
    COUNT_LIMIT,
    DEFAULT_LIMIT,
    MATCH_LABELS,
    MATCHES,
    MAX_LIMIT,
    MAX_QUERY_LENGTH,
    QUERY_KIND_LABELS,
    QUERY_KINDS,
    Match,
    QueryKind,
)


class SearchArgsSchema(Schema):
    q = TrimmedString(
        required=True,
        validate=validate.Length(min=1, max=MAX_QUERY_LENGTH),
        metadata={
            "description": "房号、客户姓名（或其拼音首字母、全拼）、车牌号（完整或片段）、"
            "手机号（完整或后 4 位）、证件号或工单号"
            f"（去掉首尾空白后 1–{MAX_QUERY_LENGTH} 个字符）"
        },
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"每组返回的条数（默认 {DEFAULT_LIMIT}）"},
    )


class _HitSchema(Schema):
    match = fields.String(
        validate=validate.OneOf(MATCHES),
        metadata={
            "description": "exact 完全匹配 | prefix 开头匹配 | tail 手机尾号 | contains 包含 | "
            "similar 相似（排序即按此顺序）"
        },
    )
    match_label = fields.Function(
        lambda hit: MATCH_LABELS[Match(hit.match)],
        metadata={"type": "string", "description": "匹配方式的中文名"},
    )


def _link(template: str) -> Any:
    return fields.Function(
        lambda hit: template.format(id=hit.item.id),
        metadata={"type": "string", "description": "控制台中的去处"},
    )


class RoomHitSchema(_HitSchema):
    room = fields.Nested(RoomBriefSchema, attribute="item")
    link = _link("/console/search/rooms/{id}")


class CustomerHitSchema(_HitSchema):
    customer = fields.Nested(CustomerListItemSchema, attribute="item")
    matched_field = fields.String(
        attribute="field",
        validate=validate.OneOf(FIELDS),
        metadata={
            "description": "命中的字段：name 姓名 | phone 手机号 | contact_phone 联系人手机号 | "
            "id_number 证件号 | pinyin 姓名拼音（首字母或全拼）"
        },
    )
    matched_field_label = fields.Function(
        lambda hit: FIELD_LABELS[hit.field], metadata={"type": "string"}
    )
    link = _link("/console/search/customers/{id}")


class VehicleFoundSchema(Schema):
    """A vehicle as the search shows it: plate, model and colour, its owner (phone masked) and
    its usual space."""

    id = fields.Integer()
    plate = fields.String(metadata={"example": "粤B12345"})
    model = fields.String(metadata={"description": "品牌车型"})
    colour = fields.String(metadata={"description": "颜色"})
    customer = fields.Nested(PersonBriefSchema, metadata={"description": "车主"})
    space = fields.Nested(SpaceBriefSchema, allow_none=True, metadata={"description": "常用车位"})


class VehicleHitSchema(_HitSchema):
    vehicle = fields.Nested(VehicleFoundSchema, attribute="item")
    link = fields.Function(
        lambda hit: "/console/parking?" + urlencode({"plate": hit.item.plate}),
        metadata={"type": "string", "description": "控制台中的去处（车位车辆页，按车牌筛选）"},
    )


class OrderHitSchema(_HitSchema):
    order = fields.Nested(OrderSchema, attribute="item")
    link = _link("/console/orders/{id}")


def _group(item: type[Schema], label: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "label": fields.Constant(label, metadata={"type": "string"}),
            "total": fields.Integer(
                metadata={
                    "description": f"匹配总数（超过 {COUNT_LIMIT} 时为 {COUNT_LIMIT}，"
                    "total_exact 为 false）"
                }
            ),
            "total_exact": fields.Boolean(),
            "items": fields.List(fields.Nested(item), metadata={"description": "最匹配的前几条"}),
        },
        name=item.__name__.removesuffix("HitSchema") + "SearchGroupSchema",
    )


class SearchSchema(Schema):
    q = fields.String(metadata={"description": "去掉首尾空白后的查询"})
    query_kind = fields.String(
        validate=validate.OneOf(QUERY_KINDS),
        metadata={
            "description": "phone 手机号 | phone_tail 手机尾号 | order_number 工单号 | "
            "id_number 证件号 | text 房号、姓名（拼音）或车牌"
        },
    )
    query_kind_label = fields.Function(
        lambda r: QUERY_KIND_LABELS[QueryKind(r.query_kind)], metadata={"type": "string"}
    )
    rooms = fields.Nested(_group(RoomHitSchema, "房屋"))
    customers = fields.Nested(_group(CustomerHitSchema, "客户"))
    orders = fields.Nested(_group(OrderHitSchema, "工单"))
    vehicles = fields.Nested(_group(VehicleHitSchema, "车辆"))
