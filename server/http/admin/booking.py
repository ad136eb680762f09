"""Console: booking slots (预约时段) — settings per subtype, date exceptions, a day's occupancy,
and rescheduling an order (改约) by the desk."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.booking import (
    BookingExceptionSchema,
    BookingSettingsSchema,
    ExceptionListSchema,
    ExceptionQueryArgsSchema,
    OccupancyQueryArgsSchema,
    OccupancySchema,
    RescheduleSchema,
)
from schemas.orders import OrderDetailSchema
from server.booking import settings as booking
from server.booking.occupancy import day_occupancy
from server.booking.rules import format_hhmm
from server.kernel.permissions import Permission
from server.kernel.roles import Role
from server.orders import detail, steps
from server.orders.actors import Actor
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session, today

blp = Blueprint(
    "admin_booking",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：预约时段（设置、例外日期、占用情况、改约）",
)


def _settings(view: booking.SettingsView) -> dict[str, Any]:
    s = view.settings
    return {
        "subtype_id": view.subtype_id,
        "customised": view.customised,
        "enabled": view.enabled,
        "slot_minutes": s.slot_minutes,
        "windows": [{"start": format_hhmm(w.start), "end": format_hhmm(w.end)} for w in s.windows],
        "weekdays": list(s.weekdays),
        "quota": s.quota,
        "desk_reserve": s.desk_reserve,
        "days_ahead": s.days_ahead,
        "lead_minutes": s.lead_minutes,
        "hold_minutes": s.hold_minutes,
        "community_quotas": [
            {"community_id": q.community_id, "quota": q.quota} for q in view.community_quotas
        ],
    }


def _exception(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "date": row.day,
        "slot_time": None if row.slot_minute is None else format_hhmm(row.slot_minute),
        "closed": row.closed,
        "quota": row.quota,
        "note": row.note,
        "created_at": row.created_at,
    }


@blp.route("/booking/subtypes/<int:subtype_id>/settings")
class BookingSettings(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.response(200, BookingSettingsSchema)
    def get(self, subtype_id: int) -> Any:
        """子类的预约设置（未设置时为默认值，customised 为 false）"""
        return _settings(
            booking.booking_settings(session(), org_id=principal().org_id, subtype_id=subtype_id)
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(BookingSettingsSchema)
    @blp.response(200, BookingSettingsSchema)
    @blp.alt_response(409, description="conflict：仍有未来的预约不在新的时段上（请先改约或取消）")
    def put(self, data: dict[str, Any], subtype_id: int) -> Any:
        """保存预约设置：开关、时段长度、每日时间段、星期、每时段上限、预留、提前天数与提前量"""
        new = booking.NewSettings(
            enabled=data["enabled"],
            slot_minutes=data["slot_minutes"],
            windows=[(w["start"], w["end"]) for w in data["windows"]],
            weekdays=data["weekdays"],
            quota=data["quota"],
            desk_reserve=data["desk_reserve"],
            days_ahead=data["days_ahead"],
            lead_minutes=data["lead_minutes"],
            hold_minutes=data["hold_minutes"],
            community_quotas=[
                booking.CommunityQuota(q["community_id"], q["quota"])
                for q in data["community_quotas"]
            ],
        )
        return _settings(
            booking.save_booking_settings(
                session(), org_id=principal().org_id, subtype_id=subtype_id, new=new, now=now()
            )
        )


@blp.route("/booking/subtypes/<int:subtype_id>/exceptions")
class BookingExceptions(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.arguments(ExceptionQueryArgsSchema, location="query")
    @blp.response(200, ExceptionListSchema)
    def get(self, args: dict[str, Any], subtype_id: int) -> Any:
        """例外日期（节假日关闭、当日或某时段另设上限），从 since（默认今天）起"""
        rows = booking.list_exceptions(
            session(),
            org_id=principal().org_id,
            subtype_id=subtype_id,
            since=args.get("since") or today(),
        )
        return {"items": [_exception(row) for row in rows]}

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(BookingExceptionSchema)
    @blp.response(201, BookingExceptionSchema)
    def post(self, data: dict[str, Any], subtype_id: int) -> Any:
        """设置某日（或某时段）的例外：关闭，或另设上限；同一日期时段再次设置即替换"""
        slot_time = data["slot_time"]
        row = booking.save_exception(
            session(),
            org_id=principal().org_id,
            subtype_id=subtype_id,
            new=booking.NewException(
                day=data["date"],
                slot_minute=None
                if slot_time is None
                else int(slot_time[:2]) * 60 + int(slot_time[3:]),
                closed=data["closed"],
                quota=data["quota"],
                note=data["note"],
            ),
            now=now(),
        )
        return _exception(row)


@blp.delete("/booking/exceptions/<int:exception_id>")
@blp.auth(Permission.SETTINGS_ACT)
@blp.response(204)
def delete_exception(exception_id: int) -> None:
    """删除例外：该日恢复常规时段"""
    booking.delete_exception(session(), org_id=principal().org_id, exception_id=exception_id)


@blp.get("/booking/occupancy")
@blp.auth(Permission.ORDERS_VIEW)
@blp.arguments(OccupancyQueryArgsSchema, location="query")
@blp.response(200, OccupancySchema)
def occupancy(args: dict[str, Any]) -> Any:
    """某日各小区各时段的占用：上限、已约与其中的工单"""
    return {
        "items": day_occupancy(
            session(),
            org_id=principal().org_id,
            subtype_id=args["subtype_id"],
            day=args["date"],
            community_id=args.get("community_id"),
            now=now(),
        )
    }


@blp.post("/orders/<int:order_id>/reschedule")
@blp.auth(Permission.ORDERS_ACT)
@blp.arguments(RescheduleSchema)
@blp.response(200, OrderDetailSchema)
@blp.alt_response(
    409,
    description="slot_full / slot_unavailable：新时段不可约；invalid_transition：已办结或无预约",
)
def reschedule(data: dict[str, Any], order_id: int) -> Any:
    """调度改约：把工单的预约移到另一个时段（可用预留名额）"""
    caller = principal()
    role = Role.ADMIN.value if Role.ADMIN.value in caller.roles else Role.DISPATCHER.value
    order = steps.reschedule_order(
        session(),
        actor=Actor(user_id=caller.user_id, org_id=caller.org_id, role=role),
        order_id=order_id,
        slot_start=data["slot_start"],
        now=now(),
    )
    return detail.order_detail(session(), order=order)
