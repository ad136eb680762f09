"""Console schemas for payment accounts (微信支付商户 / 支付宝应用) and payment channels.

Secret fields are load-only: they are accepted, sealed, and never answered.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import LocalDateTime, PageArgsSchema
from server.charges.rules import LEDGER_KINDS
from server.orders.rules.values import DESK_LIST_FORMATS
from server.payments.rules import (
    CHANNELS,
    OFFLINE_METHODS,
    PAYMENT_CHANNELS,
    PAYMENT_PURPOSES,
    PAYMENT_STATUSES,
    PROVIDERS,
    REFUND_SOURCES,
    REFUND_STATUSES,
)

PEM_MAX = 20_000


def _text(max_length: int, description: str, *, load_only: bool = False) -> fields.String:
    return fields.String(
        validate=validate.Length(max=max_length),
        load_only=load_only,
        metadata={"description": description},
    )


class _AccountFieldsSchema(Schema):
    name = _text(50, "账户名称（便于识别）")
    mchid = _text(32, "微信支付商户号（仅微信支付）")
    appid = _text(32, "微信支付：绑定的小程序 AppID；支付宝：应用 ID")
    seller_id = _text(32, "支付宝卖家用户号 2088…（可选，仅支付宝）")
    private_key = _text(
        PEM_MAX, "商户 API 私钥 / 支付宝应用私钥（PEM，RSA ≥ 2048 位）", load_only=True
    )
    apiv3_key = _text(64, "APIv3 密钥（32 字节，仅微信支付）", load_only=True)
    cert_serial = _text(64, "商户 API 证书序列号（仅微信支付）", load_only=True)
    platform_public_key = _text(PEM_MAX, "微信支付平台公钥（PEM）", load_only=True)
    platform_public_key_id = _text(80, "微信支付平台公钥 ID（PUB_KEY_ID_…）", load_only=True)
    platform_certs = _text(PEM_MAX, "微信支付平台证书（PEM，可多张）", load_only=True)
    alipay_public_key = _text(PEM_MAX, "支付宝公钥（PEM 或 base64）", load_only=True)
    # Alipay certificate mode (公钥证书): the three files instead of alipay_public_key.
    app_public_key_cert = _text(PEM_MAX, "应用公钥证书（公钥证书模式，PEM）", load_only=True)
    alipay_public_key_cert = _text(PEM_MAX, "支付宝公钥证书（公钥证书模式，PEM）", load_only=True)
    alipay_root_cert = _text(PEM_MAX, "支付宝根证书（公钥证书模式，PEM，可多张）", load_only=True)


class PaymentAccountCreateSchema(_AccountFieldsSchema):
    provider = fields.String(
        required=True,
        validate=validate.OneOf(PROVIDERS),
        metadata={"description": "wechat：微信支付商户；alipay：支付宝应用"},
    )


class PaymentAccountUpdateSchema(_AccountFieldsSchema):
    """Any key field makes a new key version; the old one is kept, retired."""


class PaymentKeyVersionSchema(Schema):
    version = fields.Integer()
    status = fields.String(metadata={"description": "active 当前使用；retired 已轮换（仍可验签）"})
    created_at = LocalDateTime()
    retired_at = LocalDateTime(allow_none=True)


class PaymentKeysSchema(PaymentKeyVersionSchema):
    has_private_key = fields.Boolean()
    private_key_fingerprint = fields.String(metadata={"description": "私钥对应公钥的 SHA-256"})
    has_apiv3_key = fields.Boolean()
    cert_serial = fields.String(allow_none=True)
    platform_public_key_id = fields.String(allow_none=True)
    platform_public_key_fingerprint = fields.String(allow_none=True)
    platform_cert_serials = fields.List(fields.String())
    alipay_public_key_fingerprint = fields.String(allow_none=True)


class PaymentAccountSchema(Schema):
    id = fields.Integer()
    provider = fields.String(validate=validate.OneOf(PROVIDERS))
    name = fields.String()
    mchid = fields.String(allow_none=True)
    appid = fields.String()
    seller_id = fields.String(allow_none=True)
    is_active = fields.Boolean()
    active_version = fields.Integer()
    keys = fields.Nested(
        PaymentKeysSchema, metadata={"description": "当前密钥版本（不含密钥本身）"}
    )
    versions = fields.List(fields.Nested(PaymentKeyVersionSchema))
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class PaymentChannelsSchema(Schema):
    channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)),
        required=True,
        validate=validate.Length(max=len(CHANNELS)),
        metadata={"description": "住户可用的支付渠道：wechat / alipay / company（公司代付）"},
    )
    available = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)),
        dump_only=True,
        metadata={"description": "已有支付账户（本机构或系统默认）、可启用的渠道"},
    )
    customised = fields.Boolean(dump_only=True, metadata={"description": "是否已自行设置"})


# --- paying, records, refunds -----------------------------------------------------------------


class PaymentCreateSchema(Schema):
    channel = fields.String(
        required=True,
        validate=validate.OneOf(PROVIDERS),
        metadata={"description": "wechat（微信支付，小程序 JSAPI）或 alipay（支付宝）"},
    )


class PaymentAnswerSchema(Schema):
    payment_id = fields.Integer(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    amount_fen = fields.Integer(
        required=True, metadata={"description": "本次应付（分），由服务端计算"}
    )
    out_trade_no = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(PAYMENT_STATUSES))
    expires_at = LocalDateTime(allow_none=True)
    params = fields.Dict(
        required=True,
        metadata={
            "description": "wechat：wx.requestPayment 的参数（appId、timeStamp、nonceStr、package、"
            "signType=RSA、paySign）；alipay：orderStr（支付宝 SDK 调起支付所需的已签名订单串）"
        },
    )


class PaymentRecordSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    order_number = fields.String()
    channel = fields.String(validate=validate.OneOf(PAYMENT_CHANNELS))
    purpose = fields.String(validate=validate.OneOf(PAYMENT_PURPOSES))
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    amount_fen = fields.Integer()
    out_trade_no = fields.String()
    provider_txn_id = fields.String(allow_none=True)
    created_at = LocalDateTime()
    paid_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    method = fields.String(allow_none=True, validate=validate.OneOf(OFFLINE_METHODS))
    note = fields.String()
    created_by_user_id = fields.Integer(allow_none=True)


class RefundSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    order_number = fields.String()
    payment_id = fields.Integer()
    out_trade_no = fields.String()
    channel = fields.String(validate=validate.OneOf(PAYMENT_CHANNELS))
    out_refund_no = fields.String()
    amount_fen = fields.Integer()
    status = fields.String(
        validate=validate.OneOf(REFUND_STATUSES),
        metadata={
            "description": "pending 待提交；processing 退款中；success 成功；closed 关闭；"
            "abnormal 异常（需人工处理）"
        },
    )
    source = fields.String(
        validate=validate.OneOf(REFUND_SOURCES),
        metadata={
            "description": "cancel 取消退款；settlement 结算多付；desk 人工退款；"
            "late_payment 取消后到账自动退"
        },
    )
    reason = fields.String()
    provider_refund_id = fields.String(allow_none=True)
    failure = fields.String()
    created_at = LocalDateTime()
    succeeded_at = LocalDateTime(allow_none=True)
    requested_by_user_id = fields.Integer(allow_none=True)


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String(
        validate=validate.OneOf(LEDGER_KINDS),
        metadata={
            "description": "charge 应收 +；waive 减免 −；company_cost 公司承担 −；"
            "cancel 取消 −；payment 收款 −；refund 退款 +"
        },
    )
    amount_fen = fields.Integer(metadata={"description": "带符号：合计即住户仍欠（负数为应退）"})
    reference = fields.String(allow_none=True)
    channel = fields.String()
    note = fields.String()
    created_at = LocalDateTime()


class OrderMoneySchema(Schema):
    order_id = fields.Integer()
    order_number = fields.String()
    payment_status = fields.String()
    payable_fen = fields.Integer()
    owed_fen = fields.Integer(metadata={"description": "台账合计：住户仍欠（负数为应退）"})
    charged_fen = fields.Integer()
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()
    payments = fields.List(fields.Nested(PaymentRecordSchema))
    refunds = fields.List(fields.Nested(RefundSchema))
    ledger = fields.List(fields.Nested(LedgerEntrySchema))


class _RecordQueryArgsSchema(PageArgsSchema):
    channel = fields.String(validate=validate.OneOf(PAYMENT_CHANNELS))
    order_number = fields.String(validate=validate.Length(min=1, max=20))
    date_from = fields.Date(metadata={"description": "创建日期起（北京时间，含）"})
    date_to = fields.Date(metadata={"description": "创建日期止（北京时间，含）"})
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(DESK_LIST_FORMATS),
        metadata={"description": "json 分页；csv / xlsx 导出全部匹配记录"},
    )

    @validates_schema
    def _dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError("结束日期不能早于开始日期", "date_to")


class PaymentQueryArgsSchema(_RecordQueryArgsSchema):
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))


class RefundQueryArgsSchema(_RecordQueryArgsSchema):
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))
    source = fields.String(validate=validate.OneOf(REFUND_SOURCES))


class RefundCreateSchema(Schema):
    amount_fen = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=100_000_000)
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=80))


class OfflinePaymentCreateSchema(Schema):
    amount_fen = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=100_000_000)
    )
    method = fields.String(
        required=True,
        validate=validate.OneOf(OFFLINE_METHODS),
        metadata={"description": "cash 现金；transfer 转账"},
    )
    note = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "收款说明（如转账流水号、收款人）"},
    )
