"""Console: SLA policies (时效规则) and the business calendar (工作日历)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.sla import (
    BusinessCalendarSchema,
    BusinessDaySchema,
    BusinessWeekSchema,
    SlaPolicyListSchema,
    SlaPolicySchema,
)
from server.kernel.permissions import Permission
from server.sla import settings as sla
from server.web.blueprint import Blueprint
from server.web.context import principal, session

blp = Blueprint(
    "admin_sla",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：时效规则与工作日历（督办）",
)


@blp.route("/settings/sla-policies")
class SlaPolicies(MethodView):
    @blp.auth(Permission.SETTINGS_VIEW)
    @blp.response(200, SlaPolicyListSchema)
    def get(self) -> Any:
        """时效规则一览（按报修类型、优先级）"""
        return {"items": sla.list_policies(session(), org_id=principal().org_id)}

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(SlaPolicySchema)
    @blp.response(201, SlaPolicySchema)
    @blp.alt_response(409, description="conflict：该类型（及优先级）已有时效规则")
    def post(self, data: dict[str, Any]) -> Any:
        """新增时效规则：响应与办结时限，是否只计工作时间；对之后新建的工单生效"""
        return sla.create_policy(session(), org_id=principal().org_id, data=data)


@blp.route("/settings/sla-policies/<int:policy_id>")
class SlaPolicy(MethodView):
    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(SlaPolicySchema(partial=True))
    @blp.response(200, SlaPolicySchema)
    @blp.alt_response(409, description="conflict：该类型（及优先级）已有时效规则")
    def patch(self, changes: dict[str, Any], policy_id: int) -> Any:
        """修改时效规则（报修类型不可改）"""
        return sla.update_policy(
            session(), org_id=principal().org_id, policy_id=policy_id, changes=changes
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    def delete(self, policy_id: int) -> None:
        """删除时效规则：该类型回到通用规则或类型的 sla_hours"""
        sla.delete_policy(session(), org_id=principal().org_id, policy_id=policy_id)


@blp.route("/settings/business-calendar")
class BusinessCalendar(MethodView):
    @blp.auth(Permission.SETTINGS_VIEW)
    @blp.response(200, BusinessCalendarSchema)
    def get(self) -> Any:
        """工作日历：工作日、上下班时间（北京时间）与节假日、调休上班日"""
        return sla.get_calendar(session(), org_id=principal().org_id)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(BusinessWeekSchema)
    @blp.response(200, BusinessCalendarSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """设置工作日与上下班时间"""
        return sla.set_week(
            session(),
            org_id=principal().org_id,
            weekdays=data["weekdays"],
            opens=data["opens"],
            closes=data["closes"],
        )


@blp.route("/settings/business-calendar/days")
class BusinessDays(MethodView):
    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(BusinessDaySchema)
    @blp.response(201, BusinessDaySchema)
    @blp.alt_response(409, description="conflict：该日期已设置")
    def post(self, data: dict[str, Any]) -> Any:
        """设置节假日或调休上班日"""
        return sla.add_day(
            session(),
            org_id=principal().org_id,
            day=data["day"],
            kind=data["kind"],
            name=data["name"],
        )


@blp.route("/settings/business-calendar/days/<int:day_id>")
class BusinessDay(MethodView):
    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    def delete(self, day_id: int) -> None:
        """删除节假日或调休上班日"""
        sla.delete_day(session(), org_id=principal().org_id, day_id=day_id)
