"""Console: satisfaction surveys (满意度调查) — build, open, close, results, export."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from schemas.common import page_of
from schemas.surveys import (
    ExportArgsSchema,
    SurveyCreateSchema,
    SurveyQueryArgsSchema,
    SurveyResultsSchema,
    SurveySchema,
)
from server.kernel.clock import LOCAL_TZ
from server.kernel.permissions import Permission
from server.surveys import building, results
from server.web.audit import record_export
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "admin_surveys", __name__, url_prefix="/api/v1/admin", description="控制台：满意度调查"
)


@blp.route("/surveys")
class Surveys(MethodView):
    @blp.auth(Permission.NOTICES_VIEW)
    @blp.read_only()
    @blp.arguments(SurveyQueryArgsSchema, location="query")
    @blp.response(200, page_of(SurveySchema))
    def get(self, args: dict[str, Any]) -> Any:
        """问卷列表（新建在前）"""
        return building.desk_surveys(
            session(),
            org_id=principal().org_id,
            status=args["status"],
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.NOTICES_ACT)
    @blp.idempotent()
    @blp.arguments(SurveyCreateSchema)
    @blp.response(201, SurveySchema)
    @blp.alt_response(409, description="idempotency_conflict：同一幂等键对应了不同的请求内容")
    def post(self, data: dict[str, Any]) -> Any:
        """新建问卷（草稿）：单选、多选、1–5 分、文字题，可设必答；按人或按房间只答一次"""
        caller = principal()
        return building.create_survey(
            session(),
            org_id=caller.org_id,
            user_id=caller.user_id,
            new=building.NewSurvey(
                title=data["title"],
                description=data["description"],
                answer_per=data["answer_per"],
                scope=data["scope"],
                target_ids=tuple(data["target_ids"]),
                questions=[building.NewQuestion(**q) for q in data["questions"]],
            ),
            now=now(),
        )


@blp.get("/surveys/<int:survey_id>")
@blp.auth(Permission.NOTICES_VIEW)
@blp.read_only()
@blp.response(200, SurveySchema)
def survey(survey_id: int) -> Any:
    """问卷详情"""
    return building.desk_survey(session(), org_id=principal().org_id, survey_id=survey_id)


@blp.post("/surveys/<int:survey_id>/open")
@blp.auth(Permission.NOTICES_ACT)
@blp.response(200, SurveySchema)
@blp.alt_response(409, description="invalid_transition：问卷已开放")
def open_survey(survey_id: int) -> Any:
    """开放问卷（草稿或已结束的）；首次开放时通知范围内的住户"""
    return building.move(
        session(), org_id=principal().org_id, survey_id=survey_id, action="open", now=now()
    )


@blp.post("/surveys/<int:survey_id>/close")
@blp.auth(Permission.NOTICES_ACT)
@blp.response(200, SurveySchema)
@blp.alt_response(409, description="invalid_transition：问卷未开放")
def close_survey(survey_id: int) -> Any:
    """结束问卷：不再接受填写"""
    return building.move(
        session(), org_id=principal().org_id, survey_id=survey_id, action="close", now=now()
    )


@blp.get("/surveys/<int:survey_id>/results")
@blp.auth(Permission.NOTICES_VIEW)
@blp.read_only()
@blp.response(200, SurveyResultsSchema)
def survey_results(survey_id: int) -> Any:
    """统计结果：每题作答人数、选项计数、平均分；按小区、楼栋分列"""
    return results.results(session(), org_id=principal().org_id, survey_id=survey_id)


@blp.get("/surveys/<int:survey_id>/export")
@blp.auth(Permission.NOTICES_VIEW)
@blp.read_only()
@blp.arguments(ExportArgsSchema, location="query")
@blp.response(
    200,
    {"type": "string", "description": "UTF-8（带 BOM）CSV，中文表头；手机号脱敏"},
    content_type=results.CSV_MEDIA_TYPE,
    description="答卷导出（format=csv 或 xlsx）",
)
@blp.alt_response(
    200,
    schema={"type": "string", "format": "binary"},
    content_type=results.XLSX_MEDIA_TYPE,
    description="答卷导出（format=csv 或 xlsx）",
)
def export(args: dict[str, Any], survey_id: int) -> Response:
    """导出答卷（CSV / XLSX，手机号脱敏）"""
    found = building.desk_survey(session(), org_id=principal().org_id, survey_id=survey_id)
    fmt = args["format"]
    body = results.export(session(), survey=found, fmt=fmt, tz=LOCAL_TZ)
    record_export(f"调查「{found.title}」的答卷", fmt=fmt, target_type="survey", target_id=found.id)
    media = results.CSV_MEDIA_TYPE if fmt == "csv" else results.XLSX_MEDIA_TYPE
    response = Response(body, mimetype=media)
    stamp = now().astimezone(LOCAL_TZ)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="survey-{found.id}-{stamp:%Y%m%d-%H%M}.{fmt}"'
    )
    return response
