"""Console: the order board — list, filter, export, assign, cancel, reopen, talk."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, stream_with_context

from schemas.orders import (
    AssignSchema,
    CancelSchema,
    DeskOrderPageSchema,
    DeskOrderQueryArgsSchema,
    DeskReopenSchema,
    MessageCreateSchema,
    OrderDetailSchema,
    UrgeSchema,
)
from server.db.session import Database
from server.dictionary import items as dictionary
from server.kernel.clock import LOCAL_TZ
from server.kernel.permissions import Permission
from server.kernel.roles import Role
from server.orders import detail, handout, lists, steps, urging
from server.orders import export as order_export
from server.orders.actors import Actor
from server.orders.messages import post_message
from server.web.audit import record_export
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, replica_allowed, session

blp = Blueprint(
    "admin_orders", __name__, url_prefix="/api/v1/admin", description="控制台：工单调度"
)


def _actor() -> Actor:
    caller = principal()
    role = Role.DISPATCHER.value if Role.DISPATCHER.value in caller.roles else Role.ADMIN.value
    return Actor(user_id=caller.user_id, org_id=caller.org_id, role=role)


def _order(order_id: int) -> Any:
    return lists.desk_order(session(), org_id=principal().org_id, order_id=order_id)


def _detail(order: Any) -> Any:
    return detail.order_detail(session(), order=order)


def filters_from(args: dict[str, Any]) -> lists.DeskFilters:
    return lists.DeskFilters.from_args(args)


_ROWS_CAP = f"{order_export.MAX_EXPORT_ROWS:,}"
_EXPORT_HEADERS = {
    "Content-Disposition": {
        "description": '导出时：attachment; filename="orders-YYYYMMDD-HHMM.csv"（北京时间）',
        "schema": {"type": "string"},
    },
    "X-Total-Count": {"description": "导出时：匹配的工单总数", "schema": {"type": "integer"}},
    "X-Export-Truncated": {
        "description": f"导出时：匹配超过 {_ROWS_CAP} 行、只导出了前 {_ROWS_CAP} 行为 true",
        "schema": {"type": "boolean"},
    },
}
_CSV_SCHEMA = {
    "type": "string",
    "description": "UTF-8（带 BOM）CSV，中文表头；联系电话脱敏；"
    "以 = + - @ 开头的单元格前加单引号，防公式注入",
}
_XLSX_SCHEMA = {"type": "string", "format": "binary"}
# One 200 response with three media types; each decorator repeats the same description.
_LIST_OR_EXPORT = (
    f"JSON 分页列表；format=csv / xlsx 时为附件：全部匹配的工单，不分页，最多 {_ROWS_CAP} 行"
)


@blp.get("/orders")
@blp.auth(Permission.ORDERS_VIEW)
@blp.read_only()
@blp.arguments(DeskOrderQueryArgsSchema, location="query")
@blp.response(200, DeskOrderPageSchema, description=_LIST_OR_EXPORT)
@blp.alt_response(
    200,
    schema=_CSV_SCHEMA,
    content_type=order_export.CSV_MEDIA_TYPE,
    headers=_EXPORT_HEADERS,
    description=_LIST_OR_EXPORT,
)
@blp.alt_response(
    200,
    schema=_XLSX_SCHEMA,
    content_type=order_export.XLSX_MEDIA_TYPE,
    description=_LIST_OR_EXPORT,
)
def orders(args: dict[str, Any]) -> Any:
    """工单列表：按状态、类型、小区、楼栋、师傅、日期、超时、回访筛选；可导出 CSV / XLSX

    `format=csv|xlsx` 导出全部匹配的工单（忽略 page / page_size），有行数上限，
    超出部分被截断（响应头 `X-Export-Truncated: true`），请缩小筛选范围后分批导出。
    """
    filters = filters_from(args)
    if args["format"] != "json":
        return _export(args["format"], filters)
    return lists.desk_orders(
        session(),
        org_id=principal().org_id,
        filters=filters,
        now=now(),
        tz=LOCAL_TZ,
        page=args["page"],
        page_size=args["page_size"],
    )


def _export(fmt: str, filters: lists.DeskFilters) -> Response:
    org_id, instant = principal().org_id, now()
    total = order_export.count_export(
        session(), org_id=org_id, filters=filters, now=instant, tz=LOCAL_TZ
    )
    if fmt == "csv":
        # Streamed after this request's unit of work has closed: the rows are read in a
        # read-only session of their own, closed when the stream ends or is abandoned.
        body: Any = stream_with_context(
            _csv_stream(container().db, replica_allowed(), org_id, filters, instant)
        )
        media_type = order_export.CSV_MEDIA_TYPE  # Werkzeug adds "; charset=utf-8"
    else:
        # Rows are read in batches (a server-side cursor), which needs a transaction: the
        # list's read-only unit of work has none.
        uow = container().db.unit_of_work(on_replica=replica_allowed())
        try:
            rows = order_export.export_rows(
                uow.session, org_id=org_id, filters=filters, now=instant, tz=LOCAL_TZ
            )
            body = order_export.xlsx_bytes(rows)
        finally:
            uow.close()
        media_type = order_export.XLSX_MEDIA_TYPE
    filename = order_export.export_filename(instant, LOCAL_TZ, fmt)
    record_export(
        "工单列表",
        fmt=fmt,
        rows=min(total, order_export.MAX_EXPORT_ROWS),
        data={"filters": _audited_filters(filters)},
    )
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Total-Count"] = str(total)
    truncated = total > order_export.MAX_EXPORT_ROWS
    response.headers["X-Export-Truncated"] = "true" if truncated else "false"
    return response


def _audited_filters(filters: lists.DeskFilters) -> dict[str, Any]:
    """The export's filters as the audit row keeps them (set ones only, as text)."""
    values = {field.name: getattr(filters, field.name) for field in dataclasses.fields(filters)}
    return {k: str(v) for k, v in values.items() if v not in (None, "", (), [], False)}


def _csv_stream(
    db: Database, on_replica: bool, org_id: int, filters: lists.DeskFilters, instant: datetime
) -> Iterator[bytes]:
    uow = db.unit_of_work(on_replica=on_replica)
    try:
        rows = order_export.export_rows(
            uow.session, org_id=org_id, filters=filters, now=instant, tz=LOCAL_TZ
        )
        yield from order_export.csv_chunks(rows)
    finally:
        uow.close()


@blp.get("/orders/<int:order_id>")
@blp.auth(Permission.ORDERS_VIEW)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(404, description="工单不存在")
def order(order_id: int) -> Any:
    """工单详情"""
    return _detail(_order(order_id))


@blp.post("/orders/<int:order_id>/assign")
@blp.auth(Permission.DISPATCH_ACT)
@blp.arguments(AssignSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="grab_limit_reached / order_taken / invalid_transition")
def assign(data: dict[str, Any], order_id: int) -> Any:
    """派单给师傅（受其抢单数上限约束）；`take_back` 时收回在办工单改派"""
    return _detail(
        handout.assign_order(
            session(),
            actor=_actor(),
            order_id=_order(order_id).id,
            staff_id=data["staff_id"],
            take_back=data["take_back"],
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/cancel")
@blp.auth(Permission.ORDERS_ACT)
@blp.arguments(CancelSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition：已办结的工单不能取消")
def cancel(data: dict[str, Any], order_id: int) -> Any:
    """取消工单（办结前，须填原因）"""
    return _detail(
        steps.cancel_order(
            session(),
            actor=_actor(),
            order_id=_order(order_id).id,
            reason=_cancel_reason(data),
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/reopen")
@blp.auth(Permission.ORDERS_ACT)
@blp.arguments(DeskReopenSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition / reopen_window_passed / grab_limit_reached")
def reopen(data: dict[str, Any], order_id: int) -> Any:
    """重新打开：回到抢单池，或直接派回原处理师傅"""
    return _detail(
        handout.reopen_order(
            session(),
            actor=_actor(),
            order_id=_order(order_id).id,
            reason=data["reason"],
            now=now(),
            to_same_technician=data["to_same_technician"],
        )
    )


@blp.post("/orders/<int:order_id>/messages")
@blp.alt_response(409, description="invalid_transition：已取消的工单不能再留言")
@blp.auth(Permission.ORDERS_ACT)
@blp.arguments(MessageCreateSchema)
@blp.response(201, OrderDetailSchema)
def message(data: dict[str, Any], order_id: int) -> Any:
    """以物业身份给住户留言"""
    order = _order(order_id)
    post_message(
        session(),
        actor=_actor(),
        order=order,
        text=data["text"],
        image_ids=data["image_ids"],
        now=now(),
    )
    return _detail(order)


@blp.post("/orders/<int:order_id>/urge")
@blp.auth(Permission.ORDERS_ACT)
@blp.arguments(UrgeSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(404, description="工单不存在")
@blp.alt_response(409, description="invalid_transition：只能督办未办结的工单（待接单至待备件）")
def urge(data: dict[str, Any], order_id: int) -> Any:
    """督办：催处理师傅（无人处理时催可接单的师傅），记入工单进度与 SLA 升级统计"""
    return _detail(
        urging.urge_order(
            session(),
            actor=_actor(),
            order_id=_order(order_id).id,
            reason=data["reason"],
            now=now(),
        )
    )


def _cancel_reason(data: dict[str, Any]) -> str:
    """The reason as the timeline keeps it: the chosen 取消原因's name, then the caller's words."""
    return dictionary.reason_text(
        session(),
        org_id=principal().org_id,
        name="cancel_reasons",
        code=data.get("reason_code"),
        note=data.get("reason"),
    )
