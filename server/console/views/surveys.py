"""满意度调查: the list, a server-rendered builder (the draft lives in the form: "add a
question" posts it back and the page comes back with one more), open / close, the results per
question and per community / building (tables, with ECharts bars over the same numbers), and
the answers' export (CSV / XLSX, the API's own export code).
"""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request
from marshmallow import ValidationError

from schemas.surveys import (
    ExportArgsSchema,
    SurveyCreateSchema,
    SurveyQueryArgsSchema,
    SurveyResultsSchema,
    SurveySchema,
)
from server.console.blueprint import bp
from server.console.views._service import (
    Refusal,
    claim_form,
    finish_form,
    int_list,
    invalid,
    load_form,
    new_form_token,
    page_url_for,
    query_args,
    refusal_of,
)
from server.console.views.notices import (
    SCOPE_LABELS,
    TARGET_FIELDS,
    pick_targets,
    target_names,
)
from server.console.web import desk_page, discard_changes, page, private
from server.idempotency.keys import Replay
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import DomainError, NotFound
from server.surveys import building, results
from server.surveys.rules import (
    CHOICE_KINDS,
    MAX_QUESTIONS,
    MULTIPLE,
    PER_PERSON,
    PER_ROOM,
    SCALE,
    SCALE_MAX,
    SCALE_MIN,
    SCOPES,
    SINGLE,
    TEXT,
)
from server.web.audit import record_export
from server.web.context import now, principal, session

PAGE_SIZE = 20
STATUS_LABELS = {"draft": "草稿", "open": "进行中", "closed": "已结束"}
KIND_LABELS = {SINGLE: "单选", MULTIPLE: "多选", SCALE: f"{SCALE_MIN}–{SCALE_MAX} 分", TEXT: "文字"}
ANSWER_PER_LABELS = {PER_PERSON: "每人一份", PER_ROOM: "每个房间一份"}
SURVEY_SCOPES = {scope: SCOPE_LABELS[scope] for scope in SCOPES}

_SURVEY = SurveySchema()
_SURVEYS = SurveySchema(many=True)
_RESULTS = SurveyResultsSchema()
_ARGS = SurveyQueryArgsSchema()
_CREATE = SurveyCreateSchema()
_EXPORT = ExportArgsSchema()


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        "answer_per_labels": ANSWER_PER_LABELS,
        "scope_labels": SURVEY_SCOPES,
    }


@bp.get("/surveys")
@desk_page
def surveys() -> Any:
    args = query_args(_ARGS)
    found = building.desk_surveys(
        session(),
        org_id=principal().org_id,
        status=args["status"],
        page=args["page"],
        page_size=PAGE_SIZE,
    )
    listing = {
        "items": _SURVEYS.dump(found.items),
        "total": found.total,
        "page": found.page,
        "page_size": found.page_size,
    }
    return page(
        "console/surveys.html",
        listing=listing,
        args=args,
        page_url=page_url_for("/console/surveys", args),
        nav="surveys",
        **_labels(),
    )


# --- the builder -------------------------------------------------------------------------------


def _blank(kind: str) -> dict[str, Any]:
    options = ["", ""] if kind in CHOICE_KINDS else []
    return {"kind": kind, "text": "", "required": True, "options": "\n".join(options)}


def _draft_from_form() -> dict[str, Any]:
    """The draft as the form holds it (texts as typed; options one per line)."""
    form = request.form
    try:
        count = min(int(form.get("question_count", "0")), MAX_QUESTIONS)
    except ValueError:
        count = 0
    questions = []
    for index in range(max(count, 0)):
        kind = form.get(f"q{index}-kind", "")
        if kind not in KIND_LABELS:
            continue
        questions.append(
            {
                "kind": kind,
                "text": form.get(f"q{index}-text", ""),
                "required": form.get(f"q{index}-required") == "1",
                "options": form.get(f"q{index}-options", ""),
            }
        )
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "answer_per": form.get("answer_per", PER_PERSON),
        "scope": form.get("scope", ""),
        "chosen": {name: int_list(form.getlist(name)) for name in TARGET_FIELDS.values()},
        "questions": questions,
    }


def _request_body(draft: dict[str, Any]) -> dict[str, Any]:
    picker = TARGET_FIELDS.get(draft["scope"])
    return {
        "title": draft["title"],
        "description": draft["description"],
        "answer_per": draft["answer_per"],
        "scope": draft["scope"],
        "target_ids": draft["chosen"][picker] if picker else [],
        "questions": [
            {
                "kind": q["kind"],
                "text": q["text"],
                "required": q["required"],
                "options": [line.strip() for line in q["options"].splitlines() if line.strip()],
            }
            for q in draft["questions"]
        ],
    }


def _builder(draft: dict[str, Any], *, refused: Refusal | None = None, token: str = "") -> Any:
    return page(
        "console/survey_new.html",
        draft=draft,
        refused=refused,
        token=token or new_form_token(),
        scopes=list(SURVEY_SCOPES.items()),
        max_questions=MAX_QUESTIONS,
        communities=pick_targets("communities"),
        buildings=pick_targets("buildings"),
        rooms=pick_targets("rooms"),
        nav="surveys",
        **_labels(),
    )


@bp.get("/surveys/new")
@desk_page
def new_survey() -> Any:
    draft = {
        "title": "",
        "description": "",
        "answer_per": PER_PERSON,
        "scope": "org",
        "chosen": {},
        "questions": [_blank(SCALE)],
    }
    return _builder(draft)


@bp.post("/surveys/new")
@desk_page
def build_survey() -> Any:
    """The builder's buttons: add:<kind>, remove:<index>, up:<index>, save."""
    draft = _draft_from_form()
    action, _, arg = request.form.get("do", "save").partition(":")
    token = request.form.get("form_token", "")
    if action == "add" and arg in KIND_LABELS:
        if len(draft["questions"]) < MAX_QUESTIONS:
            draft["questions"].append(_blank(arg))
        return _builder(draft, token=token)
    if action in ("remove", "up") and arg.isdigit() and int(arg) < len(draft["questions"]):
        index = int(arg)
        if action == "remove":
            draft["questions"].pop(index)
        elif index > 0:
            qs = draft["questions"]
            qs[index - 1], qs[index] = qs[index], qs[index - 1]
        return _builder(draft, token=token)
    return _save(draft, token)


def _save(draft: dict[str, Any], token: str) -> Any:
    caller = principal()
    body = _request_body(draft)
    try:
        claim = claim_form("survey", body)
        if isinstance(claim, Replay):
            return redirect(f"/console/surveys/{claim.body['id']}", code=303)
        data = load_form(_CREATE, body)
        created = building.create_survey(
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
        finish_form(claim, created_id=created.id)
    except ValidationError as exc:
        discard_changes()
        return _builder(draft, refused=invalid(exc), token=token)
    except DomainError as exc:
        discard_changes()
        return _builder(draft, refused=refusal_of(exc), token=token)
    return redirect(f"/console/surveys/{created.id}", code=303)


# --- one survey: state and results --------------------------------------------------------------


def _chart_data(found: dict[str, Any]) -> list[dict[str, Any]]:
    """What service.js draws: one bar chart per choice or scale question (the tables beside
    carry the same numbers)."""
    charts = []
    for item in found["questions"]:
        question, tally = item["question"], item["tally"]
        if question["kind"] in CHOICE_KINDS:
            labels, values = question["options"], tally["option_counts"] or []
        elif question["kind"] == SCALE:
            labels = [f"{n} 分" for n in range(SCALE_MIN, SCALE_MAX + 1)]
            values = tally["scale_counts"] or []
        else:
            continue
        charts.append({"id": question["id"], "labels": labels, "values": values})
    return charts


def _detail(survey_id: int, *, refused: Refusal | None = None) -> Any:
    try:
        found = _RESULTS.dump(
            results.results(session(), org_id=principal().org_id, survey_id=survey_id)
        )
    except NotFound as exc:
        return page(
            "console/error.html",
            status=404,
            title="问卷不存在",
            message=exc.message,
            nav="surveys",
        )
    questions = {item["question"]["id"]: item["question"] for item in found["questions"]}
    return page(
        "console/survey.html",
        s=found["survey"],
        targets=target_names(found["survey"]["scope"], found["survey"]["target_ids"]),
        r=found,
        questions=questions,
        community_names={c["id"]: c["name"] for c in found["by_community"]},
        charts=_chart_data(found),
        refused=refused,
        choice_kinds=CHOICE_KINDS,
        nav="surveys",
        **_labels(),
    )


@bp.get("/surveys/<int:survey_id>")
@desk_page
def survey(survey_id: int) -> Any:
    return _detail(survey_id)


def _move(survey_id: int, action: str) -> Any:
    try:
        building.move(
            session(), org_id=principal().org_id, survey_id=survey_id, action=action, now=now()
        )
    except DomainError as exc:
        discard_changes()
        return _detail(survey_id, refused=refusal_of(exc))
    return redirect(f"/console/surveys/{survey_id}", code=303)


@bp.post("/surveys/<int:survey_id>/open")
@desk_page
def open_survey(survey_id: int) -> Any:
    return _move(survey_id, "open")


@bp.post("/surveys/<int:survey_id>/close")
@desk_page
def close_survey(survey_id: int) -> Any:
    return _move(survey_id, "close")


@bp.get("/surveys/<int:survey_id>/export")
@desk_page
def export_survey(survey_id: int) -> Any:
    """The answers as the API exports them (CSV with a BOM, or XLSX; phones masked)."""
    args = query_args(_EXPORT)
    try:
        found = building.desk_survey(session(), org_id=principal().org_id, survey_id=survey_id)
    except NotFound as exc:
        return page("console/error.html", status=404, title="问卷不存在", message=exc.message)
    fmt = args["format"]
    body = results.export(session(), survey=found, fmt=fmt, tz=LOCAL_TZ)
    record_export(f"调查「{found.title}」的答卷", fmt=fmt, target_type="survey", target_id=found.id)
    media = results.CSV_MEDIA_TYPE if fmt == "csv" else results.XLSX_MEDIA_TYPE
    response = Response(body, mimetype=media)
    stamp = now().astimezone(LOCAL_TZ)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="survey-{found.id}-{stamp:%Y%m%d-%H%M}.{fmt}"'
    )
    return private(response)
