"""数据字典: the organisation's value lists — every list with its kind and count, one list's
items; admins relabel, reorder and switch items and add their own to open lists. The same use
cases and schemas as `/api/v1/admin/dictionary`."""

from __future__ import annotations

from typing import Any

from flask import redirect, request
from marshmallow import ValidationError

from schemas.dictionary import (
    DictionaryItemCreateSchema,
    DictionaryItemUpdateSchema,
    DictionaryListDetailSchema,
    DictionaryListSchema,
)
from server.console.blueprint import bp
from server.console.views._service import (
    Refusal,
    claim_form,
    finish_form,
    invalid,
    load_form,
    new_form_token,
    refusal_of,
)
from server.console.web import desk_page, discard_changes, page
from server.dictionary import items
from server.dictionary.rules import LIST_NAMES
from server.idempotency.keys import Replay
from server.kernel.errors import DomainError, NotFound
from server.kernel.permissions import Permission
from server.web.context import now, principal, session

PATH = "/console/dictionary"
_LISTS = DictionaryListSchema(many=True)
_DETAIL = DictionaryListDetailSchema()
_NEW = DictionaryItemCreateSchema()
_CHANGE = DictionaryItemUpdateSchema()


def _is_admin() -> bool:
    return principal().may(Permission.SETTINGS_ACT.value)


def _back(name: str) -> Any:
    return redirect(f"{PATH}?list={name}", code=303)


def _render(
    name: str,
    *,
    refused: dict[str, Refusal] | None = None,
    sent: dict[str, dict[str, str]] | None = None,
) -> Any:
    org_id = principal().org_id
    try:
        detail = _DETAIL.dump(items.list_view(session(), org_id=org_id, name=name))
    except NotFound as exc:
        return page("console/error.html", status=404, title="数据字典", message=exc.message)
    return page(
        "console/dictionary.html",
        lists=_LISTS.dump(items.all_lists(session(), org_id=org_id)),
        detail=detail,
        admin=_is_admin(),
        refused=refused or {},
        sent=sent or {},
        token=new_form_token(),
        nav="dictionary",
    )


@bp.get("/dictionary")
@desk_page
def dictionary() -> Any:
    name = request.args.get("list", "") or LIST_NAMES[0]
    return _render(name)


def _not_admin(name: str) -> Any:
    return _render(name, refused={"_": Refusal("数据字典仅管理员可修改。")})


@bp.post("/dictionary/<string:name>/items")
@desk_page
def add_item(name: str) -> Any:
    if not _is_admin():
        return _not_admin(name)
    form = request.form
    sent = {k: form.get(k, "") for k in ("code", "label", "sort")}
    body: dict[str, Any] = {"code": sent["code"], "label": sent["label"]}
    if sent["sort"].strip():
        body["sort"] = int(sent["sort"]) if sent["sort"].strip().isdigit() else -1
    try:
        claim = claim_form("dictionary-item", {"list": name, **body})
        if isinstance(claim, Replay):
            return _back(name)
        data = load_form(_NEW, body)
        items.add_item(session(), org_id=principal().org_id, name=name, data=data, now=now())
        finish_form(claim, created_id=0)
    except ValidationError as exc:
        discard_changes()
        return _render(name, refused={"new": invalid(exc)}, sent={"new": sent})
    except DomainError as exc:
        discard_changes()
        return _render(name, refused={"new": refusal_of(exc)}, sent={"new": sent})
    return _back(name)


@bp.post("/dictionary/<string:name>/items/<string:code>")
@desk_page
def change_item(name: str, code: str) -> Any:
    if not _is_admin():
        return _not_admin(name)
    form = request.form
    body: dict[str, Any] = {"label": form.get("label", "")}
    sort = form.get("sort", "").strip()
    body["sort"] = int(sort) if sort.isdigit() else -1
    if "enabled_shown" in form:  # open lists carry the switch
        body["enabled"] = form.get("enabled") == "on"
    try:
        changes = load_form(_CHANGE, body)
        items.update_item(
            session(),
            org_id=principal().org_id,
            name=name,
            code=code,
            changes=changes,
            now=now(),
        )
    except ValidationError as exc:
        discard_changes()
        return _render(name, refused={f"item-{code}": invalid(exc)})
    except DomainError as exc:
        discard_changes()
        return _render(name, refused={f"item-{code}": refusal_of(exc)})
    return _back(name)


@bp.post("/dictionary/<string:name>/items/<string:code>/delete")
@desk_page
def delete_item(name: str, code: str) -> Any:
    if not _is_admin():
        return _not_admin(name)
    try:
        items.delete_item(session(), org_id=principal().org_id, name=name, code=code, now=now())
    except DomainError as exc:
        discard_changes()
        return _render(name, refused={f"item-{code}": refusal_of(exc)})
    return _back(name)
