"""Technician app: the grab pool, my orders, and every step of working a job."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.common import page_of
from schemas.orders import (
    CompleteSchema,
    GrabbedOrderSchema,
    HoldSchema,
    MessageCreateSchema,
    OrderDetailSchema,
    OrderSchema,
    PoolQueryArgsSchema,
    PoolSchema,
    RejectSchema,
    StaffOrderCreateSchema,
    TechOrderQueryArgsSchema,
    TransferSchema,
)
from server.dictionary import items as dictionary
from server.kernel.errors import Forbidden, NotFound
from server.kernel.roles import Role
from server.orders import detail, handout, steps, summaries
from server.orders import pool as order_pool
from server.orders.actors import Actor, staff_actor
from server.orders.capacity import Technician, technician
from server.orders.filing import NewOrder, file_order
from server.orders.messages import post_message
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session, today

blp = Blueprint("tech", __name__, url_prefix="/api/v1/tech", description="维修工 App")

TECH = (Role.TECHNICIAN,)
STAFF = (Role.TECHNICIAN, Role.DISPATCHER, Role.ADMIN)
DESK_ROLES = frozenset({Role.DISPATCHER.value, Role.ADMIN.value})


def _actor(role: str = Role.TECHNICIAN.value) -> Actor:
    caller = principal()
    return staff_actor(
        session(), user_id=caller.user_id, org_id=caller.org_id, role=role, staff_id=caller.staff_id
    )


def _me() -> Technician:
    actor = _actor()
    assert actor.staff_id is not None
    tech = technician(session(), org_id=actor.org_id, staff_id=actor.staff_id)
    if tech is None:
        raise Forbidden("您没有员工档案，请联系管理员")
    return tech


def _detail(order: Any) -> Any:
    """The order in full; the contact's phone whole to the desk and to its holder only."""
    caller = principal()
    staff_id = caller.staff_id if caller.staff_id is not None else _actor().staff_id
    desk = bool(caller.roles & DESK_ROLES)
    return detail.order_detail(
        session(),
        order=order,
        contact_revealed=detail.reveals_contact(order, staff_id=staff_id, desk=desk),
    )


@blp.get("/pool")
@blp.auth(*TECH)
@blp.read_only()
@blp.arguments(PoolQueryArgsSchema, location="query")
@blp.response(200, PoolSchema)
def pool(args: dict[str, Any]) -> Any:
    """抢单池：我可以抢的待接单工单，附我手上的单数与上限"""
    actor = _actor()  # the staff id is in the token; older tokens have it looked up
    assert actor.staff_id is not None
    result = order_pool.technician_pool(
        session(),
        org_id=actor.org_id,
        staff_id=actor.staff_id,
        page=args["page"],
        page_size=args["page_size"],
        sort=args["sort"],
    )
    if result is None:
        raise Forbidden("您没有员工档案，请联系管理员")
    return {
        "items": result.page.items,
        "total": result.page.total,
        "page": result.page.page,
        "page_size": result.page.page_size,
        "held": result.held,
        "cap": result.cap,
    }


@blp.post("/orders/<int:order_id>/grab")
@blp.auth(*TECH)
@blp.response(200, GrabbedOrderSchema)
@blp.alt_response(409, description="order_taken：已被抢走；grab_limit_reached：已达上限")
def grab(order_id: int) -> Any:
    """抢单：成功返回工单（列表形式，联系电话完整：工单已在我名下）；详情见 GET /tech/orders/{id}"""
    actor = _actor()
    handout.grab_order(session(), actor=actor, order_id=order_id, now=now())
    return summaries.order_summary(session(), org_id=actor.org_id, order_id=order_id)


@blp.route("/orders")
class TechOrders(MethodView):
    @blp.auth(*TECH)
    @blp.read_only()
    @blp.arguments(TechOrderQueryArgsSchema, location="query")
    @blp.response(200, page_of(OrderSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """我的工单"""
        return order_pool.technician_orders(
            session(),
            tech=_me(),
            statuses=args.get("status"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(*STAFF)
    @blp.idempotent()
    @blp.arguments(StaffOrderCreateSchema)
    @blp.response(201, OrderDetailSchema)
    @blp.alt_response(
        403, description="forbidden：角色不允许，或维修工为收费子类选择公司代付（须调度员或管理员）"
    )
    @blp.alt_response(
        409, description="idempotency_conflict；slot_full：时段已约满；slot_unavailable：时段不可约"
    )
    def post(self, data: dict[str, Any]) -> Any:
        """员工代住户报修（可选公司代付）

        收费子类（下单即收费或完成后收费）选择 `payer: company` 仅限调度员或管理员，
        维修工提交将返回 403 forbidden；公司代付的决定人记录在工单时间线的报修事件中。
        """
        roles = principal().roles
        # The capacity of the filing: the desk's when the caller holds a desk role, so that a
        # desk decision (公司代付) is recorded as one.
        role = next(
            (r.value for r in (Role.DISPATCHER, Role.ADMIN) if r.value in roles),
            Role.TECHNICIAN.value,
        )
        actor = _actor(role=role)
        order = file_order(
            session(),
            actor=actor,
            new=NewOrder(
                subtype_id=data["subtype_id"],
                room_id=data["room_id"],
                description=data["description"],
                image_ids=tuple(data["image_ids"]),
                contact_phone=data["contact_phone"],
                contact_name=data.get("contact_name"),
                priority=data["priority"],
                payer=data["payer"],
                slot_start=data["slot_start"],
                spec_id=data["spec_id"],
            ),
            now=now(),
            today=today(),
        )
        return _detail(order)


@blp.get("/orders/<int:order_id>")
@blp.auth(*TECH)
@blp.read_only()
@blp.response(200, OrderDetailSchema)
@blp.alt_response(404, description="不在我名下也不在我的抢单池")
def order(order_id: int) -> Any:
    """工单详情（我名下的，或我抢单池中的）"""
    actor = _actor()
    assert actor.staff_id is not None
    found = order_pool.staff_order(
        session(), org_id=actor.org_id, staff_id=actor.staff_id, order_id=order_id
    )
    if found is None:
        _me()  # no staff record: 403, as before; else the order is not theirs to see
        raise NotFound("工单不存在")
    return _detail(found)


@blp.post("/orders/<int:order_id>/accept")
@blp.auth(*TECH)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition")
def accept(order_id: int) -> Any:
    """跟进（接受指派）"""
    return _detail(steps.accept_order(session(), actor=_actor(), order_id=order_id, now=now()))


@blp.post("/orders/<int:order_id>/reject")
@blp.auth(*TECH)
@blp.arguments(RejectSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition")
def reject(data: dict[str, Any], order_id: int) -> Any:
    """拒绝指派（退回抢单池，须填原因）"""
    return _detail(
        steps.reject_order(
            session(),
            actor=_actor(),
            order_id=order_id,
            reason=_reason(data, "reject_reasons"),
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/transfer")
@blp.auth(*TECH)
@blp.arguments(TransferSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="grab_limit_reached：对方已达上限；invalid_transition")
def transfer(data: dict[str, Any], order_id: int) -> Any:
    """转单给其他可接此类工单的师傅"""
    return _detail(
        handout.transfer_order(
            session(),
            actor=_actor(),
            order_id=order_id,
            staff_id=data["staff_id"],
            reason=_reason(data, "transfer_reasons"),
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/hold")
@blp.auth(*TECH)
@blp.arguments(HoldSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition")
def hold(data: dict[str, Any], order_id: int) -> Any:
    """挂起（待备件）"""
    return _detail(
        steps.hold_order(
            session(),
            actor=_actor(),
            order_id=order_id,
            reason=_reason(data, "hold_reasons"),
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/resume")
@blp.auth(*TECH)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition")
def resume(order_id: int) -> Any:
    """恢复处理"""
    return _detail(steps.resume_order(session(), actor=_actor(), order_id=order_id, now=now()))


@blp.post("/orders/<int:order_id>/complete")
@blp.auth(*TECH)
@blp.arguments(CompleteSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(409, description="invalid_transition")
def complete(data: dict[str, Any], order_id: int) -> Any:
    """办结（填写处理结果，可附照片）"""
    return _detail(
        steps.complete_order(
            session(),
            actor=_actor(),
            order_id=order_id,
            result=data["result"],
            image_ids=data["image_ids"],
            now=now(),
        )
    )


@blp.post("/orders/<int:order_id>/messages")
@blp.alt_response(409, description="invalid_transition：已取消的工单不能再留言")
@blp.auth(*TECH)
@blp.arguments(MessageCreateSchema)
@blp.response(201, OrderDetailSchema)
def message(data: dict[str, Any], order_id: int) -> Any:
    """给住户留言"""
    order = order_pool.technician_order(session(), tech=_me(), order_id=order_id)
    post_message(
        session(),
        actor=_actor(),
        order=order,
        text=data["text"],
        image_ids=data["image_ids"],
        now=now(),
    )
    return _detail(order)


def _reason(data: dict[str, Any], list_name: str) -> str:
    """The reason as the timeline keeps it: the chosen item's name (数据字典 `list_name`, an
    enabled item of the organisation, else 422), then the technician's own words."""
    return dictionary.reason_text(
        session(),
        org_id=principal().org_id,
        name=list_name,
        code=data.get("reason_code"),
        note=data.get("reason"),
    )
