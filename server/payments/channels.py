"""Which channels tenants may pay with (`wechat`, `alipay`, `company`), per organisation.

Without a choice of its own an organisation offers every channel that has an account (its own
or the configured default) plus company pays (公司代付). A provider channel without an account
cannot be enabled; one whose account goes away stops being offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import Settings
from server.kernel.errors import ValidationFailed
from server.payments.models import PaymentAccount, PaymentChannelSetting
from server.payments.rules import (
    ALIPAY,
    WECHAT,
    check_channels,
    default_channels,
    ordered_channels,
)


def available_providers(session: Session, *, settings: Settings, org_id: int) -> set[str]:
    """Providers with an account: the organisation's active ones and the configured defaults."""
    found = set(
        session.scalars(
            select(PaymentAccount.provider).where(
                PaymentAccount.org_id == org_id, PaymentAccount.is_active
            )
        )
    )
    if settings.wechatpay_mchid:
        found.add(WECHAT)
    if settings.alipay_appid:
        found.add(ALIPAY)
    return found


def _setting(session: Session, org_id: int) -> PaymentChannelSetting | None:
    return session.scalars(
        select(PaymentChannelSetting).where(PaymentChannelSetting.org_id == org_id)
    ).one_or_none()


def enabled_channels(session: Session, *, settings: Settings, org_id: int) -> list[str]:
    """The channels tenants of the organisation may pay with now."""
    available = available_providers(session, settings=settings, org_id=org_id)
    setting = _setting(session, org_id)
    if setting is None:
        return default_channels(available)
    allowed = set(default_channels(available))
    return [c for c in ordered_channels(setting.channels) if c in allowed]


def channel_overview(session: Session, *, settings: Settings, org_id: int) -> dict[str, Any]:
    available = available_providers(session, settings=settings, org_id=org_id)
    return {
        "channels": enabled_channels(session, settings=settings, org_id=org_id),
        "available": default_channels(available),
        "customised": _setting(session, org_id) is not None,
    }


def set_channels(
    session: Session,
    *,
    settings: Settings,
    org_id: int,
    channels: Sequence[str],
    now: datetime,
) -> dict[str, Any]:
    """Choose the channels; each must be known and, for wechat/alipay, have an account."""
    available = available_providers(session, settings=settings, org_id=org_id)
    errors = check_channels(channels, available)
    if errors:
        raise ValidationFailed(errors=errors)
    setting = _setting(session, org_id)
    if setting is None:
        setting = PaymentChannelSetting(org_id=org_id, channels=[])
        session.add(setting)
    setting.channels = ordered_channels(channels)
    setting.updated_at = now
    session.flush()
    return channel_overview(session, settings=settings, org_id=org_id)
