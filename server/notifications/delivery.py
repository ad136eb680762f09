"""Delivering notifications: pushes to every device (FCM, batched) and WeChat subscribe
messages to tenants who consented — each delivery recorded, none sent twice on a retry.

Runs as the outbox's external handler, owning its transactions:
1. one transaction plans: a delivery row per (notification, device) and per consented
   subscribe message (spending one consent, once), skipping quiet hours and muted kinds
   for what is not urgent; the pending rows are what to send;
2. the providers are called with no transaction open;
3. one transaction records each outcome: sent; failed with the provider's reason (a dead
   token is pruned); or still pending when the provider was unavailable — then the delivery
   raises so the outbox retries later, and only what is still pending is sent again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import redis
from sqlalchemy import BigInteger, String, column, select, update, values
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.config import Settings
from server.db.session import Database
from server.integrations.fcm import Push, PushSender
from server.integrations.wechat import WeChatMiniClient
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import UpstreamUnavailable
from server.notifications import devices
from server.notifications.models import (
    Delivery,
    Device,
    Notification,
    NotificationPreference,
    SubscribeConsent,
)
from server.notifications.rules import (
    D_FAILED,
    D_PENDING,
    D_SENT,
    DEAD_TOKEN_CODES,
    FCM,
    PUSH_PLATFORMS,
    RETRY_CODES,
    SUBSCRIBE,
    TEMPLATES,
    in_quiet_hours,
    thing,
)

log = logging.getLogger(__name__)

STATES = {"order_taken": "已接单", "order_completed": "已完成"}


class RetryLater(UpstreamUnavailable):
    """Some deliveries met a provider that was unavailable: the outbox tries them again."""


@dataclass(frozen=True)
class Planned:
    delivery_id: int
    channel: str
    token: str
    notification_id: int
    kind: str
    title: str
    body: str
    urgent: bool
    order_id: int | None
    data: dict[str, str]


@cache
def _push_sender(credentials_path: str, api_base: str) -> PushSender:
    return PushSender(credentials_path=credentials_path, api_base=api_base)


@cache
def _wechat(appid: str, secret: str, base_url: str, redis_url: str) -> WeChatMiniClient:
    return WeChatMiniClient(
        appid=appid, secret=secret, base_url=base_url, redis_client=redis.Redis.from_url(redis_url)
    )


def push_sender(settings: Settings) -> PushSender | None:
    if not settings.firebase_credentials:
        return None
    return _push_sender(settings.firebase_credentials, settings.fcm_api_base)


def _silenced(
    notification: Notification, pref: NotificationPreference | None, now: datetime
) -> bool:
    if notification.urgent or pref is None:
        return False
    if notification.kind in pref.muted_kinds:
        return True
    local = now.astimezone(LOCAL_TZ).time()
    return in_quiet_hours(local, start=pref.quiet_start, end=pref.quiet_end)


def plan(
    session: Session,
    *,
    notification_ids: list[int],
    templates: dict[str, str],
    push_enabled: bool,
    now: datetime,
) -> list[Planned]:
    """Write the delivery rows (once) and return the pending ones."""
    notifications = list(
        session.scalars(
            select(Notification)
            .where(Notification.id.in_(notification_ids))
            .order_by(Notification.id)
        )
    )
    user_ids = {n.user_id for n in notifications}
    prefs = {
        p.user_id: p
        for p in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(user_ids))
        )
    }
    tokens: dict[int, list[str]] = {}
    if push_enabled:
        for device in session.scalars(
            select(Device).where(Device.user_id.in_(user_ids), Device.platform.in_(PUSH_PLATFORMS))
        ):
            tokens.setdefault(device.user_id, []).append(device.token)
    openids: dict[int, str | None] = {
        user_id: openid
        for user_id, openid in session.execute(
            select(User.id, User.wechat_openid).where(User.id.in_(user_ids))
        )
    }
    planned_before = set(
        session.scalars(
            select(Delivery.notification_id).where(Delivery.notification_id.in_(notification_ids))
        )
    )
    planned: list[dict[str, Any]] = []
    for notification in notifications:
        if notification.id in planned_before:
            continue  # planned by an earlier attempt: its rows say what is left
        if _silenced(notification, prefs.get(notification.user_id), now):
            continue  # in the inbox only
        rows = [(FCM, token) for token in tokens.get(notification.user_id, [])]
        template_id = templates.get(notification.kind)
        openid = openids.get(notification.user_id)
        if template_id and openid and TEMPLATES[notification.kind].wechat_fields:
            spent = session.execute(
                update(SubscribeConsent)
                .where(
                    SubscribeConsent.user_id == notification.user_id,
                    SubscribeConsent.template_id == template_id,
                    SubscribeConsent.remaining > 0,
                )
                .values(remaining=SubscribeConsent.remaining - 1, updated_at=now)
                .returning(SubscribeConsent.id)
            ).first()
            if spent is not None:  # no consent left: in-app only
                rows.append((SUBSCRIBE, openid))
        planned.extend(
            {
                "org_id": notification.org_id,
                "notification_id": notification.id,
                "channel": channel,
                "device_token": token,
                "status": D_PENDING,
                "updated_at": now,
            }
            for channel, token in rows
        )
    if planned:
        session.execute(insert(Delivery).values(planned).on_conflict_do_nothing())
    by_id = {n.id: n for n in notifications}
    pending = session.scalars(
        select(Delivery)
        .where(Delivery.notification_id.in_(notification_ids), Delivery.status == D_PENDING)
        .order_by(Delivery.id)
    )
    return [
        Planned(
            delivery_id=d.id,
            channel=d.channel,
            token=d.device_token,
            notification_id=d.notification_id,
            kind=by_id[d.notification_id].kind,
            title=by_id[d.notification_id].title,
            body=by_id[d.notification_id].body,
            urgent=by_id[d.notification_id].urgent,
            order_id=by_id[d.notification_id].order_id,
            data=dict(by_id[d.notification_id].data or {}),
        )
        for d in pending
    ]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status: str
    code: str = ""
    detail: str = ""
    provider_id: str = ""
    token: str = ""


def _push_data(item: Planned) -> dict[str, str]:
    data = {"type": item.kind, "notification_id": str(item.notification_id)}
    if item.order_id is not None:
        data["order_id"] = str(item.order_id)
    return data


def _send_pushes(sender: PushSender, items: list[Planned]) -> list[Outcome]:
    pushes = [
        Push(
            token=i.token,
            title=i.title,
            body=i.body,
            data=_push_data(i),
            urgent=i.urgent,
            # A repeat after a crash replaces the first on the device instead of buzzing twice.
            collapse_key=f"n{i.notification_id}",
        )
        for i in items
    ]
    outcomes = []
    for item, result in zip(items, sender.send_each(pushes), strict=True):
        if result.ok:
            outcomes.append(Outcome(item.delivery_id, D_SENT, provider_id=result.message_id))
        elif result.code in RETRY_CODES:
            outcomes.append(Outcome(item.delivery_id, D_PENDING, result.code, result.detail))
        else:
            outcomes.append(
                Outcome(item.delivery_id, D_FAILED, result.code, result.detail, token=item.token)
            )
    return outcomes


def _subscribe_data(item: Planned) -> dict[str, str]:
    data = item.data
    values = {
        "number": data.get("number", ""),
        "type": thing(data.get("type", "")),
        "state": STATES.get(item.kind, ""),
    }
    fields = TEMPLATES[item.kind].wechat_fields
    return {name: values.get(source, "")[:32] for name, source in fields}


def _send_subscribe(
    client: WeChatMiniClient, items: list[Planned], templates: dict[str, str]
) -> list[Outcome]:
    outcomes = []
    for item in items:
        page = f"pages/order/detail?id={item.order_id}" if item.order_id else ""
        try:
            errcode = client.send_subscribe_message(
                openid=item.token,
                template_id=templates.get(item.kind, ""),
                data=_subscribe_data(item),
                page=page,
            )
        except UpstreamUnavailable as exc:
            outcomes.append(Outcome(item.delivery_id, D_PENDING, "UNAVAILABLE", exc.message))
            continue
        if errcode == 0:
            outcomes.append(Outcome(item.delivery_id, D_SENT))
        else:
            outcomes.append(Outcome(item.delivery_id, D_FAILED, str(errcode)))
    return outcomes


def record(session: Session, *, outcomes: list[Outcome], now: datetime) -> None:
    """Every outcome in one statement (a thousand pushes are one UPDATE … FROM VALUES)."""
    dead = [o.token for o in outcomes if o.status == D_FAILED and o.code in DEAD_TOKEN_CODES]
    if outcomes:
        results = values(
            column("id", BigInteger),
            column("status", String),
            column("error", String),
            column("provider_id", String),
            name="results",
        ).data(
            [
                (
                    o.delivery_id,
                    o.status,
                    f"{o.code} {o.detail}".strip()[:200],
                    o.provider_id[:200],
                )
                for o in outcomes
            ]
        )
        session.execute(
            update(Delivery)
            .where(Delivery.id == results.c.id, Delivery.status == D_PENDING)
            .values(
                status=results.c.status,
                attempts=Delivery.attempts + 1,
                error=results.c.error,
                provider_id=results.c.provider_id,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    devices.prune_tokens(session, tokens=dead)


def deliver(
    db: Database,
    settings: Settings,
    *,
    notification_ids: list[int],
    now: datetime,
    sender: Callable[[Settings], PushSender | None] = push_sender,
) -> dict[str, int]:
    """Deliver these notifications (see the module docstring); returns counts by outcome."""
    templates = dict(settings.wechat_subscribe_templates)
    pusher = sender(settings)
    with db.transaction() as uow:
        planned = plan(
            uow.session,
            notification_ids=notification_ids,
            templates=templates,
            push_enabled=pusher is not None,
            now=now,
        )
    pushes = [p for p in planned if p.channel == FCM]
    messages = [p for p in planned if p.channel == SUBSCRIBE]
    outcomes: list[Outcome] = []
    if pushes and pusher is not None:
        outcomes += _send_pushes(pusher, pushes)
    if messages:
        client = _wechat(
            settings.wechat_appid,
            settings.wechat_secret,
            settings.wechat_api_base,
            settings.redis_url,
        )
        outcomes += _send_subscribe(client, messages, templates)
    with db.transaction() as uow:
        record(uow.session, outcomes=outcomes, now=now)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    for outcome in outcomes:
        if outcome.status == D_FAILED:
            log.warning("delivery %s failed: %s", outcome.delivery_id, outcome.code)
    if counts.get(D_PENDING):
        raise RetryLater(f"{counts[D_PENDING]} deliveries wait for an unavailable provider")
    log.info(
        "%d notifications delivered (from %s): %s",
        len(notification_ids),
        notification_ids[0] if notification_ids else "-",
        json.dumps(counts),
    )
    return counts
