"""Console: daily reconciliation (对账) — runs per channel and bill date, their discrepancies
(with a CSV export), and starting (or re-running) a day. Admins only, like payment settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response
from flask.views import MethodView

from schemas.common import page_of
from schemas.reconciliation import (
    ReconciliationCreateSchema,
    ReconciliationDetailArgsSchema,
    ReconciliationDetailSchema,
    ReconciliationQueryArgsSchema,
    ReconciliationRunSchema,
)
from server.db.session import Database
from server.kernel.permissions import Permission
from server.reconciliation import runs
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, replica_allowed, session

blp = Blueprint(
    "admin_reconciliations",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：对账（微信支付、支付宝交易账单与本系统支付、退款逐笔核对）",
)

CSV_MEDIA_TYPE = "text/csv"
_DETAIL_OR_EXPORT = "对账记录及一页差异；format=csv 时为附件：该次对账的全部差异"
_CSV_SCHEMA = {
    "type": "string",
    "description": "UTF-8（带 BOM）CSV，中文表头；以 = + - @ 开头的单元格前加单引号",
}
_EXPORT_HEADERS = {
    "Content-Disposition": {
        "description": '导出时：attachment; filename="reconciliation-<渠道>-YYYYMMDD.csv"',
        "schema": {"type": "string"},
    },
}


def _org() -> int:
    return int(principal().org_id)


@blp.route("/reconciliations")
class Reconciliations(MethodView):
    @blp.auth(Permission.FINANCE_ACT)
    @blp.arguments(ReconciliationQueryArgsSchema, location="query")
    @blp.response(200, page_of(ReconciliationRunSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """对账记录列表：按渠道、状态、账单日期筛选，账单日期新的在前"""
        return runs.list_runs(
            session(),
            org_id=_org(),
            filters=runs.RunFilters(
                channel=args.get("channel"),
                status=args.get("status"),
                date_from=args.get("date_from"),
                date_to=args.get("date_to"),
            ),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.FINANCE_ACT)
    @blp.arguments(ReconciliationCreateSchema)
    @blp.response(202, ReconciliationRunSchema)
    @blp.alt_response(409, description="该日对账正在进行")
    def post(self, data: dict[str, Any]) -> Any:
        """发起（或重新发起）某渠道某日的对账：排队后在后台下载账单并逐笔核对

        只能对账昨天及以前的账单（微信支付仅最近 3 个月）；重新对账会替换该日上次的差异。
        """
        return runs.start_run(
            session(),
            settings=container().settings,
            org_id=_org(),
            user_id=principal().user_id,
            channel=data["channel"],
            bill_date=data["date"],
            now=now(),
        )


@blp.get("/reconciliations/<int:run_id>")
@blp.auth(Permission.FINANCE_ACT)
@blp.arguments(ReconciliationDetailArgsSchema, location="query")
@blp.response(200, ReconciliationDetailSchema, description=_DETAIL_OR_EXPORT)
@blp.alt_response(
    200,
    schema=_CSV_SCHEMA,
    content_type=CSV_MEDIA_TYPE,
    headers=_EXPORT_HEADERS,
    description=_DETAIL_OR_EXPORT,
)
@blp.alt_response(404, description="对账记录不存在")
def reconciliation(args: dict[str, Any], run_id: int) -> Any:
    """对账详情：汇总与差异（可按差异类型筛选，分页）；format=csv 导出全部差异"""
    if args["format"] == "csv":
        run = runs.get_run(session(), org_id=_org(), run_id=run_id)
        response = Response(
            _csv_stream(container().db, replica_allowed(), _org(), run_id), mimetype=CSV_MEDIA_TYPE
        )
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{runs.export_filename(run)}"'
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    return runs.run_detail(
        session(),
        org_id=_org(),
        run_id=run_id,
        kind=args.get("kind"),
        page=args["page"],
        page_size=args["page_size"],
    )


def _csv_stream(db: Database, on_replica: bool, org_id: int, run_id: int) -> Iterator[bytes]:
    # Streamed after the request's unit of work has closed, from a session of its own.
    uow = db.unit_of_work(on_replica=on_replica)
    try:
        run = runs.get_run(uow.session, org_id=org_id, run_id=run_id)
        yield from runs.export_csv(uow.session, run=run)
    finally:
        uow.close()
