"""Console: 日志管理 (the audit log: search, export) and the desk's WeChat unbinding."""

from __future__ import annotations

from typing import Any

from flask import Response

from schemas.audit import (
    AuditEntrySchema,
    AuditQueryArgsSchema,
    WeChatUnbindResultSchema,
    WeChatUnbindSchema,
)
from schemas.common import page_of
from server.accounts import auth as auth_service
from server.audit import log as audit_log
from server.kernel.clock import LOCAL_TZ
from server.kernel.permissions import Permission
from server.orders import export as order_export
from server.web.audit import record_export
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, replica_allowed, session

blp = Blueprint(
    "admin_audit",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：操作日志（登录与关键操作）、解绑微信",
)

_LIST_OR_EXPORT = "JSON 分页列表；format=csv / xlsx 时为附件（全部匹配记录，最多 50,000 行）"


def filters_from(args: dict[str, Any]) -> audit_log.AuditFilters:
    return audit_log.AuditFilters(
        actor_user_id=args.get("actor_user_id"),
        kind=args.get("kind"),
        target_type=args.get("target_type"),
        target_id=args.get("target_id"),
        at_from=args.get("at_from"),
        at_to=args.get("at_to"),
    )


def export_file(fmt: str, filters: audit_log.AuditFilters) -> Response:
    """The matching rows as CSV (UTF-8 with a BOM) or XLSX; the export is itself audited."""
    org_id, instant = principal().org_id, now()
    # The rows are read in batches through a server-side cursor: a transaction of its own.
    uow = container().db.unit_of_work(on_replica=replica_allowed())
    try:
        rows = list(audit_log.export_rows(uow.session, org_id=org_id, filters=filters, tz=LOCAL_TZ))
    finally:
        uow.close()
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
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/audit-log")
@blp.auth(Permission.AUDIT_VIEW)
@blp.read_only()
@blp.arguments(AuditQueryArgsSchema, location="query")
@blp.response(200, page_of(AuditEntrySchema), description=_LIST_OR_EXPORT)
@blp.alt_response(
    200,
    schema={"type": "string", "description": "UTF-8 CSV（带 BOM），中文表头"},
    content_type=order_export.CSV_MEDIA_TYPE,
    description=_LIST_OR_EXPORT,
)
@blp.alt_response(
    200,
    schema={"type": "string", "format": "binary"},
    content_type=order_export.XLSX_MEDIA_TYPE,
    description=_LIST_OR_EXPORT,
)
def audit_entries(args: dict[str, Any]) -> Any:
    """操作日志（仅管理员）：登录（成功与失败，含 IP、设备）与关键操作；按操作人、类型、对象、
    时间筛选，新的在前；可导出 CSV / XLSX。个人信息（手机号、证件号）已脱敏，日志不可修改或删除。
    """
    filters = filters_from(args)
    if args["format"] != "json":
        return export_file(args["format"], filters)
    return audit_log.search(
        session(),
        org_id=principal().org_id,
        filters=filters,
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.post("/wechat-unbindings")
@blp.auth(Permission.CUSTOMERS_ACT)
@blp.arguments(WeChatUnbindSchema)
@blp.response(200, WeChatUnbindResultSchema)
@blp.alt_response(404, description="not_found：本机构没有该手机号的账号")
@blp.alt_response(409, description="wechat_not_bound：该账号未绑定微信")
def unbind_wechat(data: dict[str, Any]) -> Any:
    """解绑微信：住户更换微信后，原微信仍绑定其手机号（新微信绑定时提示"该手机号已绑定其他微信账号"）。

    解除该手机号账号与原微信的绑定（账号、房屋、工单、密码保留），原微信的登录全部失效；
    新微信随后可绑定此手机号。须填写原因，记入操作日志。
    """
    caller = principal()
    return auth_service.unbind_wechat(
        session(),
        access=container().access,
        org_id=caller.org_id,
        phone=data["phone"],
        reason=data["reason"],
        actor_user_id=caller.user_id,
        now=now(),
    )
