"""Small helpers shared by the daily service screens (回访, 投诉建议, 通知公告, 满意度调查).

Query strings are read through the JSON API's own argument schemas (same values, same
bounds); a refusal is turned into what the page shows beside the button.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import request
from marshmallow import Schema, ValidationError

from server.idempotency import keys as idempotency
from server.kernel.errors import DomainError, IdempotencyConflict
from server.web.context import now, principal, session
from server.web.errors import flatten_messages

# Each creating form carries a one-time token: the idempotency key of its submit.
TOKEN_FIELD = "form_token"

# Field names of the API and their zh-CN names, for messages shown beside a form.
FIELD_LABELS = {
    "reached": "是否联系上",
    "satisfied": "是否满意",
    "notes": "备注",
    "reopen": "重新打开",
    "text": "内容",
    "category": "分类",
    "severity": "严重程度",
    "department_id": "承办",
    "staff_id": "承办",
    "title": "标题",
    "body": "正文",
    "scope": "发布范围",
    "target_ids": "发布对象",
    "publish_at": "定时发布",
    "expires_at": "过期时间",
    "urgent": "紧急",
    "audience": "对象类型",
    "questions": "题目",
    "description": "说明",
    "answer_per": "填写方式",
}


@dataclass
class Refusal:
    """What went wrong with an action, for the page: a message and field messages."""

    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out: list[str] = []
        for name, texts in self.errors.items():
            label = _label(name)
            out.extend(f"{label}：{text}" if label else text for text in texts)
        return out


def _label(name: str) -> str:
    if name == "_schema":
        return ""
    head = name.split(".")[0]
    if head == "questions" and "." in name:
        parts = name.split(".")
        if len(parts) > 1 and parts[1].isdigit():
            return f"第 {int(parts[1]) + 1} 题"
    return FIELD_LABELS.get(head, name)


# A creating form sent again after it was used, with other contents (back button, edit, send).
USED_FORM = "该表单已提交过（内容不同）：请打开一张新的表单后重新填写。"


def refusal_of(exc: DomainError) -> Refusal:
    if isinstance(exc, IdempotencyConflict):
        return Refusal(USED_FORM)
    return Refusal(exc.message, dict(exc.errors or {}))


def invalid(exc: ValidationError) -> Refusal:
    return Refusal("请求参数有误", flatten_messages(exc.messages))


def load_form(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """The API's request schema over what the form sent (raises ValidationError)."""
    loaded: dict[str, Any] = schema.load(data)
    return loaded


def query_args(schema: Schema, *, lists: Iterable[str] = ()) -> dict[str, Any]:
    """The page's query string through the API's argument schema; a bad value is dropped
    (the list shows unfiltered rather than an error)."""
    many = set(lists)
    raw: dict[str, Any] = {}
    for key in request.args:
        if key in many:
            values = [v for v in request.args.getlist(key) if v]
            if values:
                raw[key] = values
        else:
            value = request.args.get(key, "")
            if value != "":
                raw[key] = value
    for _ in range(len(raw) + 1):
        try:
            loaded: dict[str, Any] = schema.load(raw, unknown="exclude")
            return loaded
        except ValidationError as exc:
            bad = set(exc.messages) if isinstance(exc.messages, dict) else set(raw)
            if not bad & set(raw):
                break
            raw = {k: v for k, v in raw.items() if k not in bad}
    loaded = schema.load({}, unknown="exclude")
    return loaded


def page_url_for(path: str, args: Mapping[str, Any]) -> Any:
    """`page_url(n)` for `_pager.html`: the same filters, another page."""

    def page_url(number: int) -> str:
        query: list[tuple[str, Any]] = []
        for key, value in args.items():
            if key in ("page", "page_size") or value in (None, "", []):
                continue
            if isinstance(value, list | tuple):
                query.extend((key, v) for v in value)
            else:
                query.append((key, value))
        query.append(("page", number))
        return f"{path}?{urlencode(query)}"

    return page_url


def int_list(values: Iterable[str]) -> list[int]:
    """Ids chosen in a form (a <select multiple> or checkboxes); junk is left out."""
    return [int(v) for v in values if v.isdigit() and 0 < int(v) < 2**31]


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def claim_form(kind: str, body: Mapping[str, Any]) -> idempotency.Replay | int | None:
    """Claim the submitted form's token as an idempotency key (as the API's `Idempotency-Key`
    does): the claim's id, the first submit's stored answer (`Replay`), or None when the form
    sent no usable token. Same token with another body: `IdempotencyConflict` (409 in the API).
    """
    token = request.form.get(TOKEN_FIELD, "").strip()
    if not 16 <= len(token) <= 100 or not token.isprintable():
        return None
    caller = principal()
    digest = hashlib.sha256(
        json.dumps([kind, body], sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()
    return idempotency.begin(
        session(),
        org_id=caller.org_id,
        user_id=caller.user_id,
        key=f"console:{kind}:{token}",
        request_hash=digest,
        now=now(),
    )


def finish_form(claim: int | None, *, created_id: int) -> None:
    """Store what the claimed submit created, for a repeated submit to find."""
    if claim is not None:
        idempotency.finish(session(), claim_id=claim, status_code=303, body={"id": created_id})
