"""Console: money records (订单记录) — payments and refunds with filters and export; one order's
payments, refunds and ledger; desk refunds and offline payments (线下收款)."""

from __future__ import annotations

from typing import Any

from flask import Response

from schemas.common import page_of
from schemas.payments import (
    OfflinePaymentCreateSchema,
    OrderMoneySchema,
    PaymentQueryArgsSchema,
    PaymentRecordSchema,
    RefundCreateSchema,
    RefundQueryArgsSchema,
    RefundSchema,
)
from server.kernel.clock import LOCAL_TZ
from server.kernel.permissions import Permission
from server.kernel.roles import Role
from server.orders import export as order_export
from server.orders.actors import Actor
from server.orders.moves import load_order
from server.payments import paying, records, refunding
from server.payments.models import Payment, Refund
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "admin_payment_records",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：订单记录（支付、退款、台账）、人工退款、线下收款",
)

MONEY = (Role.ADMIN,)
_EXPORT = "JSON 分页列表；format=csv / xlsx 时为附件（全部匹配记录，最多 50,000 行）"
_CSV = {"type": "string", "description": "UTF-8 CSV（带 BOM）"}
_XLSX = {"type": "string", "format": "binary"}


def _exportable(view: Any) -> Any:
    """Document the CSV and XLSX answers beside the JSON page."""
    for schema, media_type in (
        (_CSV, order_export.CSV_MEDIA_TYPE),
        (_XLSX, order_export.XLSX_MEDIA_TYPE),
    ):
        view = blp.alt_response(200, schema=schema, content_type=media_type, description=_EXPORT)(
            view
        )
    return view


def _org() -> int:
    return int(principal().org_id)


def _filters(args: dict[str, Any]) -> records.RecordFilters:
    return records.RecordFilters(
        channel=args.get("channel"),
        status=args.get("status"),
        source=args.get("source"),
        order_number=args.get("order_number"),
        date_from=args.get("date_from"),
        date_to=args.get("date_to"),
    )


def _export(fmt: str, name: str, headers: tuple[str, ...], rows: Any) -> Response:
    instant = now()
    if fmt == "csv":
        body: Any = b"".join(order_export.csv_chunks(rows, headers=headers))
        media_type = order_export.CSV_MEDIA_TYPE
    else:
        body = order_export.xlsx_bytes(rows, sheet_title=name, headers=headers)
        media_type = order_export.XLSX_MEDIA_TYPE
    filename = order_export.export_filename(instant, LOCAL_TZ, fmt).replace("orders", name, 1)
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/payments")
@blp.auth(Permission.MONEY_VIEW)
@blp.arguments(PaymentQueryArgsSchema, location="query")
@blp.response(200, page_of(PaymentRecordSchema), description=_EXPORT)
@_exportable
def payments(args: dict[str, Any]) -> Any:
    """支付记录：按渠道、状态、工单号、日期筛选；可导出 CSV / XLSX"""
    filters = _filters(args)
    if args["format"] != "json":
        rows = records.payment_rows(session(), org_id=_org(), filters=filters)
        return _export(args["format"], "payments", records.PAYMENT_HEADERS, rows)
    return records.list_payments(
        session(), org_id=_org(), filters=filters, page=args["page"], page_size=args["page_size"]
    )


@blp.get("/refunds")
@blp.auth(Permission.MONEY_VIEW)
@blp.arguments(RefundQueryArgsSchema, location="query")
@blp.response(200, page_of(RefundSchema), description=_EXPORT)
@_exportable
def refunds(args: dict[str, Any]) -> Any:
    """退款记录：按渠道、状态（含 abnormal 异常待处理）、来源、工单号、日期筛选；可导出"""
    filters = _filters(args)
    if args["format"] != "json":
        rows = records.refund_rows(session(), org_id=_org(), filters=filters)
        return _export(args["format"], "refunds", records.REFUND_HEADERS, rows)
    return records.list_refunds(
        session(), org_id=_org(), filters=filters, page=args["page"], page_size=args["page_size"]
    )


@blp.get("/orders/<int:order_id>/money")
@blp.auth(Permission.MONEY_VIEW)
@blp.response(200, OrderMoneySchema)
@blp.alt_response(404, description="工单不存在")
def order_money(order_id: int) -> Any:
    """工单的支付、退款与台账（台账合计即住户仍欠金额）"""
    return records.order_money(session(), org_id=_org(), order_id=order_id)


def _number(order_id: int) -> str:
    return load_order(session(), org_id=_org(), order_id=order_id).number


def _refund_views(items: list[Refund]) -> list[dict[str, Any]]:
    views = []
    for refund in items:
        payment = session().get(Payment, refund.payment_id)
        assert payment is not None
        number = _number(refund.order_id)
        views.append(records.refund_view(refund, number, payment.out_trade_no, payment.channel))
    return views


@blp.post("/orders/<int:order_id>/refunds")
@blp.auth(Permission.REFUNDS_ACT)
@blp.idempotent()
@blp.arguments(RefundCreateSchema)
@blp.response(201, RefundSchema(many=True))
@blp.alt_response(404, description="工单不存在")
@blp.alt_response(409, description="refund_exceeds_paid：超过可退金额；idempotency_conflict")
def refund(data: dict[str, Any], order_id: int) -> Any:
    """人工退款：填写金额与原因，从最近的支付起原路退回（线下收款由前台线下退还）"""
    caller = principal()
    actor = Actor(user_id=caller.user_id, org_id=caller.org_id, role=Role.ADMIN.value)
    made = refunding.desk_refund(
        session(),
        actor=actor,
        order_id=order_id,
        amount_fen=data["amount_fen"],
        reason=data["reason"],
        now=now(),
    )
    return _refund_views(made)


@blp.post("/orders/<int:order_id>/offline-payments")
@blp.auth(Permission.MONEY_ACT)
@blp.idempotent()
@blp.arguments(OfflinePaymentCreateSchema)
@blp.response(201, PaymentRecordSchema)
@blp.alt_response(404, description="工单不存在")
@blp.alt_response(409, description="already_paid / nothing_to_pay：当前无需支付")
def offline_payment(data: dict[str, Any], order_id: int) -> Any:
    """线下收款（现金、转账）：记录金额、方式、说明与收款人，不超过当前应付"""
    caller = principal()
    role = Role.ADMIN.value if Role.ADMIN.value in caller.roles else Role.DISPATCHER.value
    actor = Actor(user_id=caller.user_id, org_id=caller.org_id, role=role)
    payment = paying.record_offline_payment(
        session(),
        actor=actor,
        order_id=order_id,
        amount_fen=data["amount_fen"],
        method=data["method"],
        note=data["note"],
        now=now(),
    )
    return records.payment_view(payment, _number(order_id))
