"""全能搜索: the query and its answer, grouped by kind; phones and ID numbers masked."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, MaskedPhone, TrimmedString
from schemas.directory import RoomBriefSchema
from server.kernel.personal_data import mask_id_number
from server.orders.rules.states import LABELS, Status
from server.search.omni import FIELD_LABELS
from server.search.rules import (
    DEFAULT_LIMIT,
    MATCH_LABELS,
    MATCHES,
    MAX_LIMIT,
    MAX_QUERY_LENGTH,
    QUERY_KIND_LABELS,
    QueryKind,
)

MATCH = fields.Function(
    lambda hit: hit.match.value,
    metadata={
        "type": "string",
        "enum": list(MATCHES),
        "description": "exact 完全匹配 | prefix 开头匹配 | tail 手机尾号 | contains 包含 | "
        "similar 相似（按此顺序排序）",
    },
)
MATCH_LABEL = fields.Function(
    lambda hit: MATCH_LABELS[hit.match], metadata={"type": "string", "description": "匹配方式"}
)


def _link(template: str) -> fields.Function:
    return fields.Function(
        lambda hit: template.format(id=hit.item.id),
        metadata={"type": "string", "description": "控制台中的去处"},
    )


class SearchArgsSchema(Schema):
    q = TrimmedString(
        required=True,
        validate=validate.Length(min=1, max=MAX_QUERY_LENGTH),
        metadata={
            "description": "房号、客户姓名、手机号（完整或后 4 位）、证件号或工单号"
            f"（去掉首尾空白后 1–{MAX_QUERY_LENGTH} 个字符）"
        },
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"每组返回的条数（默认 {DEFAULT_LIMIT}）"},
    )


class RoomHitSchema(Schema):
    id = fields.Function(lambda hit: hit.item.id, metadata={"type": "integer"})
    room = fields.Function(
        lambda hit: RoomBriefSchema().dump(hit.item), metadata={"type": "object"}
    )
    match = MATCH
    match_label = MATCH_LABEL
    link = _link("/console/search/rooms/{id}")


def _masked(value: Any) -> Any:
    return mask_id_number(value)


class CustomerHitSchema(Schema):
    id = fields.Function(lambda hit: hit.item.id, metadata={"type": "integer"})
    kind = fields.Function(lambda hit: hit.item.kind, metadata={"type": "string"})
    name = fields.Function(lambda hit: hit.item.name, metadata={"type": "string"})
    phone = MaskedPhone(attribute="item.phone", metadata={"example": "138****0001"})
    id_number = fields.Function(
        lambda hit: _masked(hit.item.id_number),
        allow_none=True,
        metadata={"type": "string", "description": "脱敏后的证件号"},
    )
    matched_field = fields.Function(
        lambda hit: hit.field,
        metadata={
            "type": "string",
            "description": "name 姓名 | phone 手机号 | contact_phone 联系人手机号 | "
            "id_number 证件号",
        },
    )
    matched_field_label = fields.Function(
        lambda hit: FIELD_LABELS[hit.field], metadata={"type": "string"}
    )
    match = MATCH
    match_label = MATCH_LABEL
    link = _link("/console/search/customers/{id}")


class OrderHitSchema(Schema):
    id = fields.Function(lambda hit: hit.item.id, metadata={"type": "integer"})
    number = fields.Function(
        lambda hit: hit.item.number, metadata={"type": "string", "example": "BX20261122-0001"}
    )
    status = fields.Function(lambda hit: hit.item.status, metadata={"type": "string"})
    status_label = fields.Function(
        lambda hit: LABELS[Status(hit.item.status)],
        metadata={"type": "string", "description": "状态的中文名"},
    )
    room = fields.Function(
        lambda hit: RoomBriefSchema().dump(hit.item.room), metadata={"type": "object"}
    )
    contact_name = fields.Function(lambda hit: hit.item.contact_name, metadata={"type": "string"})
    contact_phone = MaskedPhone(attribute="item.contact_phone")
    created_at = LocalDateTime(attribute="item.created_at")
    match = MATCH
    match_label = MATCH_LABEL
    link = _link("/console/orders/{id}")


def _group(item: type[Schema], label: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "label": fields.Constant(label, metadata={"type": "string"}),
            "total": fields.Integer(
                metadata={"description": "匹配总数（超过 1000 时为 1000，total_exact 为 false）"}
            ),
            "total_exact": fields.Boolean(),
            "items": fields.List(fields.Nested(item), metadata={"description": "最匹配的前几条"}),
        },
        name=item.__name__.removesuffix("HitSchema") + "SearchGroupSchema",
    )


class SearchSchema(Schema):
    q = fields.Function(lambda r: r.query.text, metadata={"type": "string"})
    query_kind = fields.Function(
        lambda r: r.query.kind.value,
        metadata={
            "type": "string",
            "enum": [k.value for k in QueryKind],
            "description": "phone 手机号 | phone_tail 手机尾号 | order_number 工单号 | "
            "id_number 证件号 | text 房号或姓名",
        },
    )
    query_kind_label = fields.Function(
        lambda r: QUERY_KIND_LABELS[r.query.kind], metadata={"type": "string"}
    )
    rooms = fields.Nested(_group(RoomHitSchema, "房屋"))
    customers = fields.Nested(_group(CustomerHitSchema, "客户"))
    orders = fields.Nested(_group(OrderHitSchema, "工单"))
