"""Payment notifications from WeChat Pay and Alipay: no token; the signature is the proof.

Both read the raw body before anything parses it (the signature covers those exact bytes),
settle in the request's one transaction (committed after the answer is built) and leave the
slow work to the outbox, so they answer within the providers' few seconds.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from server.payments import notifications
from server.web.blueprint import Blueprint
from server.web.context import container, now, session

blp = Blueprint(
    "payment_callbacks",
    __name__,
    url_prefix="/api/v1/payments",
    description="支付渠道回调（微信支付、支付宝；验签，幂等）",
)


@blp.post("/wechat/notify")
@blp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
)
@blp.response(204, description="已处理（含重复通知）")
@blp.alt_response(
    401,
    description="signature_invalid：验签失败、时间戳过期、探测签名或非本账户密钥（微信支付会重发）",
)
def wechat_notify() -> Any:
    """微信支付通知（支付成功、退款结果）：按原始报文验签、解密，按商户单号幂等入账"""
    notifications.handle_wechat(
        session(),
        settings=container().settings,
        body=request.get_data(cache=True),
        headers=request.headers,
        now=now(),
    )
    return Response(status=204)


@blp.post("/alipay/notify")
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    },
    responses={
        "200": {
            "description": "已处理：正文为 success（纯文本）",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    },
)
@blp.alt_response(401, description="signature_invalid：RSA2 验签失败或非本账户通知（支付宝会重发）")
def alipay_notify() -> Any:
    """支付宝异步通知：RSA2 验签（支付宝公钥），核对 app_id、收款方、金额，幂等入账，回复 success"""
    notifications.handle_alipay(
        session(),
        settings=container().settings,
        body=request.get_data(cache=True),
        content_type=request.headers.get("Content-Type"),
        now=now(),
    )
    return Response("success", status=200, mimetype="text/plain")
