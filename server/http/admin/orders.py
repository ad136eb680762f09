"""Console: the order board — list, filter, export, assign, cancel, reopen, talk."""

from __future__ import annotations

from typing import Any

from schemas.common import page_of
from schemas.orders import (
    AssignSchema,
    DeskOrderQueryArgsSchema,
    DeskReopenSchema,
    MessageCreateSchema,
    OrderDetailSchema,
    OrderSchema,
    ReasonSchema,
)
from server.domain.roles import Role
from server.services import order_queries, order_workflow
from server.services.actors import Actor
from server.services.order_messages import post_message
from server.web.blueprint import Blueprint
from server.web.context import LOCAL_TZ, now, principal, session

blp = Blueprint(
    "admin_orders", __name__, url_prefix="/api/v1/admin", description="控制台：工单调度"
)

DESK = (Role.ADMIN, Role.DISPATCHER)

_FILTER_KEYS = (
    "order_type_id",
    "subtype_id",
    "community_id",
    "building_id",
    "room_id",
    "assignee_id",
    "unassigned",
    "created_from",
    "created_to",
    "overdue",
    "follow_up",
    "priority",
    "q",
)


def _actor() -> Actor:
    caller = principal()
    role = Role.DISPATCHER.value if Role.DISPATCHER.value in caller.roles else Role.ADMIN.value
    return Actor(user_id=caller.user_id, org_id=caller.org_id, role=role)


def _order(order_id: int) -> Any:
    return order_queries.desk_order(session(), org_id=principal().org_id, order_id=order_id)


def _detail(order: Any) -> Any:
    return order_queries.order_detail(session(), order=order)


def filters_from(args: dict[str, Any]) -> order_queries.DeskFilters:
    return order_queries.DeskFilters(
        statuses=args.get("status"), **{k: args.get(k) for k in _FILTER_KEYS}
    )


@blp.get("/orders")
@blp.auth(*DESK)
@blp.arguments(DeskOrderQueryArgsSchema, location="query")
@blp.response(200, page_of(OrderSchema))
def orders(args: dict[str, Any]) -> Any:
    """工单列表：按状态、类型、小区、楼栋、师傅、日期、超时、回访筛选"""
    return order_queries.desk_orders(
        session(),
        org_id=principal().org_id,
        filters=filters_from(args),
        now=now(),
        tz=LOCAL_TZ,
        page=args["page"],
        page_size=args["page_size"],
    )


@blp.get("/orders/<int:order_id>")
@blp.auth(*DESK)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(404, description="工单不存在")
def order(order_id: int) -> Any:
    """工单详情"""
    return _detail(_order(order_id))


@blp.post("/orders/<int:order_id>/assign")
@blp.auth(*DESK)
@blp.arguments(AssignSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="grab_limit_reached / order_taken / invalid_transition")
def assign(data: dict[str, Any], order_id: int) -> Any:
    """派单给师傅（受其抢单数上限约束）"""
    return _detail(
        order_workflow.assign_order(
            session(),
            actor=_actor(),
            order_id=_order(order_id).id,
            staff_id=data["staff_id"],
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/cancel")
@blp.auth(*DESK)
@blp.arguments(ReasonSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition：已办结的工单不能取消")
def cancel(data: dict[str, Any], order_id: int) -> Any:
    """取消工单（办结前，须填原因）"""
    return _detail(
        order_workflow.cancel_order(
            session(),
            actor=_actor(),
            order_id=_order(order_id).id,
            reason=data["reason"],
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/reopen")
@blp.auth(*DESK)
@blp.arguments(DeskReopenSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition / reopen_window_passed / grab_limit_reached")
def reopen(data: dict[str, Any], order_id: int) -> Any:
    """重新打开：回到抢单池，或直接派回原处理师傅"""
    return _detail(
        order_workflow.reopen_order(
            session(),
            actor=_actor(),
            order_id=_order(order_id).id,
            reason=data["reason"],
            now=now(),
            to_same_technician=data["to_same_technician"],
        )
    )


@blp.post("/orders/<int:order_id>/messages")
@blp.auth(*DESK)
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
