"""Schemas of the repair catalogue.

As the apps see it, and the console's order types (一级) and subtypes (二级).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema, TrimmedString, name_field
from schemas.staff import DepartmentBriefSchema, PostBriefSchema
from server.catalog.rules import FEE_MODES
from server.kernel.values import CHARGE_KINDS, PREPAY_KINDS

PREPAY = {"description": "下单即收费时的预付方式：deposit 订金 | full 全额"}
CHARGE_KINDS_DOC = {"description": "允许的收费类别：labor 工时 | material 耗材 | service 服务项"}


class CatalogSubtypeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    fee_mode = fields.String(
        validate=validate.OneOf(FEE_MODES),
        metadata={
            "description": "none 免费 | charge_on_order 下单即收费 | "
            "charge_after_completion 完成后收费"
        },
    )
    fee_fen = fields.Integer(metadata={"description": "下单时应付金额（分）"})
    booking_enabled = fields.Boolean(metadata={"description": "是否需要预约时段"})
    charge_kinds = fields.List(
        fields.String(validate=validate.OneOf(CHARGE_KINDS)), metadata=CHARGE_KINDS_DOC
    )
    prepay = fields.String(validate=validate.OneOf(PREPAY_KINDS), metadata=PREPAY)
    deposit_fen = fields.Integer(metadata={"description": "固定订金（分）；按比例时为 0"})
    deposit_percent = fields.Integer(
        allow_none=True, metadata={"description": "订金比例（%），为空则按固定订金"}
    )


class CatalogOrderTypeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    subtypes = fields.List(fields.Nested(CatalogSubtypeSchema))


class CatalogSchema(Schema):
    items = fields.List(fields.Nested(CatalogOrderTypeSchema))


MAX_FEE_FEN = 100_000_000


class OrderSubtypeSchema(Schema):
    id = fields.Integer(dump_only=True)
    order_type_id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "水管漏水"})
    description = TrimmedString(validate=validate.Length(max=200))
    sort_order = fields.Integer(strict=True, validate=validate.Range(min=0, max=9999))
    is_active = fields.Boolean()
    fee_mode = fields.String(
        validate=validate.OneOf(FEE_MODES),
        metadata={
            "description": "none 免费 | charge_on_order 下单即收费 | "
            "charge_after_completion 完成后收费"
        },
    )
    fee_fen = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_FEE_FEN),
        metadata={
            "description": "金额（分）；下单即收费时须大于 0：未设服务规格时即为服务价格，"
            "设有服务规格时以所选规格的价格为准"
        },
    )
    booking_enabled = fields.Boolean(metadata={"description": "是否需要预约时段"})
    charge_kinds = fields.List(
        fields.String(validate=validate.OneOf(CHARGE_KINDS)),
        validate=validate.Length(max=len(CHARGE_KINDS)),
        metadata=CHARGE_KINDS_DOC,
    )
    prepay = fields.String(validate=validate.OneOf(PREPAY_KINDS), metadata=PREPAY)
    deposit_fen = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_FEE_FEN),
        metadata={"description": "固定订金（分）；prepay=deposit 且未设比例时须大于 0"},
    )
    deposit_percent = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=100),
        metadata={"description": "订金比例（%，向上取整到分）；为空则按固定订金"},
    )
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class OrderTypeSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "水电维修"})
    description = TrimmedString(validate=validate.Length(max=200))
    department_id = fields.Integer(
        allow_none=True, metadata={"description": "绑定部门：只有该部门的维修工能看到并抢单"}
    )
    department = fields.Nested(DepartmentBriefSchema, dump_only=True, allow_none=True)
    post_id = fields.Integer(
        allow_none=True, metadata={"description": "绑定岗位：只有该岗位的维修工能看到并抢单"}
    )
    post = fields.Nested(PostBriefSchema, dump_only=True, allow_none=True)
    sort_order = fields.Integer(strict=True, validate=validate.Range(min=0, max=9999))
    is_active = fields.Boolean()
    sla_hours = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=8760),
        metadata={"description": "承诺完成时限（小时）；超过即为超时工单（督办）。默认 24"},
    )
    subtypes = fields.List(fields.Nested(OrderSubtypeSchema), dump_only=True)
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class OrderTypeQueryArgsSchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "按名称搜索"})
    is_active = fields.Boolean()
