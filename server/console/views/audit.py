"""日志管理: the audit log (admins: filters in the URL, export) and 解绑微信 (the desk frees a
phone whose resident changed WeChat). The same use cases and schemas as the JSON API."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Response, redirect, request
from marshmallow import ValidationError

from schemas.audit import (
    AuditDayQueryArgsSchema,
    AuditEntrySchema,
    WeChatUnbindResultSchema,
    WeChatUnbindSchema,
)
from schemas.common import page_of
from server.accounts import auth as auth_service
from server.audit import log as audit_log
from server.audit.rules import KINDS, TARGET_TYPES
from server.console.blueprint import bp
from server.console.views._service import (
    invalid,
    load_form,
    page_url_for,
    query_args,
    refusal_of,
)
from server.console.web import desk_page, discard_changes, page, private
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import DomainError
from server.kernel.permissions import Permission
from server.kernel.personal_data import mask_phone
from server.orders import export as order_export
from server.web.audit import record_export
from server.web.context import container, now, principal, replica_allowed, session

PAGE_SIZE = 30
_ARGS = AuditDayQueryArgsSchema()
_PAGE = page_of(AuditEntrySchema)()
_UNBIND = WeChatUnbindSchema()
_UNBOUND = WeChatUnbindResultSchema()
_FILTER_KEYS = ("actor_user_id", "kind", "target_type", "target_id", "date_from", "date_to")


def _is_admin() -> bool:
    return principal().may(Permission.AUDIT_VIEW.value)


def _not_admin() -> Response:
    # 200 with the reason: a 4xx document would be an error in the browser's own log.
    return page(
        "console/error.html",
        title="操作日志",
        message="操作日志仅管理员可查看。",
        nav="audit",
    )


def _filters(args: dict[str, Any]) -> audit_log.AuditFilters:
    """Local dates (both included) as the instants the log is searched between."""
    start, end = args.get("date_from"), args.get("date_to")
    return audit_log.AuditFilters(
        actor_user_id=args.get("actor_user_id"),
        kind=args.get("kind"),
        target_type=args.get("target_type"),
        target_id=args.get("target_id"),
        at_from=datetime.combine(start, time(), LOCAL_TZ) if start else None,
        at_to=datetime.combine(end + timedelta(days=1), time(), LOCAL_TZ) if end else None,
    )


def _query(args: dict[str, Any]) -> str:
    return urlencode([(k, args[k]) for k in _FILTER_KEYS if args.get(k) not in (None, "")])


@bp.get("/audit")
@desk_page
def audit() -> Any:
    if not _is_admin():
        return _not_admin()
    args = query_args(_ARGS)
    listing = _PAGE.dump(
        audit_log.search(
            session(),
            org_id=principal().org_id,
            filters=_filters(args),
            page=args["page"],
            page_size=PAGE_SIZE,
        )
    )
    return page(
        "console/audit.html",
        listing=listing,
        args=args,
        query=_query(args),
        kinds=list(KINDS.items()),
        target_types=list(TARGET_TYPES.items()),
        page_url=page_url_for("/console/audit", args),
        nav="audit",
    )


@bp.get("/audit/export.<any(csv, xlsx):fmt>")
@desk_page
def audit_export(fmt: str) -> Any:
    """The filtered log as a file: what the API answers for `format=csv|xlsx`."""
    if not _is_admin():
        return _not_admin()
    try:
        args = _ARGS.load({k: v for k, v in request.args.items() if k in _FILTER_KEYS and v != ""})
    except ValidationError:
        return redirect("/console/audit?" + request.query_string.decode("latin-1"), code=303)
    org_id, instant = principal().org_id, now()
    # Rows are read in batches through a server-side cursor: a transaction of its own.
    unit = container().db.unit_of_work(on_replica=replica_allowed())
    try:
        rows = list(
            audit_log.export_rows(unit.session, org_id=org_id, filters=_filters(args), tz=LOCAL_TZ)
        )
    finally:
        unit.close()
    headers = audit_log.EXPORT_HEADERS
    if fmt == "csv":
        body: Any = b"".join(order_export.csv_chunks(rows, headers=headers))
        media_type = order_export.CSV_MEDIA_TYPE
    else:
        body = order_export.xlsx_bytes(rows, sheet_title="操作日志", headers=headers)
        media_type = order_export.XLSX_MEDIA_TYPE
    record_export("操作日志", fmt=fmt, rows=len(rows))
    filename = order_export.export_filename(instant, LOCAL_TZ, fmt).replace("orders", "audit", 1)
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return private(response)


@bp.get("/wechat-unbind")
@desk_page
def wechat_unbind() -> Any:
    done = None
    if request.args.get("done") == "1":
        # Only the masked phone travels in the URL (no name: addresses end up in access logs).
        done = {"phone": mask_phone(request.args.get("phone", "")[:20])}
    return page("console/wechat_unbind.html", form={}, refused=None, done=done, nav="audit")


@bp.post("/wechat-unbind")
@desk_page
def wechat_unbind_submit() -> Any:
    form = {"phone": request.form.get("phone", "")[:20], "reason": request.form.get("reason", "")}
    try:
        data = load_form(_UNBIND, form)
        caller = principal()
        user = auth_service.unbind_wechat(
            session(),
            access=container().access,
            org_id=caller.org_id,
            phone=data["phone"],
            reason=data["reason"],
            actor_user_id=caller.user_id,
            now=now(),
        )
    except ValidationError as exc:
        discard_changes()
        return page(
            "console/wechat_unbind.html", form=form, refused=invalid(exc), done=None, nav="audit"
        )
    except DomainError as exc:
        discard_changes()
        return page(
            "console/wechat_unbind.html",
            form=form,
            refused=refusal_of(exc),
            done=None,
            nav="audit",
        )
    shown = _UNBOUND.dump(user)
    query = urlencode({"done": "1", "phone": shown["phone"]})
    return redirect(f"/console/wechat-unbind?{query}", code=303)
