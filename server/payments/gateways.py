"""The provider clients for a payment: built from the keys of the account that made it.

Reading the keys is a database read; the calls themselves happen after the transaction that
read them has ended (callers hold a `Gateway`, plain data, across the network call).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from server.config import Settings
from server.integrations.alipay import AlipayClient
from server.integrations.wechatpay import WeChatPayClient
from server.kernel.errors import UpstreamError
from server.payments.accounts import (
    AlipayAccount,
    ProviderAccount,
    WeChatPayAccount,
    account_version,
    default_account,
)
from server.payments.models import Payment
from server.payments.rules import WECHAT

MSG_NOT_CONFIGURED = "支付渠道未配置，请联系物业"


@dataclass(frozen=True)
class Gateway:
    """One payment's provider: exactly one of the two clients is set."""

    wechat: WeChatPayClient | None = None
    alipay: AlipayClient | None = None
    account_id: int | None = None


def account_of(
    session: Session,
    *,
    settings: Settings,
    account_id: int | None,
    version: int | None,
    channel: str,
) -> ProviderAccount:
    """The account (and key version) a payment was made with; None id: the default account."""
    if account_id is None or version is None:
        account = default_account(settings, channel=channel)
        if account is None:
            raise UpstreamError(MSG_NOT_CONFIGURED)
        return account
    return account_version(session, settings=settings, account_id=account_id, version=version)


def gateway_for(settings: Settings, account: ProviderAccount) -> Gateway:
    if isinstance(account, WeChatPayAccount):
        return Gateway(
            wechat=WeChatPayClient(account=account.merchant, base_url=settings.wechatpay_api_base),
            account_id=account.account_id,
        )
    assert isinstance(account, AlipayAccount)
    base = account.client
    client = AlipayClient(
        app_id=base.app_id,
        app_private_key=base.app_private_key,
        alipay_public_key=base.alipay_public_key,
        gateway=base.gateway,
        notify_url=settings.alipay_notify_url,
        certificates=base.certificates,
    )
    return Gateway(alipay=client, account_id=account.account_id)


def gateway_of_payment(session: Session, *, settings: Settings, payment: Payment) -> Gateway:
    account = account_of(
        session,
        settings=settings,
        account_id=payment.account_id,
        version=payment.account_version,
        channel=payment.channel,
    )
    if (payment.channel == WECHAT) != isinstance(account, WeChatPayAccount):
        raise UpstreamError(MSG_NOT_CONFIGURED)
    return gateway_for(settings, account)
