"""What a repair costs: specs, labour, materials and stock, service items, order charges."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import LocalDateTime, PageArgsSchema, TrimmedString, name_field
from server.charges.rules import (
    MAX_PRICE_FEN,
    MAX_QUANTITY,
    MOVEMENT_REASONS,
    REQUISITION_STATUSES,
)
from server.kernel.values import CHARGE_KINDS, PREPAY_KINDS

PRICE = fields.Integer(
    strict=True,
    required=True,
    validate=validate.Range(min=0, max=MAX_PRICE_FEN),
    metadata={"description": "单价（分）"},
)
QUANTITY = validate.Range(min=1, max=MAX_QUANTITY)
UNIT = TrimmedString(
    required=True, validate=validate.Length(min=1, max=10), metadata={"example": "小时"}
)
KIND_DOC = {"description": "labor 工时 | material 耗材 | service 服务项"}
REASON_DOC = {
    "description": "stock_in 入库 | stock_out 出库 | requisition 领用 | return 退料 | "
    "charge 用于工单 | charge_removed 工单费用撤回"
}


def note_field() -> fields.String:
    return TrimmedString(load_default="", validate=validate.Length(max=200))


class SpecSchema(Schema):
    id = fields.Integer(dump_only=True)
    subtype_id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "更换普通门锁"})
    description = TrimmedString(validate=validate.Length(max=200))
    price_fen = PRICE
    sort_order = fields.Integer(strict=True, validate=validate.Range(min=0, max=9999))
    is_active = fields.Boolean()
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class TenantSpecSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    price_fen = fields.Integer(metadata={"description": "规格价格（分）"})


class LaborPriceSchema(Schema):
    department_id = fields.Integer(dump_only=True)
    price_fen = PRICE


class LaborItemSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "一般维修"})
    unit = UNIT
    price_fen = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=0, max=MAX_PRICE_FEN),
        metadata={"description": "默认单价（分）：维修工所在部门没有单独价格时适用"},
    )
    is_active = fields.Boolean()
    prices = fields.List(
        fields.Nested(LaborPriceSchema),
        dump_only=True,
        metadata={"description": "各部门的单价"},
    )
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class MaterialSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "水龙头"})
    unit = UNIT
    price_fen = PRICE
    store_qty = fields.Integer(
        dump_only=True, metadata={"description": "仓库库存（入库/出库/领用/退料时变化）"}
    )
    is_active = fields.Boolean()
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class ServiceItemSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = name_field(50, metadata={"example": "上门费"})
    unit = TrimmedString(validate=validate.Length(min=1, max=10), metadata={"example": "次"})
    price_fen = PRICE
    is_active = fields.Boolean()
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)


class NamedQueryArgsSchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "按名称搜索"})
    is_active = fields.Boolean()


class StockChangeSchema(Schema):
    quantity = fields.Integer(strict=True, required=True, validate=QUANTITY)
    note = note_field()


class MaterialBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    unit = fields.String()
    price_fen = fields.Integer()


class HoldingSchema(Schema):
    material = fields.Nested(MaterialBriefSchema)
    qty = fields.Integer(metadata={"description": "我手上的数量"})


class MyStockSchema(Schema):
    items = fields.List(fields.Nested(HoldingSchema))


class RequisitionCreateSchema(Schema):
    material_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(strict=True, required=True, validate=QUANTITY)
    note = note_field()


class ReturnCreateSchema(Schema):
    material_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(strict=True, required=True, validate=QUANTITY)
    note = note_field()


class RequisitionSchema(Schema):
    id = fields.Integer()
    staff_id = fields.Integer()
    material_id = fields.Integer()
    quantity = fields.Integer()
    note = fields.String()
    status = fields.String(
        validate=validate.OneOf(REQUISITION_STATUSES),
        metadata={"description": "pending 待审批 | approved 已批准 | rejected 已驳回"},
    )
    decided_by_user_id = fields.Integer(allow_none=True)
    decided_at = LocalDateTime(allow_none=True)
    decision_note = fields.String()
    created_at = LocalDateTime()


class RequisitionQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(REQUISITION_STATUSES))
    staff_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))


class MyRequisitionQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(REQUISITION_STATUSES))


class DecisionSchema(Schema):
    note = note_field()


class MovementSchema(Schema):
    id = fields.Integer()
    material_id = fields.Integer()
    reason = fields.String(validate=validate.OneOf(MOVEMENT_REASONS), metadata=REASON_DOC)
    store_delta = fields.Integer(metadata={"description": "仓库数量变化"})
    tech_delta = fields.Integer(metadata={"description": "维修工手上数量变化"})
    staff_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    requisition_id = fields.Integer(allow_none=True)
    actor_user_id = fields.Integer(metadata={"description": "操作人"})
    note = fields.String()
    created_at = LocalDateTime()


_ID = validate.Range(min=1, max=2**63 - 1)


class MovementQueryArgsSchema(PageArgsSchema):
    material_id = fields.Integer(validate=_ID)
    staff_id = fields.Integer(validate=_ID)
    order_id = fields.Integer(validate=_ID)


class TechnicianHoldingSchema(Schema):
    staff_id = fields.Integer()
    name = fields.String()
    qty = fields.Integer()


class StockLineSchema(Schema):
    material = fields.Nested(MaterialBriefSchema)
    store_qty = fields.Integer(metadata={"description": "仓库库存"})
    technician_qty = fields.Integer(metadata={"description": "维修工手上合计"})
    value_fen = fields.Integer(metadata={"description": "库存总值（分）"})
    technicians = fields.List(fields.Nested(TechnicianHoldingSchema))


class StockReportSchema(Schema):
    items = fields.List(fields.Nested(StockLineSchema))


class ChargeCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CHARGE_KINDS), metadata=KIND_DOC)
    item_id = fields.Integer(
        required=True,
        strict=True,
        validate=_ID,
        metadata={"description": "工时项目、耗材或服务项的 id（按 kind）；价格由服务端决定"},
    )
    quantity = fields.Integer(strict=True, load_default=1, validate=QUANTITY)


class ChargeSchema(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(CHARGE_KINDS), metadata=KIND_DOC)
    item_id = fields.Integer()
    name = fields.String()
    unit = fields.String()
    unit_price_fen = fields.Integer()
    quantity = fields.Integer()
    amount_fen = fields.Integer()
    created_at = LocalDateTime()


class FeeSchema(Schema):
    """An order's money: the chosen spec, the prepay, what was paid, and the settlement."""

    spec_id = fields.Integer(allow_none=True)
    spec_name = fields.String()
    spec_price_fen = fields.Integer(metadata={"description": "服务规格价格（分）"})
    prepay = fields.String(
        allow_none=True,
        validate=validate.OneOf(PREPAY_KINDS),
        metadata={"description": "deposit 订金 | full 全额"},
    )
    prepay_fen = fields.Integer(metadata={"description": "下单时应预付（分）"})
    paid_fen = fields.Integer(metadata={"description": "已支付（分，累计收款）"})
    refunded_fen = fields.Integer(metadata={"description": "已退款（分，累计退回）"})
    waived = fields.Boolean(metadata={"description": "是否已减免"})
    discount_fen = fields.Integer(metadata={"description": "优惠金额（分）"})
    total_fen = fields.Integer(metadata={"description": "结算总额（分）"})
    company_cost_fen = fields.Integer(metadata={"description": "公司承担（分）"})
    refund_due_fen = fields.Integer(metadata={"description": "应退款（分）"})
    settled_at = LocalDateTime(allow_none=True)


class FeeAdjustSchema(Schema):
    waive = fields.Boolean(load_default=False, metadata={"description": "全部减免"})
    discount_fen = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(min=0, max=MAX_PRICE_FEN),
        metadata={"description": "优惠金额（分）；超过总额按总额计"},
    )
    reason = TrimmedString(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("waive") and not data.get("discount_fen"):
            raise ValidationError("请选择减免或填写优惠金额", "discount_fen")


class PricedItemSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    unit = fields.String()
    price_fen = fields.Integer(metadata={"description": "适用于我的单价（分）"})
    qty = fields.Integer(allow_none=True, metadata={"description": "耗材：我手上的数量"})


class PriceListSchema(Schema):
    labor = fields.List(fields.Nested(PricedItemSchema))
    materials = fields.List(fields.Nested(PricedItemSchema))
    services = fields.List(fields.Nested(PricedItemSchema))
