"""Devices a user receives on, WeChat subscribe consents, and notification preferences."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.kernel.errors import ValidationFailed
from server.notifications.models import Device, NotificationPreference, SubscribeConsent
from server.notifications.rules import KINDS, MAX_TOKEN, PLATFORMS, TEMPLATES

MAX_TEMPLATES = 20
MAX_CONSENTS_PER_TEMPLATE = 50  # one-time consents pile up; a bound keeps a client honest


def register_device(
    session: Session, *, org_id: int, user_id: int, platform: str, token: str, now: datetime
) -> Device:
    """Register (or refresh) a device; a token registered by someone else moves to this user
    (the phone changed hands, or another account logged in on it)."""
    token = token.strip()
    if platform not in PLATFORMS:
        raise ValidationFailed.field("platform", "平台应为 android、ios 或 wechat")
    if not token or len(token) > MAX_TOKEN or not token.isprintable():
        raise ValidationFailed.field("token", f"推送令牌应为 1–{MAX_TOKEN} 个可见字符")
    device_id = session.scalar(
        insert(Device)
        .values(
            org_id=org_id,
            user_id=user_id,
            platform=platform,
            token=token,
            created_at=now,
            last_seen_at=now,
        )
        .on_conflict_do_update(
            index_elements=["token"],
            set_={
                "org_id": org_id,
                "user_id": user_id,
                "platform": platform,
                "last_seen_at": now,
            },
        )
        .returning(Device.id)
    )
    device = session.get(Device, device_id, populate_existing=True)
    assert device is not None
    return device


def unregister_device(session: Session, *, user_id: int, token: str) -> bool:
    """The app signs out on this device: it receives nothing more for this user."""
    result = session.execute(
        delete(Device).where(Device.user_id == user_id, Device.token == token.strip())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def remove_user_devices(session: Session, *, user_id: int) -> int:
    """Logged out everywhere, or deactivated: none of the user's devices receives any more."""
    result = session.execute(delete(Device).where(Device.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def prune_tokens(session: Session, *, tokens: list[str]) -> int:
    """Tokens the provider says are dead (UNREGISTERED, another project's): forget them."""
    if not tokens:
        return 0
    result = session.execute(delete(Device).where(Device.token.in_(tokens)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def devices_of(session: Session, *, user_id: int) -> list[Device]:
    return list(
        session.scalars(select(Device).where(Device.user_id == user_id).order_by(Device.id))
    )


def record_consents(
    session: Session, *, org_id: int, user_id: int, template_ids: list[str], now: datetime
) -> dict[str, int]:
    """The mini-program's `wx.requestSubscribeMessage` accepted these templates once each."""
    if not 1 <= len(template_ids) <= MAX_TEMPLATES:
        raise ValidationFailed.field("template_ids", f"应为 1–{MAX_TEMPLATES} 个模板 ID")
    counts: dict[str, int] = {}
    for template_id in template_ids:
        if not template_id or len(template_id) > 64 or not template_id.isprintable():
            raise ValidationFailed.field("template_ids", "模板 ID 格式不正确")
    for template_id in sorted(set(template_ids)):
        added = template_ids.count(template_id)
        remaining = session.scalar(
            insert(SubscribeConsent)
            .values(
                org_id=org_id,
                user_id=user_id,
                template_id=template_id,
                remaining=min(added, MAX_CONSENTS_PER_TEMPLATE),
                updated_at=now,
            )
            .on_conflict_do_update(
                index_elements=["user_id", "template_id"],
                set_={
                    "remaining": func.least(
                        SubscribeConsent.remaining + added, MAX_CONSENTS_PER_TEMPLATE
                    ),
                    "updated_at": now,
                },
            )
            .returning(SubscribeConsent.remaining)
        )
        counts[template_id] = int(remaining or 0)
    return counts


def consents_of(session: Session, *, user_id: int) -> dict[str, int]:
    rows = session.execute(
        select(SubscribeConsent.template_id, SubscribeConsent.remaining).where(
            SubscribeConsent.user_id == user_id
        )
    )
    return {template_id: int(remaining) for template_id, remaining in rows}


def preferences_of(session: Session, *, user_id: int) -> dict[str, object]:
    row = session.get(NotificationPreference, user_id)
    return {
        "quiet_start": row.quiet_start if row else None,
        "quiet_end": row.quiet_end if row else None,
        "muted_kinds": list(row.muted_kinds) if row else [],
        "urgent_kinds": [kind for kind in KINDS if TEMPLATES[kind].urgent],
    }


def set_preferences(
    session: Session,
    *,
    org_id: int,
    user_id: int,
    quiet_start: time | None,
    quiet_end: time | None,
    muted_kinds: list[str],
) -> dict[str, object]:
    """Quiet hours (both or neither) and the non-urgent kinds to stay silent about.

    Muted and quiet kinds still reach the inbox; they are not pushed (urgent ones always are).
    """
    if (quiet_start is None) != (quiet_end is None):
        raise ValidationFailed.field("quiet_end", "免打扰开始与结束时间须同时填写")
    unknown = [k for k in muted_kinds if k not in KINDS]
    if unknown:
        raise ValidationFailed.field("muted_kinds", f"未知的通知类型：{', '.join(unknown)}")
    urgent = [k for k in muted_kinds if TEMPLATES[k].urgent]
    if urgent:
        raise ValidationFailed.field("muted_kinds", f"紧急通知不能关闭：{', '.join(urgent)}")
    row = session.get(NotificationPreference, user_id)
    if row is None:
        row = NotificationPreference(org_id=org_id, user_id=user_id, muted_kinds=[])
        session.add(row)
    row.quiet_start, row.quiet_end = quiet_start, quiet_end
    row.muted_kinds = sorted(set(muted_kinds))
    session.flush()
    return preferences_of(session, user_id=user_id)
