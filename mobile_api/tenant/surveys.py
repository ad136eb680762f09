"""Tenant endpoints: the open surveys (满意度调查) that reach my rooms, and answering them."""

from __future__ import annotations

from typing import Any

from schemas.common import PageArgsSchema, page_of
from schemas.surveys import AnswerCreateSchema, TenantSurveySchema
from server.accounts.auth import active_user
from server.kernel.roles import Role
from server.surveys import answering
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session, today

blp = Blueprint(
    "tenant_surveys", __name__, url_prefix="/api/v1/tenant", description="住户：满意度调查"
)


def _tenant() -> Any:
    caller = principal()
    return active_user(session(), user_id=caller.user_id, org_id=caller.org_id)


@blp.get("/surveys")
@blp.auth(Role.TENANT)
@blp.read_only()
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_of(TenantSurveySchema))
def surveys(args: dict[str, Any]) -> Any:
    """进行中的问卷：范围包括我今天关联的房间"""
    return answering.my_surveys(
        session(), user=_tenant(), today=today(), page=args["page"], page_size=args["page_size"]
    )


@blp.get("/surveys/<int:survey_id>")
@blp.auth(Role.TENANT)
@blp.read_only()
@blp.response(200, TenantSurveySchema)
def survey(survey_id: int) -> Any:
    """问卷与题目"""
    return answering.my_survey(session(), user=_tenant(), survey_id=survey_id, today=today())


@blp.post("/surveys/<int:survey_id>/answers")
@blp.auth(Role.TENANT)
@blp.idempotent()
@blp.arguments(AnswerCreateSchema)
@blp.response(201, TenantSurveySchema)
@blp.alt_response(
    409,
    description="already_answered：已填写过（每人或每个房间只能填写一次）；idempotency_conflict",
)
def answer(data: dict[str, Any], survey_id: int) -> Any:
    """提交答卷：单选填 choice，多选填 choices，打分填 scale（1–5），文字题填 text"""
    return answering.answer(
        session(),
        user=_tenant(),
        survey_id=survey_id,
        room_id=data["room_id"],
        given=[answering.GivenAnswer(**item) for item in data["answers"]],
        today=today(),
        now=now(),
    )
