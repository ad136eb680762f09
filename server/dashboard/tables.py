"""The dashboard's tables as export rows (CSV with a BOM, XLSX), with Chinese headers.

Written out by `orders.export` (the same CSV-injection escape, the same yuan cells).
"""

from __future__ import annotations

from typing import Any

from server.orders.export import Cell, Yuan

Table = tuple[tuple[str, ...], list[list[Cell]]]

_PEOPLE = (
    ("工单数", "orders", None),
    ("完工数", "completed", None),
    ("当前在手", "held_now", None),
    ("接单上限", "cap", None),
    ("平均处理时长（分钟）", "mean_handling_seconds", "minutes"),
    ("重开数", "reopened", None),
    ("重开率", "reopen_rate", None),
    ("评价数", "rated", None),
    ("平均评分", "average_rating", None),
    ("工时收入（元）", "labor_fen", "yuan"),
    ("耗材收入（元）", "material_fen", "yuan"),
    ("服务项收入（元）", "service_fen", "yuan"),
    ("收入合计（元）", "revenue_fen", "yuan"),
)


def _cell(value: Any, kind: str | None) -> Cell:
    if value is None:
        return None
    if kind == "yuan":
        return Yuan(int(value))
    if kind == "minutes":
        return str(round(value / 60, 1))
    return value if isinstance(value, (int, str)) else str(value)


def technicians_table(rows: list[dict[str, Any]]) -> Table:
    headers = ("师傅", "部门", *(h for h, _, _ in _PEOPLE))
    body: list[list[Cell]] = [
        [r["label"], r["department_label"], *(_cell(r[k], kind) for _, k, kind in _PEOPLE)]
        for r in rows
    ]
    return headers, body


def departments_table(rows: list[dict[str, Any]]) -> Table:
    headers = ("部门", "师傅数", *(h for h, _, _ in _PEOPLE))
    body: list[list[Cell]] = [
        [r["label"], r["technicians"], *(_cell(r[k], kind) for _, k, kind in _PEOPLE)] for r in rows
    ]
    return headers, body


def trends_table(answer: dict[str, Any]) -> Table:
    headers = ("日期", *(s["name"] for s in answer["series"]))
    body: list[list[Cell]] = [
        [day, *(s["values"][i] for s in answer["series"])] for i, day in enumerate(answer["dates"])
    ]
    return headers, body


_TIME_LABELS = {"taken": "报修→接单", "completed": "报修→完工", "closed": "报修→归档"}
_BREAKDOWNS = {
    "by_status": "按状态",
    "by_type": "按类型",
    "by_subtype": "按子类",
    "by_source": "按来源",
    "by_community": "按小区",
    "by_priority": "按紧急程度",
}
_COUNTS = {
    "filed": "报修数",
    "completed": "完工数",
    "closed": "归档数",
    "cancelled": "取消数",
    "reopened": "重开工单数",
    "reopens": "重开次数",
    "overdue_now": "当前超时",
}
_MONEY = {
    "charged_fen": "应收",
    "waived_fen": "减免",
    "company_cost_fen": "公司承担",
    "cancelled_fen": "取消免收",
    "paid_fen": "实收",
    "refunded_fen": "退款",
    "outstanding_fen": "待收",
}


def overview_table(answer: dict[str, Any]) -> Table:
    """The overview in long form: one row per figure (section, item, value)."""
    headers = ("板块", "项目", "数值")
    body: list[list[Cell]] = []
    for key, label in _COUNTS.items():
        body.append(["总量", label, answer["counts"][key]])
    for key, label in _BREAKDOWNS.items():
        for item in answer["breakdowns"][key]:
            body.append([label, item["label"], item["count"]])
    for item in answer["cancellations"]["reasons"]:
        body.append(["取消原因", item["reason"] or "（未填写）", item["count"]])
    for key, label in _TIME_LABELS.items():
        figures = answer["times"][key]
        for stat, stat_label in (
            ("p50_seconds", "中位数"),
            ("p90_seconds", "P90"),
            ("mean_seconds", "平均"),
        ):
            value = figures[stat]
            body.append(
                [
                    "时效（分钟）",
                    f"{label} {stat_label}",
                    None if value is None else str(round(value / 60, 1)),
                ]
            )
    sla = answer["sla"]
    body.append(["SLA", "按时完工", sla["completed_in_time"]])
    body.append(
        ["SLA", "按时完工率", None if sla["in_time_share"] is None else str(sla["in_time_share"])]
    )
    body.append(["SLA", "当前超时", sla["overdue_now"]])
    body.append(["SLA", "已升级督办", sla["escalated"]])
    sat = answer["satisfaction"]
    for item in sat["distribution"]:
        body.append(["满意度", f"{item['score']} 分", item["count"]])
    body.append(["满意度", "平均分", None if sat["average"] is None else str(sat["average"])])
    body.append(["满意度", "差评率", None if sat["low_share"] is None else str(sat["low_share"])])
    for key, label in _MONEY.items():
        body.append(["金额（元）", label, Yuan(answer["money"][key])])
    for item in answer["money"]["by_channel"]:
        body.append(["金额（元）", f"实收 {item['channel'] or '其他'}", Yuan(item["paid_fen"])])
        body.append(["金额（元）", f"退款 {item['channel'] or '其他'}", Yuan(item["refunded_fen"])])
    visits = answer["return_visits"]
    for key, label in _VISITS.items():
        body.append(["回访", label, visits[key]])
    complaints = answer["complaints"]
    body.append(["投诉建议", "提交", complaints["total"]])
    for kind, count in sorted(complaints["by_kind"].items()):
        body.append(["投诉建议", f"类别 {kind}", count])
    body.append(["投诉建议", "超时未关闭", complaints["overdue"]])
    return headers, body


_VISITS = {
    "done": "已回访",
    "reached": "联系上",
    "satisfied": "满意",
    "reopened": "回访后重新打开",
    "satisfaction_percent": "回访满意率（%）",
    "due": "当前待回访",
}
