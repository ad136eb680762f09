"""数据看板 in the browser: tiles, charts and tables over the dashboard's use cases.

The figures are those of the JSON API (`server/http/admin/dashboard.py`): the same argument
schema (so the same zh-CN refusals), the same use cases (`server.dashboard.overview`,
`trends`, `people`) called the same way, dumped with the same schemas, and the same exports
(`server.dashboard.tables` written out by `orders.export`). Each figure's `filter` (the order
list's query) becomes a link to the console's order board.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Response, redirect, request
from marshmallow import ValidationError

from schemas.dashboard import (
    DashboardSchema,
    DashboardTrendArgsSchema,
    DashboardTrendsSchema,
    DepartmentTableSchema,
    TechnicianTableSchema,
)
from server.catalog import admin as catalog_admin
from server.console.blueprint import bp, yuan
from server.console.web import desk_page, page
from server.dashboard import overview as overview_figures
from server.dashboard import people, tables
from server.dashboard import trends as trend_figures
from server.dashboard.cohort import Filters, Scope, visible_communities
from server.dashboard.rules import DAY, GRANULARITIES, WEEK, local_range
from server.directory import property as property_service
from server.kernel.clock import LOCAL_TZ
from server.orders import export as order_export
from server.staff import structure
from server.web.audit import record_export
from server.web.context import now, principal, session, today

ORDERS_BOARD = "/console/orders"
# The range the page opens with: the last 30 days, today included.
DEFAULT_DAYS = 30
# Filter choices listed at most (communities, order types, departments of one organisation).
MAX_CHOICES = 500
QUERY_KEYS = ("from", "to", "community_id", "order_type_id", "department_id", "granularity")
GRANULARITY_LABELS = {DAY: "按日", WEEK: "按周"}
FIELD_LABELS = {
    "from": "报修日期起",
    "to": "报修日期止",
    "community_id": "小区",
    "order_type_id": "工单类型",
    "department_id": "部门",
    "granularity": "趋势粒度",
}
EXPORTS = ("overview", "trends", "technicians", "departments")
FORMATS = ("csv", "xlsx")
# How the ledger names a payment channel (an empty channel: recorded without one).
CHANNEL_LABELS = {"wechat": "微信支付", "alipay": "支付宝", "offline": "线下收款", "": "其他"}

_ARGS = DashboardTrendArgsSchema()
_OVERVIEW = DashboardSchema()
_TRENDS = DashboardTrendsSchema()
_TECHNICIANS = TechnicianTableSchema()
_DEPARTMENTS = DepartmentTableSchema()


def orders_href(figure_filter: dict[str, Any] | None) -> str:
    """The order board for a figure's `filter`: a list value repeats its key (status=a&status=b),
    a flag is `true`/`false` (as the order list's query reads them)."""
    pairs: list[tuple[str, str]] = []
    for key, value in (figure_filter or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for one in values:
            if one is None:
                continue
            pairs.append((key, ("true" if one else "false") if isinstance(one, bool) else str(one)))
    return f"{ORDERS_BOARD}?{urlencode(pairs)}" if pairs else ORDERS_BOARD


def _query() -> dict[str, str]:
    """The filter bar as asked (blank fields dropped), with the default range filled in."""
    asked = {key: request.args.get(key, "").strip()[:32] for key in QUERY_KEYS}
    last = today()
    if not asked["to"]:
        asked["to"] = last.isoformat()
    if not asked["from"]:
        with suppress(ValueError):  # a bad `to` is refused by the schema below
            last = date.fromisoformat(asked["to"])
        asked["from"] = (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    if asked["granularity"] not in GRANULARITIES:
        asked["granularity"] = DAY
    return {key: value for key, value in asked.items() if value}


def _load(query: dict[str, str]) -> tuple[dict[str, Any] | None, str]:
    """The API's arguments, or None and its zh-CN message(s)."""
    try:
        return _ARGS.load(query), ""
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
        texts = [
            _labelled(str(field), str(m))
            for field, values in messages.items()
            for m in _flat(values)
        ]
        return None, "；".join(dict.fromkeys(texts)) or "筛选条件有误"


def _labelled(field: str, message: str) -> str:
    """A field's message with the field's name, unless it names what it is about (the range's
    own messages: "结束日期不能早于开始日期", "时间范围最多 366 天")."""
    label = FIELD_LABELS.get(field)
    return (
        message
        if label is None or "日期" in message or "范围" in message
        else f"{label}：{message}"
    )


def _flat(values: Any) -> list[Any]:
    if isinstance(values, dict):
        return [m for v in values.values() for m in _flat(v)]
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _scope_and_filters(args: dict[str, Any]) -> tuple[Scope, Filters]:
    """As the JSON API's `_scope_and_filters`: the caller's communities and the filters."""
    caller = principal()
    scope = visible_communities(session(), org_id=caller.org_id, user_id=caller.user_id)
    filters = Filters(
        range=local_range(args["date_from"], args["date_to"], LOCAL_TZ),
        community_id=args.get("community_id"),
        order_type_id=args.get("order_type_id"),
        department_id=args.get("department_id"),
    )
    return scope, filters


def _choices() -> dict[str, list[dict[str, Any]]]:
    org_id = principal().org_id
    current = session()
    communities = property_service.list_communities(
        current, org_id=org_id, q=None, page=1, page_size=MAX_CHOICES
    )
    types = catalog_admin.list_order_types(
        current, org_id=org_id, q=None, is_active=None, page=1, page_size=MAX_CHOICES
    )
    departments = structure.list_departments(
        current, org_id=org_id, q=None, page=1, page_size=MAX_CHOICES
    )
    return {
        "communities": [{"id": c.id, "name": c.name} for c in communities.items],
        "order_types": [{"id": t.id, "name": t.name} for t in types.items],
        "departments": [{"id": d.id, "name": d.name} for d in departments.items],
    }


def _tiles(o: dict[str, Any]) -> list[dict[str, Any]]:
    """The KPI tiles: (key, label, shown value, link)."""
    counts, sla, sat, money = o["counts"], o["sla"], o["satisfaction"], o["money"]
    by_status = {item["key"]: item for item in o["breakdowns"]["by_status"]}
    base = o["filter"]

    def status_filter(*statuses: str) -> dict[str, Any]:
        return {**base, "status": list(statuses)}

    def percent(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.1f}%"

    def money_of(fen: int) -> str:
        return f"¥{yuan(fen)}" if fen >= 0 else f"-¥{yuan(-fen)}"

    visits, complaints = o["return_visits"], o["complaints"]
    complaints_open = sum(
        n for status, n in complaints["by_status"].items() if status in ("open", "processing")
    )
    closed_filter = by_status.get("closed", {}).get("filter") or status_filter("closed")
    cancelled_filter = by_status.get("cancelled", {}).get("filter") or status_filter("cancelled")
    done_filter = status_filter("completed", "closed")
    return [
        _tile("filed", "报修", str(counts["filed"]), orders_href(base)),
        _tile("completed", "完工", str(counts["completed"]), orders_href(done_filter)),
        _tile("closed", "归档", str(counts["closed"]), orders_href(closed_filter)),
        _tile("cancelled", "取消", str(counts["cancelled"]), orders_href(cancelled_filter)),
        _tile(
            "overdue_now",
            "当前超时",
            str(counts["overdue_now"]),
            orders_href(sla["overdue_filter"]),
            warn=counts["overdue_now"] > 0,
        ),
        _tile(
            "in_time_share",
            "按时完工率",
            percent(sla["in_time_share"]),
            orders_href(done_filter),
            note=f"{sla['completed_in_time']} / {sla['completed']}",
        ),
        _tile(
            "average_rating",
            "平均评分",
            "—" if sat["average"] is None else f"{sat['average']:.2f}",
            orders_href(base),
            note=f"{sat['rated']} 条评价",
        ),
        _tile(
            "low_share",
            "差评率",
            percent(sat["low_share"]),
            orders_href(sat["low_filter"]),
            note=f"差评 {sat['low_scores']}",
        ),
        _tile("charged_fen", "应收", money_of(money["charged_fen"]), orders_href(base)),
        _tile("paid_fen", "实收", money_of(money["paid_fen"]), orders_href(base)),
        _tile("refunded_fen", "退款", money_of(money["refunded_fen"]), orders_href(base)),
        _tile("outstanding_fen", "待收", money_of(money["outstanding_fen"]), orders_href(base)),
        _tile("return_visits_done", "已回访", str(visits["done"]), "/console/visits?status=done"),
        _tile(
            "complaints_open",
            "投诉建议未办结",
            str(complaints_open),
            "/console/complaints?status=open&status=processing",
            warn=complaints_open > 0,
        ),
    ]


def _tile(
    key: str, label: str, value: str, href: str, *, note: str = "", warn: bool = False
) -> dict[str, Any]:
    return {"key": key, "label": label, "value": value, "href": href, "note": note, "warn": warn}


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def _chart_data(
    o: dict[str, Any], trend: dict[str, Any], technicians: list[dict[str, Any]]
) -> dict[str, Any]:
    """What dashboard.js draws: the same numbers as the tables, each point with its link."""

    def bars(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"label": i["label"], "value": i["count"], "href": orders_href(i["filter"])}
            for i in items
        ]

    sat = o["satisfaction"]
    return {
        "trend": {
            "dates": trend["dates"],
            "series": trend["series"],
            "hrefs": [orders_href(f) for f in trend["filters"]],
        },
        "by_type": bars(o["breakdowns"]["by_type"]),
        "by_community": bars(o["breakdowns"]["by_community"]),
        "ratings": [
            {
                "label": f"{d['score']} 分",
                "value": d["count"],
                # The order list finds low scores (needing a return visit), not each score.
                "href": orders_href(sat["low_filter"]) if d["score"] <= 2 else None,
            }
            for d in sat["distribution"]
        ],
        "technicians": [
            {
                "label": t["label"],
                "completed": t["completed"],
                "hours": _hours(t["mean_handling_seconds"]),
                "href": orders_href(t["filter"]),
            }
            for t in technicians
        ],
    }


@bp.get("/dashboard")
@desk_page
def dashboard() -> Any:
    query = _query()
    args, message = _load(query)
    context: dict[str, Any] = {
        "query": query,
        "message": message,
        "choices": _choices(),
        "granularities": GRANULARITY_LABELS,
        "nav": "dashboard",
    }
    if args is None:
        # The API's refusal beside the filter bar; 200 (a 4xx document is a console error).
        return page("console/dashboard.html", **context)
    # All four parts are read in the request's one transaction: one snapshot, so the tiles,
    # the trend and the tables agree with each other.
    scope, filters = _scope_and_filters(args)
    current, instant = session(), now()
    o = _OVERVIEW.dump(
        overview_figures.overview(current, scope=scope, filters=filters, now=instant)
    )
    trend = _TRENDS.dump(
        trend_figures.trends(
            current, scope=scope, filters=filters, granularity=args["granularity"], now=instant
        )
    )
    technicians = _TECHNICIANS.dump(
        {"items": people.technicians(current, scope=scope, filters=filters, now=instant)}
    )["items"]
    departments = _DEPARTMENTS.dump(
        {"items": people.departments(current, scope=scope, filters=filters, now=instant)}
    )["items"]
    filter_query = {k: v for k, v in query.items() if k != "granularity"}
    return page(
        "console/dashboard.html",
        o=o,
        trend=trend,
        technicians=technicians,
        departments=departments,
        tiles=_tiles(o),
        data=_chart_data(o, trend, technicians),
        orders_href=orders_href,
        hours=_hours,
        channel_labels=CHANNEL_LABELS,
        cancel_labels={w["key"]: w["label"] for w in o["cancellations"]["by_who"]},
        export_href=lambda table, fmt: _export_href(table, fmt, query, filter_query),
        **context,
    )


def _export_href(table: str, fmt: str, query: dict[str, str], filters: dict[str, str]) -> str:
    asked = query if table == "trends" else filters
    return f"/console/dashboard/export/{table}.{fmt}?{urlencode(asked)}"


@bp.get("/dashboard/export/<table>.<fmt>")
@desk_page
def dashboard_export(table: str, fmt: str) -> Any:
    """A table as CSV or XLSX: what the JSON API answers for `format=csv|xlsx`."""
    query = _query()
    args, _ = _load(query)
    if table not in EXPORTS or fmt not in FORMATS or args is None:
        # Back to the page, which shows why (no 4xx document for the browser).
        return redirect(f"/console/dashboard?{urlencode(query)}", code=303)
    scope, filters = _scope_and_filters(args)
    current, instant = session(), now()
    if table == "overview":
        answer = overview_figures.overview(current, scope=scope, filters=filters, now=instant)
        return _file(fmt, "dashboard", tables.overview_table(answer), filters)
    if table == "trends":
        answer = trend_figures.trends(
            current, scope=scope, filters=filters, granularity=args["granularity"], now=instant
        )
        return _file(fmt, "dashboard-trends", tables.trends_table(answer), filters)
    if table == "technicians":
        rows = people.technicians(current, scope=scope, filters=filters, now=instant)
        record_export("数据看板（按师傅）", fmt=fmt, rows=len(rows))
        return _file(fmt, "dashboard-technicians", tables.technicians_table(rows), filters)
    rows = people.departments(current, scope=scope, filters=filters, now=instant)
    return _file(fmt, "dashboard-departments", tables.departments_table(rows), filters)


def _file(fmt: str, name: str, table: tables.Table, filters: Filters) -> Response:
    """As the JSON API's `_file`: the table through `orders.export`, named by its range."""
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
