"""Console: the data dashboard (数据看板) — overview, trends, technicians, departments."""

from __future__ import annotations

from typing import Any

from flask import Response

from schemas.dashboard import (
    DashboardArgsSchema,
    DashboardSchema,
    DashboardTrendArgsSchema,
    DashboardTrendsSchema,
    DepartmentTableSchema,
    TechnicianTableSchema,
)
from server.dashboard import overview as overview_figures
from server.dashboard import people, tables
from server.dashboard import trends as trend_figures
from server.dashboard.cohort import Filters, Scope, visible_communities
from server.dashboard.rules import local_range
from server.kernel.clock import LOCAL_TZ
from server.kernel.permissions import Permission
from server.orders import export as order_export
from server.web.audit import record_export
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "admin_dashboard", __name__, url_prefix="/api/v1/admin", description="控制台：数据看板"
)


_CSV = {
    "type": "string",
    "description": "UTF-8（带 BOM）CSV，中文表头；以 = + - @ 开头的单元格前加单引号",
}
_XLSX = {"type": "string", "format": "binary"}
_ABOUT = (
    "统计对象：报修日期（北京时间）在 from–to 之内、符合筛选的工单（按其当前状态）；"
    "format=csv / xlsx 时为本表的附件"
)


def _exports(view: Any) -> Any:
    view = blp.alt_response(
        200, schema=_CSV, content_type=order_export.CSV_MEDIA_TYPE, description=_ABOUT
    )(view)
    return blp.alt_response(
        200, schema=_XLSX, content_type=order_export.XLSX_MEDIA_TYPE, description=_ABOUT
    )(view)


def _scope_and_filters(args: dict[str, Any]) -> tuple[Scope, Filters]:
    caller = principal()
    scope = visible_communities(session(), org_id=caller.org_id, user_id=caller.user_id)
    filters = Filters(
        range=local_range(args["date_from"], args["date_to"], LOCAL_TZ),
        community_id=args.get("community_id"),
        order_type_id=args.get("order_type_id"),
        department_id=args.get("department_id"),
    )
    return scope, filters


def _file(fmt: str, name: str, table: tables.Table, filters: Filters) -> Response:
    headers, rows = table
    if fmt == "csv":
        body = b"".join(order_export.csv_chunks(rows, headers=headers))
        media_type = order_export.CSV_MEDIA_TYPE
    else:
        body = order_export.xlsx_bytes(rows, sheet_title="数据看板", headers=headers)
        media_type = order_export.XLSX_MEDIA_TYPE
    span = f"{filters.range.first:%Y%m%d}-{filters.range.last:%Y%m%d}"
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{span}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/dashboard")
@blp.auth(Permission.REPORTS_VIEW)
@blp.read_only()
@blp.arguments(DashboardArgsSchema, location="query")
@blp.response(200, DashboardSchema, description=_ABOUT)
@_exports
def dashboard(args: dict[str, Any]) -> Any:
    """数据看板总览：工单量、各维度分布、取消原因、时效、SLA、满意度、金额

    每个分项带 `filter`：打开对应工单列表（GET /admin/orders）的查询参数。
    """
    scope, filters = _scope_and_filters(args)
    answer = overview_figures.overview(session(), scope=scope, filters=filters, now=now())
    if args["format"] != "json":
        return _file(args["format"], "dashboard", tables.overview_table(answer), filters)
    return answer


@blp.get("/dashboard/trends")
@blp.auth(Permission.REPORTS_VIEW)
@blp.read_only()
@blp.arguments(DashboardTrendArgsSchema, location="query")
@blp.response(200, DashboardTrendsSchema, description=_ABOUT)
@_exports
def dashboard_trends(args: dict[str, Any]) -> Any:
    """数据看板趋势：按日或按周的报修、完工、归档、取消、重开、超时、差评（图表用序列）"""
    scope, filters = _scope_and_filters(args)
    answer = trend_figures.trends(
        session(), scope=scope, filters=filters, granularity=args["granularity"], now=now()
    )
    if args["format"] != "json":
        return _file(args["format"], "dashboard-trends", tables.trends_table(answer), filters)
    return answer


@blp.get("/dashboard/technicians")
@blp.auth(Permission.REPORTS_VIEW)
@blp.read_only()
@blp.arguments(DashboardArgsSchema, location="query")
@blp.response(200, TechnicianTableSchema, description=_ABOUT)
@_exports
def dashboard_technicians(args: dict[str, Any]) -> Any:
    """数据看板：按师傅（完工、在手/上限、平均处理时长、重开率、平均评分、收入）"""
    scope, filters = _scope_and_filters(args)
    rows = people.technicians(session(), scope=scope, filters=filters, now=now())
    if args["format"] != "json":
        # The table names the technicians: an export of personal data.
        record_export("数据看板（按师傅）", fmt=args["format"], rows=len(rows))
        return _file(
            args["format"], "dashboard-technicians", tables.technicians_table(rows), filters
        )
    return {"items": rows}


@blp.get("/dashboard/departments")
@blp.auth(Permission.REPORTS_VIEW)
@blp.read_only()
@blp.arguments(DashboardArgsSchema, location="query")
@blp.response(200, DepartmentTableSchema, description=_ABOUT)
@_exports
def dashboard_departments(args: dict[str, Any]) -> Any:
    """数据看板：按部门（其师傅的合计）"""
    scope, filters = _scope_and_filters(args)
    rows = people.departments(session(), scope=scope, filters=filters, now=now())
    if args["format"] != "json":
        return _file(
            args["format"], "dashboard-departments", tables.departments_table(rows), filters
        )
    return {"items": rows}
