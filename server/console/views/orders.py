"""订单记录 / 工单调度: the desk's order board (every filter of `GET /api/v1/admin/orders`,
exports) and one order's page (timeline, photos, conversation, money, the desk's actions).

Same use cases, schemas, scoping and messages as `server.http.admin.orders`,
`server.http.admin.charges` (fee adjustments) and `server.http.admin.payment_records`
(the order's money, refunds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask import Response, redirect, request, send_file, stream_with_context
from marshmallow import Schema, ValidationError, fields

from schemas.charges import FeeAdjustSchema
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
from schemas.payments import OrderMoneySchema, RefundCreateSchema
from schemas.staff import StaffListItemSchema
from server.charges import fees
from server.console.blueprint import bp
from server.console.web import desk_page, discard_changes, page
from server.db.session import Database
from server.dictionary import items as dictionary
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import DomainError, Forbidden, NotFound
from server.kernel.permissions import Permission
from server.kernel.roles import Role
from server.orders import choices, detail, handout, lists, steps, urging
from server.orders import export as order_export
from server.orders.actors import Actor
from server.orders.messages import post_message
from server.orders.rules.states import LABELS, Status
from server.payments import records, refunding
from server.staff import members
from server.uploads import access
from server.uploads import files as upload_service
from server.web.audit import record_export
from server.web.context import container, now, principal, replica_allowed, session

PAGE_SIZES = (20, 50, 100)
FIELD_LABELS = {
    "status": "状态",
    "order_type_id": "工单类型",
    "subtype_id": "子类",
    "community_id": "小区",
    "building_id": "楼栋",
    "room_id": "房间",
    "assignee_id": "处理师傅",
    "unassigned": "派单情况",
    "created_from": "报修日期起",
    "created_to": "报修日期止",
    "overdue": "超时",
    "follow_up": "需回访",
    "priority": "优先级",
    "q": "搜索",
    "number": "工单号",
    "content": "报修内容",
    "handled_from": "派单日期起",
    "handled_to": "派单日期止",
    "completed_from": "办结日期起",
    "completed_to": "办结日期止",
    "result": "处理结果",
    "page": "页码",
    "page_size": "每页条数",
    "staff_id": "师傅",
    "reason": "原因",
    "text": "留言",
    "to_same_technician": "派回原师傅",
    "amount_fen": "金额",
    "discount_fen": "优惠金额",
    "waive": "减免",
}
ACTION_LABELS = {
    "file": "报修",
    "file_unpaid": "报修（待支付）",
    "payment_received": "收到付款",
    "assign": "派单",
    "grab": "抢单",
    "accept": "接单",
    "reject": "拒单",
    "transfer": "转单",
    "hold": "待备件",
    "resume": "恢复处理",
    "complete": "办结",
    "rate": "评价",
    "auto_close": "自动关闭",
    "reopen": "重新打开",
    "reopen_to_assignee": "重新打开（派回原师傅）",
    "cancel_by_tenant": "住户取消",
    "cancel_by_desk": "物业取消",
    "adjust_fee": "费用减免/优惠",
    "reschedule": "改约",
    "hold_expired": "未支付超时",
    "escalate": "超时升级",
    "urge": "督办",
    "tenant_urge": "住户催单",
    "return_visit": "回访",
}
ROLE_LABELS = {
    "tenant": "住户",
    "technician": "师傅",
    "dispatcher": "调度",
    "admin": "管理员",
    "system": "系统",
}
MONEY_LABELS = {
    # channels, purposes, payment / refund states, refund sources, ledger kinds
    "wechat": "微信支付",
    "alipay": "支付宝",
    "offline": "线下收款",
    "prepay": "预付",
    "balance": "尾款",
    "creating": "创建中",
    "open": "待支付",
    "paid": "已支付",
    "closing": "关闭中",
    "closed": "已关闭",
    "pending": "待提交",
    "processing": "退款中",
    "success": "成功",
    "abnormal": "异常",
    "cancel": "取消",
    "settlement": "结算多付",
    "desk": "人工退款",
    "late_payment": "取消后到账",
    "charge": "应收",
    "waive": "减免",
    "company_cost": "公司承担",
    "payment": "收款",
    "refund": "退款",
}
CHARGE_KIND_LABELS = {"labor": "工时", "material": "耗材", "service": "服务项", "spec": "服务规格"}
PAYMENT_STATUS_LABELS = {
    "none": "无需支付",
    "unpaid": "未支付",
    "partially_paid": "部分支付",
    "paid": "已支付",
    "refunded": "已退款",
}
# Which of the desk's actions the page offers for an order's status (the use case decides).
OPEN = ("pending", "assigned", "in_progress", "on_hold")
OFFERED = {
    "assign": ("pending", "assigned"),
    "take_back": ("in_progress", "on_hold"),
    "cancel": ("awaiting_payment", *OPEN),
    "reopen": ("completed", "closed"),
    "urge": OPEN,
}

# The permission each action of the order page needs (refunds: `_is_admin`, refunds.act).
ACTION_PERMISSIONS = {
    "assign": Permission.DISPATCH_ACT,
    "take_back": Permission.DISPATCH_ACT,
    "cancel": Permission.ORDERS_ACT,
    "reopen": Permission.ORDERS_ACT,
    "urge": Permission.ORDERS_ACT,
    "message": Permission.ORDERS_ACT,
    "adjust_fee": Permission.MONEY_ACT,
}

_QUERY = DeskOrderQueryArgsSchema()
_BOARD = DeskOrderPageSchema()
_DETAIL = OrderDetailSchema()
_MONEY = OrderMoneySchema()
_TECHNICIANS = StaffListItemSchema(many=True)


# -- the board ---------------------------------------------------------------------------


def _query_args() -> dict[str, Any]:
    """The URL's filters as the JSON API reads them (repeatable lists, blanks ignored)."""
    data: dict[str, Any] = {}
    for name, field in _QUERY.fields.items():
        if name == "format":
            continue
        if isinstance(field, fields.List):
            values = [v for v in request.args.getlist(name) if v.strip()]
            if values:
                data[name] = values
        else:
            value = request.args.get(name, "").strip()
            if value:
                data[name] = value
    return data


def _filters(args: dict[str, Any]) -> lists.DeskFilters:
    return lists.DeskFilters.from_args(args)


def _flat(errors: Any) -> list[str]:
    """marshmallow's messages as one line each, with the field's Chinese name."""
    out: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            label = FIELD_LABELS.get(str(key), "" if key == "_schema" else str(key))
            for text in _flat(value):
                out.append(f"{label}：{text}" if label else text)
    elif isinstance(errors, list):
        for item in errors:
            out.extend(_flat(item))
    else:
        out.append(str(errors))
    return out


def _choices() -> dict[str, Any]:
    """What the filter selects offer: names only, in one round trip (the assign picker, on
    the order page, is the one that shows load and caps)."""
    found = choices.board_choices(session(), org_id=principal().org_id)
    return {
        "order_types": found.order_types,
        "communities": found.communities,
        "buildings": found.buildings,
        "technicians": found.technicians,
    }


def _technicians() -> list[dict[str, Any]]:
    """Active technicians with department, on-duty, held and cap (as `GET /admin/staff`)."""
    staff = members.list_staff(
        session(),
        org_id=principal().org_id,
        role=Role.TECHNICIAN.value,
        is_active=True,
        page=1,
        page_size=100,
    )
    return list(_TECHNICIANS.dump(staff.items))


@bp.get("/orders")
@desk_page
def orders_board() -> Any:
    raw = _query_args()
    errors: list[str] = []
    listing: dict[str, Any] | None = None
    try:
        args = _QUERY.load(raw)
    except ValidationError as exc:
        errors = _flat(exc.messages)
    else:
        listing = _BOARD.dump(
            lists.desk_orders(
                session(),
                org_id=principal().org_id,
                filters=_filters(args),
                now=now(),
                tz=LOCAL_TZ,
                page=args["page"],
                page_size=args["page_size"],
            )
        )
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "page" and v.strip()]
    export_query = urlencode([(k, v) for k, v in kept if k not in ("page_size", "format")])

    def page_url(n: int) -> str:
        return "/console/orders?" + urlencode([*kept, ("page", str(n))])

    return page(
        "console/orders.html",
        nav="orders",
        listing=listing,
        errors=errors,
        raw=raw,
        statuses=request.args.getlist("status"),
        status_labels=[(s.value, label) for s, label in LABELS.items()],
        page_sizes=PAGE_SIZES,
        page_url=page_url,
        export_query=export_query,
        **_choices(),
    )


@bp.get("/orders/export.<any(csv, xlsx):fmt>")
@desk_page
def orders_export(fmt: str) -> Any:
    """The board's matches as a file: the API's export (`format=csv|xlsx`), same columns."""
    try:
        args = _QUERY.load(_query_args())
    except ValidationError:
        return redirect("/console/orders?" + request.query_string.decode("latin-1"), code=303)
    filters = _filters(args)
    org_id, instant = principal().org_id, now()
    total = order_export.count_export(
        session(), org_id=org_id, filters=filters, now=instant, tz=LOCAL_TZ
    )
    if fmt == "csv":
        body: Any = stream_with_context(
            _csv_stream(container().db, replica_allowed(), org_id, filters, instant)
        )
        media_type = order_export.CSV_MEDIA_TYPE
    else:
        # The rows are read in batches through a server-side cursor, which needs a
        # transaction: a unit of work of its own (a page's own is autocommit, read-only).
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
    record_export("工单列表", fmt=fmt, rows=min(total, order_export.MAX_EXPORT_ROWS))
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Total-Count"] = str(total)
    truncated = total > order_export.MAX_EXPORT_ROWS
    response.headers["X-Export-Truncated"] = "true" if truncated else "false"
    return response


def _csv_stream(
    db: Database, on_replica: bool, org_id: int, filters: lists.DeskFilters, instant: datetime
) -> Iterator[bytes]:
    # Streamed after the request's unit of work closed: the rows come from a session of
    # their own, closed when the stream ends or is abandoned (as the API's export).
    uow = db.unit_of_work(on_replica=on_replica)
    try:
        rows = order_export.export_rows(
            uow.session, org_id=org_id, filters=filters, now=instant, tz=LOCAL_TZ
        )
        yield from order_export.csv_chunks(rows)
    finally:
        uow.close()


# -- one order -----------------------------------------------------------------------------


def _actor() -> Actor:
    caller = principal()
    role = Role.DISPATCHER.value if Role.DISPATCHER.value in caller.roles else Role.ADMIN.value
    return Actor(user_id=caller.user_id, org_id=caller.org_id, role=role)


def _is_admin() -> bool:
    """Whether the caller may refund (an admin's, or a role's, 退款 permission)."""
    return principal().may(Permission.REFUNDS_ACT.value)


def _order(order_id: int) -> Any:
    return lists.desk_order(session(), org_id=principal().org_id, order_id=order_id)


def _not_found(exc: DomainError) -> Response:
    return page("console/error.html", status=404, title="工单不存在", message=exc.message)


def _order_page(
    order_id: int,
    *,
    refused: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    try:
        order = _order(order_id)
    except NotFound as exc:
        return _not_found(exc)
    shown = _DETAIL.dump(detail.order_detail(session(), order=order))
    money = _MONEY.dump(
        records.order_money(session(), org_id=principal().org_id, order_id=order.id)
    )
    technicians = _technicians()
    type_id = shown["order_type"]["id"]
    for tech in technicians:
        tech["takes_type"] = any(t["id"] == type_id for t in tech["eligible_order_types"])
    names = {tech["id"]: tech["name"] for tech in technicians}
    for event in shown["timeline"]:
        handed = event["action"] in ("assign", "transfer")
        target = (event.get("data") or {}).get("assignee_id")
        event["assignee_name"] = names.get(target, "") if handed else ""
    status = shown["status"]
    offered = {name: status in states for name, states in OFFERED.items()}
    offered["message"] = status != Status.CANCELLED.value
    offered["adjust_fee"] = status != Status.CANCELLED.value
    offered["refund"] = _is_admin() and money["paid_fen"] - money["refunded_fen"] > 0
    # What the caller's roles do not allow is not offered (the use cases refuse it anyway).
    caller = principal()
    for name, needed in ACTION_PERMISSIONS.items():
        if not caller.may(needed.value):
            offered[name] = False
    done = request.args.get("done", "")
    refused = refused or {}
    # A refusal of an action this status does not offer: shown at the top of the actions.
    has_form = dict(offered, assign=offered["assign"] or offered["take_back"])
    has_form["take_back"] = has_form["assign"]
    elsewhere = {name: text for name, text in refused.items() if not has_form.get(name)}
    return page(
        "console/order.html",
        nav="orders",
        may_act=caller.may(Permission.ORDERS_ACT.value),
        cancel_reasons=dictionary.choices(
            session(), org_id=principal().org_id, name="cancel_reasons"
        ),
        o=shown,
        money=money,
        technicians=technicians,
        offered=offered,
        refused=refused,
        elsewhere=elsewhere,
        form=form or {},
        done=DONE.get(done, ""),
        action_labels=ACTION_LABELS,
        role_labels=ROLE_LABELS,
        money_labels=MONEY_LABELS,
        charge_kind_labels=CHARGE_KIND_LABELS,
        payment_status_labels=PAYMENT_STATUS_LABELS,
        status_labels={s.value: label for s, label in LABELS.items()},
    )


@bp.get("/orders/<int:order_id>")
@desk_page
def order_page(order_id: int) -> Any:
    return _order_page(order_id)


@bp.get("/orders/<int:order_id>/images/<string:upload_id>")
@desk_page
def order_image(order_id: int, upload_id: str) -> Any:
    """A photo of the order for the desk's browser: the API's image (`GET /uploads/{id}`
    wants a Bearer token), under the same visibility rule (`uploads.access`)."""
    try:
        _order(order_id)
        upload = access.visible_upload(
            session(), viewer=principal(), upload_id=upload_id, now=now()
        )
    except NotFound:
        return Response("", status=404)
    path = upload_service.upload_path(upload_dir=container().settings.upload_dir, upload=upload)
    if not path.is_file():
        return Response("", status=404)
    response = send_file(path, mimetype=upload.content_type, etag=upload.sha256)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers.pop("Expires", None)
    return response


DONE = {
    "assign": "已派单",
    "take_back": "已改派",
    "cancel": "已取消工单",
    "reopen": "已重新打开",
    "urge": "已督办",
    "message": "留言已发送",
    "adjust_fee": "已调整费用",
    "refund": "已提交退款",
}


def _int(value: str) -> int | str:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else value


def _yuan_to_fen(value: str) -> int | str:
    """A yuan amount typed by the desk (two decimals at most) as fen; else the text as is
    (the schema then refuses it)."""
    text = value.strip()
    if not text:
        return 0
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return text
    fen = amount * 100
    if fen != fen.to_integral_value() or not amount.is_finite():
        return text
    return int(fen)


def _checked(name: str) -> bool:
    return request.form.get(name, "") in ("1", "on", "true")


class _YuanArgs(Schema):
    """Amounts typed in yuan: a text that is not one is refused here, in the desk's words."""

    amount = fields.Integer(
        strict=True, error_messages={"invalid": "请输入金额（元，最多两位小数）"}
    )


_YUAN = _YuanArgs()


def _run(order_id: int, name: str, act: Callable[[int], Any]) -> Response:
    """One of the desk's actions: PRG on success; a refusal rolls back and is shown beside
    the action's button (200)."""
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        order = _order(order_id)
    except NotFound as exc:
        return _not_found(exc)
    try:
        act(order.id)
    except ValidationError as exc:
        discard_changes()
        return _order_page(order_id, refused={name: "；".join(_flat(exc.messages))}, form=form)
    except DomainError as exc:
        discard_changes()
        messages = _flat(exc.errors) if exc.errors else []
        return _order_page(order_id, refused={name: "；".join(messages) or exc.message}, form=form)
    return redirect(f"/console/orders/{order_id}?done={name}", code=303)  # type: ignore[return-value]


@bp.post("/orders/<int:order_id>/assign")
@desk_page
def order_assign(order_id: int) -> Any:
    take_back = _checked("take_back")

    def act(oid: int) -> None:
        data = AssignSchema().load(
            {"staff_id": _int(request.form.get("staff_id", "")), "take_back": take_back}
        )
        handout.assign_order(
            session(),
            actor=_actor(),
            order_id=oid,
            staff_id=data["staff_id"],
            take_back=data["take_back"],
            now=now(),
        )

    return _run(order_id, "take_back" if take_back else "assign", act)


@bp.post("/orders/<int:order_id>/cancel")
@desk_page
def order_cancel(order_id: int) -> Any:
    def act(oid: int) -> None:
        sent = {
            "reason_code": request.form.get("reason_code", ""),
            "reason": request.form.get("reason", ""),
        }
        data = CancelSchema().load({k: v for k, v in sent.items() if v.strip()})
        reason = dictionary.reason_text(
            session(),
            org_id=principal().org_id,
            name="cancel_reasons",
            code=data.get("reason_code"),
            note=data.get("reason"),
        )
        steps.cancel_order(session(), actor=_actor(), order_id=oid, reason=reason, now=now())

    return _run(order_id, "cancel", act)


@bp.post("/orders/<int:order_id>/reopen")
@desk_page
def order_reopen(order_id: int) -> Any:
    def act(oid: int) -> None:
        data = DeskReopenSchema().load(
            {
                "reason": request.form.get("reason", ""),
                "to_same_technician": request.form.get("to", "pool") == "same",
            }
        )
        handout.reopen_order(
            session(),
            actor=_actor(),
            order_id=oid,
            reason=data["reason"],
            now=now(),
            to_same_technician=data["to_same_technician"],
        )

    return _run(order_id, "reopen", act)


@bp.post("/orders/<int:order_id>/urge")
@desk_page
def order_urge(order_id: int) -> Any:
    def act(oid: int) -> None:
        data = UrgeSchema().load({"reason": request.form.get("reason", "")})
        urging.urge_order(session(), actor=_actor(), order_id=oid, reason=data["reason"], now=now())

    return _run(order_id, "urge", act)


@bp.post("/orders/<int:order_id>/messages")
@desk_page
def order_message(order_id: int) -> Any:
    def act(oid: int) -> None:
        data = MessageCreateSchema().load({"text": request.form.get("text", "")})
        post_message(
            session(),
            actor=_actor(),
            order=_order(oid),
            text=data["text"],
            image_ids=data["image_ids"],
            now=now(),
        )

    return _run(order_id, "message", act)


@bp.post("/orders/<int:order_id>/fee-adjustments")
@desk_page
def order_adjust_fee(order_id: int) -> Any:
    def act(oid: int) -> None:
        waive = _checked("waive")
        discount = 0 if waive else _yuan_to_fen(request.form.get("discount", ""))
        _YUAN.load({"amount": discount})
        data = FeeAdjustSchema().load(
            {"waive": waive, "discount_fen": discount, "reason": request.form.get("reason", "")}
        )
        fees.adjust_fee(
            session(),
            actor=_actor(),
            order_id=oid,
            waive=data["waive"],
            discount_fen=data["discount_fen"],
            reason=data["reason"],
            now=now(),
        )

    return _run(order_id, "adjust_fee", act)


@bp.post("/orders/<int:order_id>/refunds")
@desk_page
def order_refund(order_id: int) -> Any:
    def act(oid: int) -> None:
        # As `POST /admin/orders/{id}/refunds`: admins only (the route's role, not the use case's).
        if not _is_admin():
            raise Forbidden()
        amount = _yuan_to_fen(request.form.get("amount", ""))
        _YUAN.load({"amount": amount})
        data = RefundCreateSchema().load(
            {"amount_fen": amount, "reason": request.form.get("reason", "")}
        )
        caller = principal()
        refunding.desk_refund(
            session(),
            actor=Actor(user_id=caller.user_id, org_id=caller.org_id, role=Role.ADMIN.value),
            order_id=oid,
            amount_fen=data["amount_fen"],
            reason=data["reason"],
            now=now(),
        )

    return _run(order_id, "refund", act)
