"""Pure rules of notifications: the kinds and their zh-CN templates, who is urgent, quiet
hours, and what a provider's answer means for a device.

No framework, database or settings here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

ANDROID, IOS, WECHAT = "android", "ios", "wechat"
PLATFORMS = (ANDROID, IOS, WECHAT)
PUSH_PLATFORMS = (ANDROID, IOS)  # reached through FCM

FCM, SUBSCRIBE = "fcm", "wechat"  # delivery channels
DELIVERY_CHANNELS = (FCM, SUBSCRIBE)
D_PENDING, D_SENT, D_FAILED, D_SKIPPED = "pending", "sent", "failed", "skipped"
DELIVERY_STATUSES = (D_PENDING, D_SENT, D_FAILED, D_SKIPPED)

MAX_TOKEN = 512
FCM_BATCH = 500  # send_each takes at most 500 messages

# FCM error codes (firebase_admin exception `.code`, or the v1 errorCode).
DEAD_TOKEN_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH", "NOT_FOUND"})
RETRY_CODES = frozenset({"UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED"})
# WeChat subscribeMessage.send: no consent left / refused; a bad openid.
WECHAT_NO_QUOTA = 43101


@dataclass(frozen=True)
class Template:
    """One kind of notification: who it is for, its zh-CN title and body, and urgency.

    `urgent` kinds ignore quiet hours and opt-outs (an assignment always goes through).
    Bodies are `str.format` templates over the order's number, type and room, plus the
    kind's own fields.
    """

    kind: str
    audience: str  # technician | tenant | desk
    title: str
    body: str
    urgent: bool = False
    # The WeChat subscribe message fields (template keyword → body field), for tenants.
    wechat_fields: tuple[tuple[str, str], ...] = ()


_ORDER = "{number} {type} · {room}"
_STATE_FIELDS = (("character_string1", "number"), ("thing2", "type"), ("phrase3", "state"))

TEMPLATES: dict[str, Template] = {
    t.kind: t
    for t in (
        # Technicians (FCM)
        Template("order_assigned", "technician", "新工单指派", _ORDER, urgent=True),
        Template("order_transferred", "technician", "工单转给你", _ORDER, urgent=True),
        Template("pool_order", "technician", "抢单池有新工单", _ORDER),
        Template("tenant_message", "technician", "住户留言", "{number}：{text}"),
        Template("sla_reminder", "technician", "工单即将超时", _ORDER, urgent=True),
        Template(
            "visit_reminder", "technician", "预约上门提醒", "{number} {slot} · {room}", urgent=True
        ),
        # Tenants (WeChat subscribe message + inbox)
        Template(
            "order_taken",
            "tenant",
            "报修已受理",
            "{number} {type}：{technician}已接单",
            wechat_fields=_STATE_FIELDS,
        ),
        Template(
            "order_completed",
            "tenant",
            "维修已完成",
            "{number} {type}已办结，请确认并评价{pay_hint}",
            wechat_fields=_STATE_FIELDS,
        ),
        Template("payment_received", "tenant", "支付成功", "{number} 已收到付款 {amount}"),
        Template("refund_done", "tenant", "退款成功", "{number} 已退款 {amount}"),
        Template("desk_reply", "tenant", "物业回复", "{number}：{text}"),
        Template(
            "visit_reminder_tenant", "tenant", "预约上门提醒", "{number} 师傅将于 {slot} 上门"
        ),
        # The desk (inbox, and FCM when they have the app)
        Template("order_rejected", "desk", "工单被退回", "{number} {type} · {room}：{reason}"),
        Template("low_rating", "desk", "低分评价待回访", "{number} 评分 {score}：{comment}"),
        Template("order_overdue", "desk", "工单已超时", _ORDER, urgent=True),
        Template("order_escalated", "desk", "工单超时升级", _ORDER, urgent=True),
        Template(
            "reconciliation_discrepancy", "desk", "对账差异", "{date} {channel}：{count} 条差异"
        ),
        Template("payment_cert_expiring", "desk", "支付证书即将过期", "{account}：{detail}"),
        # The desk's view of the work: urging, return visits, complaints, notices, surveys
        Template(
            "order_urged",
            "technician",
            "工单督办",
            "{number} {type} · {room}：{reason}",
            urgent=True,
        ),
        Template("tenant_urged", "desk", "住户催单", "{number} {type} · {room}", urgent=True),
        Template(
            "tenant_urged_tech", "technician", "住户催单", "{number} {type} · {room}", urgent=True
        ),
        Template("return_visit_due", "desk", "待回访", "{number}：{reason}"),
        Template("complaint_filed", "desk", "新的投诉建议", "{title}"),
        Template("complaint_assigned", "desk", "投诉建议待处理", "{title}"),
        Template("complaint_reply", "tenant", "投诉建议有回复", "{title}：{text}"),
        Template("notice", "tenant", "物业通知", "{title}", wechat_fields=(("thing1", "title"),)),
        Template(
            "notice_urgent",
            "tenant",
            "紧急通知",
            "{title}",
            urgent=True,
            wechat_fields=(("thing1", "title"),),
        ),
        Template("staff_notice", "technician", "公告", "{title}"),
        Template(
            "survey_open", "tenant", "满意度调查", "{title}", wechat_fields=(("thing1", "title"),)
        ),
        # Parking (客车关系): a rented space's contract ends within its reminder days.
        Template(
            "parking_rent_expiring",
            "desk",
            "车位租约即将到期",
            "{space} {customer}：{end_date} 到期",
        ),
    )
}
KINDS = tuple(TEMPLATES)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(kind: str, fields: Mapping[str, Any]) -> tuple[str, str]:
    """Title and body of a notification; a field the caller did not give is left blank."""
    template = TEMPLATES[kind]
    return template.title, template.body.format_map(_Blank(fields))[:200]


def in_quiet_hours(local: time, *, start: time | None, end: time | None) -> bool:
    """Whether a local time falls in the user's quiet hours (which may span midnight)."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def thing(value: str, limit: int = 20) -> str:
    """A WeChat `thing` value: at most 20 characters (longer ones are refused with 47003)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
