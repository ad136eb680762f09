"""What the audit log records: its kinds and targets, how data is masked, what a device is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from server.kernel.personal_data import mask_id_number, mask_phone, mask_text

# kind → zh-CN label (the console's filter and the export's column).
KINDS: dict[str, str] = {
    "login_succeeded": "登录成功",
    "login_failed": "登录失败",
    "fee_adjusted": "费用减免/优惠",
    "offline_payment": "线下收款",
    "refund": "退款",
    "order_assigned": "派单",
    "order_transferred": "转单",
    "staff_changed": "员工角色变更",
    "staff_deactivated": "停用员工",
    "export": "导出个人数据",
    "wechat_unbound": "解绑微信",
    "deleted": "删除",
    "wechat_bound": "绑定微信手机号",
    "imported": "批量导入",
    "moved_in": "业主入伙",
    "household_changed": "家庭成员变更",
    "room_transferred": "房屋过户",
    "room_split": "拆分房屋",
    "room_merged": "合并房屋",
    "payer_changed": "收费对象变更",
    "dictionary_changed": "修改数据字典",
    "role_changed": "角色与权限变更",
}

# target type → zh-CN label.
TARGET_TYPES: dict[str, str] = {
    "user": "账号",
    "order": "工单",
    "staff": "员工",
    "customer": "客户",
    "contact": "联系人",
    "customer_room": "客户房屋关系",
    "room": "房屋",
    "unit": "单元",
    "building": "楼栋",
    "community": "小区",
    "survey": "调查",
    "export": "导出",
    "role": "角色",
    "move_in": "入伙",
    "room_transfer": "过户",
    "dictionary_item": "数据字典",
}

# Actor roles (the logins' roles); a login with several is recorded under its most senior.
ACTOR_ROLES = ("tenant", "technician", "dispatcher", "admin")
_SENIORITY = tuple(reversed(ACTOR_ROLES))

ROLE_LABELS = {
    "admin": "管理员",
    "dispatcher": "调度员",
    "technician": "维修师傅",
    "tenant": "住户",
}

SUMMARY_MAX = 500
USER_AGENT_MAX = 300
ADDRESS_MAX = 64

_PHONE_KEYS = re.compile(r"phone|mobile|tel", re.IGNORECASE)
_ID_KEYS = re.compile(r"id_number|id_card|identity", re.IGNORECASE)
_SECRET_KEYS = re.compile(r"password|token|secret|openid|unionid", re.IGNORECASE)


def main_role(roles: Any) -> str | None:
    """The role a login is recorded under: its most senior one (None for none)."""
    held = set(roles or ())
    return next((role for role in _SENIORITY if role in held), None)


def mask_data(value: Any, key: str = "") -> Any:
    """`value` with phones and ID numbers masked (by key, and inside any text), secrets dropped."""
    if isinstance(value, Mapping):
        return {
            str(k): mask_data(v, str(k))
            for k, v in value.items()
            if not _SECRET_KEYS.search(str(k))
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_data(v, key) for v in value]
    if isinstance(value, str):
        if _PHONE_KEYS.search(key):
            return mask_phone(value)
        if _ID_KEYS.search(key):
            return mask_id_number(value)
        return mask_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value))


def clean_summary(text: str) -> str:
    """A summary as stored: one line, masked, bounded."""
    return mask_text(" ".join(text.split()))[:SUMMARY_MAX]


def device_of(user_agent: str) -> str:
    """A short zh-CN device description from a User-Agent header."""
    ua = user_agent or ""
    if not ua:
        return ""
    if "miniProgram" in ua or "MiniProgram" in ua:
        client = "微信小程序"
    elif "MicroMessenger" in ua:
        client = "微信"
    elif "python-requests" in ua or "curl" in ua or "Werkzeug" in ua:
        return "接口客户端"
    else:
        client = "浏览器"
    if "iPhone" in ua or "iPad" in ua:
        system = "iOS"
    elif "Android" in ua:
        system = "Android"
    elif "Windows" in ua:
        system = "Windows"
    elif "Mac OS" in ua or "Macintosh" in ua:
        system = "macOS"
    elif "Linux" in ua:
        system = "Linux"
    else:
        system = ""
    return f"{system} {client}".strip()
