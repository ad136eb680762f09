"""Console schemas for daily reconciliation (对账): runs and their discrepancies."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema, page_of
from server.reconciliation.rules import (
    ACTIONS,
    CHANNELS,
    DETAIL_FORMATS,
    DISCREPANCY_KINDS,
    RUN_STATUSES,
)

_CHANNEL = "wechat 微信支付；alipay 支付宝"
_KINDS = (
    "missing_here 渠道有支付、本系统无；"
    "unpaid_here 渠道已支付、本系统未支付（已按漏掉的通知补记）；"
    "missing_at_provider 本系统已支付、当日账单无；amount_mismatch 金额不符；"
    "refund_status_mismatch 退款状态不符（处理中的退款已重新查询）；"
    "refund_missing_here 渠道有退款、本系统无；"
    "refund_missing_at_provider 本系统有退款、当日账单无；total_mismatch 汇总不符"
)


class ReconciliationRunSchema(Schema):
    """One day's bill of one channel, reconciled for the organisation."""

    id = fields.Integer()
    channel = fields.String(metadata={"description": _CHANNEL, "enum": list(CHANNELS)})
    bill_date = fields.Date(metadata={"description": "账单日期（北京时间）"})
    account_id = fields.Integer(
        allow_none=True, metadata={"description": "支付账户；null 为系统默认账户"}
    )
    status = fields.String(
        metadata={
            "description": "queued 排队中（含账单尚未生成、等待重试）；running 对账中；"
            "done 已完成；failed 失败（见 error）",
            "enum": list(RUN_STATUSES),
        }
    )
    rows_seen = fields.Integer(metadata={"description": "已处理的账单行数（对账中实时更新）"})
    summary = fields.Dict(
        metadata={
            "description": "汇总：matched 一致的笔数与金额；bill 账单明细与账单汇总行；ours 本系统"
            "当日支付与退款；fees 手续费（milli_fen 为千分之一分）；discrepancies 各类差异笔数"
        }
    )
    attempts = fields.Integer(metadata={"description": "已运行次数"})
    started_at = LocalDateTime(allow_none=True)
    finished_at = LocalDateTime(allow_none=True)
    error = fields.String(metadata={"description": "失败或等待的原因，空为无"})
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class DiscrepancySchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": _KINDS, "enum": list(DISCREPANCY_KINDS)})
    out_trade_no = fields.String(metadata={"description": "商户订单号（支付单号）"})
    out_refund_no = fields.String(metadata={"description": "商户退款单号"})
    provider_txn_id = fields.String(metadata={"description": "渠道交易号或退款单号"})
    ours_fen = fields.Integer(allow_none=True, metadata={"description": "本系统金额（分）"})
    theirs_fen = fields.Integer(allow_none=True, metadata={"description": "渠道金额（分）"})
    detail = fields.String(metadata={"description": "说明"})
    action = fields.String(
        allow_none=True,
        metadata={
            "description": "对账自动处理：settled 已补记支付；query_scheduled 已重新查询退款；"
            "null 待人工处理",
            "enum": list(ACTIONS),
        },
    )
    resolved = fields.Boolean(metadata={"description": "是否已由对账自动解决"})
    created_at = LocalDateTime()


class ReconciliationDetailSchema(Schema):
    run = fields.Nested(ReconciliationRunSchema, required=True)
    discrepancies = fields.Nested(page_of(DiscrepancySchema), required=True)


class ReconciliationQueryArgsSchema(PageArgsSchema):
    channel = fields.String(validate=validate.OneOf(CHANNELS), metadata={"description": _CHANNEL})
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    date_from = fields.Date(metadata={"description": "账单日期起（含）"})
    date_to = fields.Date(metadata={"description": "账单日期止（含）"})


class ReconciliationDetailArgsSchema(PageArgsSchema):
    kind = fields.String(
        validate=validate.OneOf(DISCREPANCY_KINDS), metadata={"description": "只看某一类差异"}
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(DETAIL_FORMATS),
        metadata={"description": "json 分页；csv 导出全部差异（忽略 page / page_size、kind）"},
    )


class ReconciliationCreateSchema(Schema):
    channel = fields.String(
        required=True, validate=validate.OneOf(CHANNELS), metadata={"description": _CHANNEL}
    )
    date = fields.Date(required=True, metadata={"description": "账单日期（北京时间，昨天及以前）"})
