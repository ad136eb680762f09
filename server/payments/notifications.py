"""Provider notifications: verified with the keys of the account that made the payment.

One endpoint per provider serves every organisation, so the account is found from what the
notification says in clear (WeChat: the `Wechatpay-Serial` of the platform key; Alipay: the
`app_id`), every candidate account's keys are tried, and the payment the notification names
must have been made with the account whose keys verified it — else it is refused.

Nothing here calls a provider: the notification is settled in the request's transaction and
the slow work (refunds of late payments) is written to the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.integrations import alipay as alipay_api
from server.integrations import wechatpay
from server.kernel.errors import SignatureInvalid
from server.payments import refunding
from server.payments.accounts import (
    AlipayAccount,
    WeChatPayAccount,
    account_version,
    default_account,
)
from server.payments.followup import (
    WECHAT_REFUND_STATES,
    alipay_time,
    parse_time,
    schedule_refund_query,
)
from server.payments.models import Payment, PaymentAccount, PaymentAccountSecret, Refund
from server.payments.rules import ALIPAY, R_PENDING, R_PROCESSING, UNSETTLED, WECHAT
from server.payments.settlement import mark_closed, settle_paid

log = logging.getLogger(__name__)

TRANSACTION_SUCCESS = "TRANSACTION.SUCCESS"


def _versions(session: Session, provider: str, condition: Any) -> list[tuple[int, int]]:
    rows = session.execute(
        select(PaymentAccountSecret.account_id, PaymentAccountSecret.version)
        .join(PaymentAccount, PaymentAccount.id == PaymentAccountSecret.account_id)
        .where(PaymentAccount.provider == provider, condition)
        .order_by(PaymentAccountSecret.account_id, PaymentAccountSecret.version.desc())
    )
    return [(int(a), int(v)) for a, v in rows]


def _wechat_candidates(
    session: Session, settings: Settings, serial: str
) -> Iterable[WeChatPayAccount]:
    default = default_account(settings, channel=WECHAT)
    if isinstance(default, WeChatPayAccount) and serial in default.merchant.platform.keys:
        yield default
    for account_id, version in _versions(
        session,
        WECHAT,
        or_(
            PaymentAccountSecret.platform_public_key_id == serial,
            PaymentAccountSecret.platform_certs != "",
        ),
    ):
        account = account_version(
            session, settings=settings, account_id=account_id, version=version
        )
        if isinstance(account, WeChatPayAccount) and serial in account.merchant.platform.keys:
            yield account


@dataclass(frozen=True)
class Outcome:
    """What a notification did (for logs and tests); the provider hears success either way."""

    result: str
    out_trade_no: str = ""


def _payment(session: Session, out_trade_no: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.out_trade_no == out_trade_no))


def handle_wechat(
    session: Session, *, settings: Settings, body: bytes, headers: Any, now: datetime
) -> Outcome:
    """Verify, decrypt and apply a WeChat Pay payment or refund notification.

    Raises SignatureInvalid (answer 401 FAIL: WeChat retries a genuine one) for a bad or stale
    signature, a probe, or keys that are not those of the payment's account.
    """
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    serial = lowered.get("wechatpay-serial", "")
    verified: list[tuple[WeChatPayAccount, wechatpay.WeChatPayNotification]] = []
    for account in _wechat_candidates(session, settings, serial) if serial else ():
        try:
            note = wechatpay.parse_notification(
                body=body, headers=lowered, account=account.merchant, now=now
            )
        except wechatpay.SignatureInvalid as exc:
            log.warning("WeChat Pay notification refused (serial %s): %s", serial, exc.reason)
            continue
        verified.append((account, note))
    if not verified:
        raise SignatureInvalid()
    note = verified[0][1]
    resource = note.resource
    if note.original_type == "refund" or note.event_type.startswith("REFUND."):
        return _wechat_refund(session, verified, resource, now)
    out_trade_no = str(resource.get("out_trade_no", ""))
    payment = _payment(session, out_trade_no)
    if payment is None or payment.channel != WECHAT:
        log.error("WeChat Pay notification for unknown payment %s", out_trade_no)
        return Outcome("unknown", out_trade_no)
    if not any(a.account_id == payment.account_id for a, _ in verified):
        log.error("WeChat Pay notification for %s verified by another account", out_trade_no)
        raise SignatureInvalid()
    if resource.get("mchid") != payment.mchid or resource.get("appid") != payment.appid:
        log.error("WeChat Pay notification for %s names another merchant", out_trade_no)
        return Outcome("mismatch", out_trade_no)
    if note.event_type != TRANSACTION_SUCCESS or resource.get("trade_state") != "SUCCESS":
        return Outcome("ignored", out_trade_no)
    amount = resource.get("amount") if isinstance(resource.get("amount"), dict) else {}
    total = amount.get("total") if amount else None
    settled = settle_paid(
        session,
        payment_id=payment.id,
        provider_txn_id=str(resource.get("transaction_id") or ""),
        amount_fen=total if isinstance(total, int) and not isinstance(total, bool) else -1,
        paid_at=parse_time(resource.get("success_time"), now),
        now=now,
        via="notification",
    )
    return Outcome(settled.value, out_trade_no)


def _wechat_refund(
    session: Session,
    verified: list[tuple[WeChatPayAccount, wechatpay.WeChatPayNotification]],
    resource: dict[str, Any],
    now: datetime,
) -> Outcome:
    out_refund_no = str(resource.get("out_refund_no", ""))
    refund = session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))
    if refund is None:
        log.error("WeChat Pay refund notification for unknown refund %s", out_refund_no)
        return Outcome("unknown")
    payment = session.get(Payment, refund.payment_id)
    assert payment is not None
    if not any(a.account_id == payment.account_id for a, _ in verified):
        raise SignatureInvalid()
    if (
        resource.get("out_trade_no") != payment.out_trade_no
        or resource.get("mchid") != payment.mchid
    ):
        log.error("WeChat Pay refund notification for %s does not match", out_refund_no)
        return Outcome("mismatch")
    amount = resource.get("amount") if isinstance(resource.get("amount"), dict) else {}
    refunded = amount.get("refund") if amount else None
    if refunded is not None and refunded != refund.amount_fen:
        # Not the refund we asked for: not booked; the refund's query job asks WeChat itself.
        log.error(
            "WeChat Pay refund notification for %s: %r fen, ours is %s fen; not applied",
            out_refund_no,
            refunded,
            refund.amount_fen,
        )
        return Outcome("amount_mismatch", payment.out_trade_no)
    status = WECHAT_REFUND_STATES.get(str(resource.get("refund_status", "")), "")
    if not status:
        return Outcome("ignored")
    refunding.apply_refund_state(
        session,
        refund_id=refund.id,
        status=status,
        now=now,
        provider_refund_id=str(resource.get("refund_id") or "") or None,
        succeeded_at=parse_time(resource.get("success_time"), now),
    )
    return Outcome(f"refund_{status}", payment.out_trade_no)


def _alipay_candidates(
    session: Session, settings: Settings, app_id: str
) -> Iterable[AlipayAccount]:
    default = default_account(settings, channel=ALIPAY)
    if isinstance(default, AlipayAccount) and default.client.app_id == app_id:
        yield default
    for account_id, version in _versions(session, ALIPAY, PaymentAccount.appid == app_id):
        account = account_version(
            session, settings=settings, account_id=account_id, version=version
        )
        if isinstance(account, AlipayAccount):
            yield account


def handle_alipay(
    session: Session,
    *,
    settings: Settings,
    body: bytes,
    content_type: str | None,
    now: datetime,
) -> Outcome:
    """Verify and apply an Alipay trade notification (RSA2 with the Alipay public key of the
    account the payment was made with). Raises SignatureInvalid: answer `failure`."""
    try:
        app_id = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)).get(
            "app_id", ""
        )
    except ValueError:
        app_id = ""
    verified: list[tuple[AlipayAccount, alipay_api.AlipayNotification]] = []
    for account in _alipay_candidates(session, settings, app_id) if app_id else ():
        try:
            note = alipay_api.verify_notification(
                body,
                app_id=account.client.app_id,
                alipay_public_key=account.client.alipay_public_key,
                content_type=content_type,
                seller_id=account.seller_id or None,
            )
        except alipay_api.AlipayVerificationFailed as exc:
            log.warning("Alipay notification refused (app %s): %s", app_id, exc.message)
            continue
        verified.append((account, note))
    if not verified:
        raise SignatureInvalid()
    note = verified[0][1]
    payment = _payment(session, note.out_trade_no)
    if payment is None or payment.channel != ALIPAY:
        log.error("Alipay notification for unknown payment %s", note.out_trade_no)
        return Outcome("unknown", note.out_trade_no)
    if not any(a.account_id == payment.account_id for a, _ in verified):
        log.error("Alipay notification for %s verified by another account", note.out_trade_no)
        raise SignatureInvalid()
    if note.out_biz_no or note.refund_fee_fen is not None:
        # A refund moved the trade: find out where our refund stands, after this commits.
        refund = session.scalar(
            select(Refund).where(Refund.out_refund_no == (note.out_biz_no or ""))
        )
        if refund is not None and refund.status in (R_PENDING, R_PROCESSING):
            schedule_refund_query(session, refund_id=refund.id)
        if payment.status == "paid" or not note.paid:
            return Outcome("refund", note.out_trade_no)
    if note.paid:
        settled = settle_paid(
            session,
            payment_id=payment.id,
            provider_txn_id=note.trade_no,
            amount_fen=note.total_fen,
            paid_at=alipay_time(note.params.get("gmt_payment"), now),
            now=now,
            via="notification",
        )
        return Outcome(settled.value, note.out_trade_no)
    if note.trade_status == "TRADE_CLOSED" and payment.status in UNSETTLED:
        mark_closed(session, payment_id=payment.id, now=now)
        return Outcome("closed", note.out_trade_no)
    return Outcome("ignored", note.out_trade_no)
