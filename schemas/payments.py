"""Console schemas for payment accounts (微信支付商户 / 支付宝应用) and payment channels.

Secret fields are load-only: they are accepted, sealed, and never answered.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime
from server.payments.rules import CHANNELS, PROVIDERS

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
