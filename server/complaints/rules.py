"""Complaints and suggestions (投诉建议): kinds, categories, severities, statuses, deadlines.

Pure Python: the value lists feed both the marshmallow `OneOf` and the CHECK constraints.
"""

from __future__ import annotations

from datetime import timedelta

COMPLAINT = "complaint"
SUGGESTION = "suggestion"
KINDS = (COMPLAINT, SUGGESTION)
KIND_LABELS = {COMPLAINT: "投诉", SUGGESTION: "建议"}

# The desk's classification (分类).
CATEGORIES = (
    "service_attitude",
    "repair_quality",
    "response_speed",
    "charges",
    "environment",
    "security",
    "facilities",
    "other",
)
CATEGORY_LABELS = {
    "service_attitude": "服务态度",
    "repair_quality": "维修质量",
    "response_speed": "响应速度",
    "charges": "收费问题",
    "environment": "环境卫生",
    "security": "安全秩序",
    "facilities": "公共设施",
    "other": "其他",
}

LOW = "low"
NORMAL = "normal"
HIGH = "high"
SEVERITIES = (LOW, NORMAL, HIGH)
SEVERITY_LABELS = {LOW: "一般", NORMAL: "较重", HIGH: "严重"}
# How long the desk has to settle one, in business time (the organisation's calendar).
DEADLINES = {HIGH: timedelta(hours=4), NORMAL: timedelta(hours=18), LOW: timedelta(hours=45)}
DEFAULT_SEVERITY = NORMAL

OPEN = "open"  # filed, nobody assigned yet
PROCESSING = "processing"  # assigned or answered, not closed
CLOSED = "closed"
STATUSES = (OPEN, PROCESSING, CLOSED)
STATUS_LABELS = {OPEN: "待处理", PROCESSING: "处理中", CLOSED: "已办结"}
OPEN_STATUSES = (OPEN, PROCESSING)

TENANT = "tenant"
DESK = "desk"
AUTHOR_ROLES = (TENANT, DESK)


def deadline(severity: str) -> timedelta:
    """The business time the desk has for a complaint of this severity."""
    return DEADLINES[severity]


def close_refusal(*, status: str, desk_replied: bool) -> str | None:
    """Why the desk may not close it now (zh-CN), or None: nothing closes without a reply."""
    if status == CLOSED:
        return "该投诉建议已办结"
    if not desk_replied:
        return "请先答复住户再办结"
    return None
