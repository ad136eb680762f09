"""Tenant endpoints: the rooms a resident or tenant employee may file for."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from schemas.booking import RescheduleSchema
from schemas.common import page_of
from schemas.directory import TenantRoomListSchema
from schemas.orders import (
    CancelSchema,
    MessageCreateSchema,
    OrderCreateSchema,
    OrderDetailSchema,
    OrderSchema,
    RatingSchema,
    ReasonSchema,
    TenantOrderQueryArgsSchema,
)
from schemas.payments import PaymentAnswerSchema, PaymentCreateSchema
from server.accounts.auth import active_user
from server.dictionary import items as dictionary
from server.directory.tenancy import rooms_for_tenant
from server.kernel.errors import UrgeTooSoon, ValidationFailed
from server.kernel.roles import Role
from server.orders import detail, handout, lists, steps, urging
from server.orders.actors import Actor
from server.orders.filing import NewOrder, file_order
from server.orders.messages import post_message
from server.orders.moves import load_order
from server.payments import checkout
from server.web.blueprint import IDEMPOTENCY_HEADER, Blueprint, request_hash
from server.web.context import container, now, principal, session, today
from server.web.errors import error_response

blp = Blueprint("tenant", __name__, url_prefix="/api/v1/tenant", description="住户 / 租户")


@blp.get("/rooms")
@blp.auth(Role.TENANT)
@blp.response(200, TenantRoomListSchema)
def rooms() -> dict[str, Any]:
    """我可以报修的房间（通过我的联系人记录关联，且在有效期内）"""
    caller = principal()
    user = active_user(session(), user_id=caller.user_id, org_id=caller.org_id)
    return {"items": rooms_for_tenant(session(), user=user, today=today())}


def _tenant() -> Any:
    caller = principal()
    return active_user(session(), user_id=caller.user_id, org_id=caller.org_id)


def _actor() -> Actor:
    caller = principal()
    return Actor(user_id=caller.user_id, org_id=caller.org_id, role=Role.TENANT.value)


def _visible(order_id: int) -> Any:
    return lists.tenant_order(session(), user=_tenant(), order_id=order_id, today=today())


def _detail(order: Any) -> Any:
    return detail.order_detail(session(), order=order)


@blp.route("/orders")
class TenantOrders(MethodView):
    @blp.auth(Role.TENANT)
    @blp.read_only()
    @blp.arguments(TenantOrderQueryArgsSchema, location="query")
    @blp.response(200, page_of(OrderSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """我的报修（box=todo：待我支付或评价）

        包括：我提交的报修（始终可见）；以及我（或同一客户的家庭成员、同事）当前关联的房间在
        关联有效期内（按北京时间日期，含起止日）提交的报修。关联结束后只保留我本人提交的。
        """
        return lists.tenant_orders(
            session(),
            user=_tenant(),
            box=args["box"],
            statuses=args.get("status"),
            today=today(),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Role.TENANT)
    @blp.idempotent()
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderDetailSchema)
    @blp.alt_response(
        409, description="idempotency_conflict；slot_full：时段已约满；slot_unavailable：时段不可约"
    )
    def post(self, data: dict[str, Any]) -> Any:
        """报修：选择房间与子类，描述问题，可附最多 9 张照片；预约子类须选时段（slot_start）"""
        order = file_order(
            session(),
            actor=_actor(),
            new=NewOrder(
                subtype_id=data["subtype_id"],
                room_id=data["room_id"],
                description=data["description"],
                image_ids=tuple(data["image_ids"]),
                contact_phone=data.get("contact_phone"),
                contact_name=data.get("contact_name"),
                priority=data["priority"],
                slot_start=data["slot_start"],
                spec_id=data["spec_id"],
            ),
            now=now(),
            today=today(),
        )
        return _detail(order)


@blp.get("/orders/<int:order_id>")
@blp.auth(Role.TENANT)
@blp.read_only()
@blp.response(200, OrderDetailSchema)
@blp.alt_response(404, description="工单不存在或不属于我的房间")
def order(order_id: int) -> Any:
    """报修详情：进度时间线、费用、留言"""
    return _detail(_visible(order_id))


@blp.post("/orders/<int:order_id>/messages")
@blp.alt_response(409, description="invalid_transition：已取消的工单不能再留言")
@blp.auth(Role.TENANT)
@blp.arguments(MessageCreateSchema)
@blp.response(201, OrderDetailSchema)
@blp.alt_response(404, description="工单不存在或不属于我的房间")
def message(data: dict[str, Any], order_id: int) -> Any:
    """给物业留言"""
    # No access check here: like every step below, the use case refuses (404) an order the
    # tenant may not see, whoever calls it.
    actor = _actor()
    order = load_order(session(), org_id=actor.org_id, order_id=order_id)
    post_message(
        session(),
        actor=actor,
        order=order,
        text=data["text"],
        image_ids=data["image_ids"],
        now=now(),
    )
    return _detail(order)


@blp.post("/orders/<int:order_id>/cancel")
@blp.auth(Role.TENANT)
@blp.arguments(CancelSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition：已开始处理的工单不能取消")
@blp.alt_response(404, description="工单不存在或不属于我的房间")
def cancel(data: dict[str, Any], order_id: int) -> Any:
    """取消报修（开始处理前）"""
    return _detail(
        steps.cancel_order(
            session(), actor=_actor(), order_id=order_id, reason=_cancel_reason(data), now=now()
        )
    )


@blp.post("/orders/<int:order_id>/reschedule")
@blp.auth(Role.TENANT)
@blp.arguments(RescheduleSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(
    409,
    description="slot_full / slot_unavailable：新时段不可约；invalid_transition：已开始处理",
)
@blp.alt_response(404, description="工单不存在或不属于我的房间")
def reschedule(data: dict[str, Any], order_id: int) -> Any:
    """改约：开始处理前改到另一个时段（新时段约满则原时段保留）"""
    return _detail(
        steps.reschedule_order(
            session(), actor=_actor(), order_id=order_id, slot_start=data["slot_start"], now=now()
        )
    )


@blp.post("/orders/<int:order_id>/rating")
@blp.auth(Role.TENANT)
@blp.arguments(RatingSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition：未办结或已评价")
@blp.alt_response(402, description="payment_required：请先支付尾款再评价")
@blp.alt_response(404, description="工单不存在或不属于我的房间")
def rate(data: dict[str, Any], order_id: int) -> Any:
    """评价（1–5 分），评价后工单关闭；2 分及以下物业将回访"""
    return _detail(
        steps.rate_order(
            session(),
            actor=_actor(),
            order_id=order_id,
            score=data["score"],
            comment=data["comment"],
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/reopen")
@blp.auth(Role.TENANT)
@blp.arguments(ReasonSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition / reopen_window_passed")
@blp.alt_response(404, description="工单不存在或不属于我的房间")
def reopen(data: dict[str, Any], order_id: int) -> Any:
    """没修好：重新打开（办结后限定天数内）"""
    return _detail(
        handout.reopen_order(
            session(), actor=_actor(), order_id=order_id, reason=data["reason"], now=now()
        )
    )


@blp.post("/orders/<int:order_id>/urge")
@blp.auth(Role.TENANT)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(404, description="工单不存在或不属于我的房间")
@blp.alt_response(
    409,
    description="urge_too_soon：报修后等待未满或距上次催单过近，"
    "message 说明何时可再催（北京时间），Retry-After 为需等待的秒数；"
    "invalid_transition：工单已办结、已取消或待支付",
    headers={
        "Retry-After": {
            "description": "urge_too_soon 时：再次催单前需等待的秒数",
            "schema": {"type": "integer"},
        }
    },
)
def urge(order_id: int) -> Any:
    """催单：报修等待超过机构设定的时间后可催，每次催单间隔不少于机构设定；物业与处理师傅收到提醒"""
    try:
        order = urging.tenant_urge_order(session(), actor=_actor(), order_id=order_id, now=now())
    except UrgeTooSoon as exc:
        return error_response(
            exc.status, exc.error, exc.message, headers={"Retry-After": str(exc.retry_after)}
        )
    return _detail(order)


@blp.post("/orders/<int:order_id>/payments")
@blp.auth(Role.TENANT)
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
@blp.arguments(PaymentCreateSchema)
@blp.response(200, PaymentAnswerSchema)
@blp.alt_response(404, description="工单不存在或不属于我的房间")
@blp.alt_response(
    409,
    description="already_paid：已支付；nothing_to_pay：当前无需支付；"
    "idempotency_conflict：同一 Idempotency-Key 用于不同请求",
)
@blp.alt_response(422, description="validation_error：渠道未开通或未配置、未用微信登录")
@blp.alt_response(502, description="upstream_error：支付渠道返回异常")
@blp.alt_response(503, description="upstream_unavailable：支付渠道暂时不可用，可用同一请求重试")
def pay(data: dict[str, Any], order_id: int) -> Any:
    """支付：按工单当前应付金额（订金 / 全额 / 完工后尾款）下单，返回调起支付所需参数

    金额由服务端计算，不接受客户端金额。金额未变且未过期时再次请求返回同一笔支付；金额变化时
    先在渠道关闭旧的支付单。支付结果以渠道通知或查单为准（小程序的成功回调不代表已支付）。
    """
    # The provider is called between two short transactions of its own: this view opens none.
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = key.strip()
        if not 1 <= len(key) <= 128 or not key.isprintable():
            raise ValidationFailed.field("Idempotency-Key", "长度应为 1–128 个可见字符")
    wiring = container()
    return checkout.pay(
        wiring.db,
        wiring.settings,
        actor=_actor(),
        order_id=order_id,
        channel=data["channel"],
        idempotency_key=key,
        request_hash=request_hash(),
        now=now(),
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
