"""The tenant's pay request as a process: it owns its transactions, like a job does.

1. one transaction decides the payment (`paying.prepare_payment`) and commits;
2. payments it replaced are closed at their provider (or found paid: then what the order owes
   has changed), and step 1 runs again: a new payment is written only once none is left open;
3. the provider is asked for the payment (WeChat JSAPI prepay; the Alipay order string is
   signed here, no call), with no transaction open; the same out_trade_no with the same
   parameters gets the same prepay_id, so a retry after a timeout is safe;
4. one transaction stores the answer, which is replayed as is when asked again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from server.config import Settings
from server.db.session import Database
from server.kernel.errors import UpstreamError, UpstreamUnavailable
from server.orders.actors import Actor
from server.payments import followup, paying
from server.payments.gateways import Gateway, gateway_of_payment
from server.payments.models import Payment
from server.payments.rules import CLOSED, PAID

MAX_ROUNDS = 3

log = logging.getLogger(__name__)


def _provider_params(gateway: Gateway, payment: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if gateway.wechat is not None:
        prepay_id = gateway.wechat.jsapi_prepay(
            out_trade_no=payment["out_trade_no"],
            description=payment["description"],
            amount_fen=payment["amount_fen"],
            payer_openid=payment["payer_openid"],
            time_expire=payment["expires_at"],
            attach=f"order:{payment['order_id']}",
        )
        return prepay_id, gateway.wechat.request_payment_params(prepay_id)
    assert gateway.alipay is not None
    order_string = gateway.alipay.app_pay_order_string(
        out_trade_no=payment["out_trade_no"],
        total_fen=payment["amount_fen"],
        subject=payment["description"],
        time_expire=payment["expires_at"],
    )
    return "", {"orderStr": order_string, "out_trade_no": payment["out_trade_no"]}


def pay(
    db: Database,
    settings: Settings,
    *,
    actor: Actor,
    order_id: int,
    channel: str,
    idempotency_key: str | None,
    request_hash: str,
    now: datetime,
) -> dict[str, Any]:
    """Pay what the order owes now with `channel`: `{payment_id, channel, amount_fen, params}`."""
    for _ in range(MAX_ROUNDS):
        with db.transaction() as uow:
            prepared = paying.prepare_payment(
                uow.session,
                settings=settings,
                actor=actor,
                order_id=order_id,
                channel=channel,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                now=now,
            )
        owed_changed = False
        for payment_id in prepared.to_close:
            try:
                closed = followup.close_payment(db, settings, payment_id=payment_id, now=now)
            except (UpstreamError, UpstreamUnavailable) as exc:
                # Left `closing`: its job keeps trying; the tenant is not kept waiting for it.
                log.warning("payment %s not closed yet: %r", payment_id, exc)
                continue
            owed_changed = owed_changed or closed == PAID
        if prepared.payment_id is not None and not owed_changed:
            break
    if prepared.payment_id is None:
        # Every round found another payment to close first: someone keeps replacing them.
        raise UpstreamUnavailable("支付处理中，请稍后重试")
    with db.transaction() as uow:
        payment = uow.session.get(Payment, prepared.payment_id)
        assert payment is not None
        if payment.params is not None or payment.status in (PAID, CLOSED):
            return paying.answer(payment)
        gateway = gateway_of_payment(uow.session, settings=settings, payment=payment)
        fields = {
            "out_trade_no": payment.out_trade_no,
            "description": payment.description,
            "amount_fen": payment.amount_fen,
            "payer_openid": payment.payer_openid,
            "expires_at": payment.expires_at,
            "order_id": payment.order_id,
        }
    prepay_id, params = _provider_params(gateway, fields)
    with db.transaction() as uow:
        payment = paying.record_prepay(
            uow.session, payment_id=prepared.payment_id, prepay_id=prepay_id, params=params, now=now
        )
        return paying.answer(payment)
