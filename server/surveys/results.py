"""A survey's results (per question, and by community and building) and its answers' export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.directory.models import Building, Community, Room
from server.kernel.personal_data import mask_phone
from server.orders.export import Cell, csv_chunks, xlsx_bytes
from server.surveys.building import desk_survey
from server.surveys.models import Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from server.surveys.rules import (
    MULTIPLE,
    SCALE,
    SINGLE,
    Question,
    QuestionTally,
    add_answer,
    empty_tallies,
)

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Place:
    """One community or building: how many responses, and its tallies per question."""

    id: int
    name: str
    responses: int = 0
    community_id: int | None = None
    questions: dict[int, QuestionTally] = field(default_factory=dict)

    @property
    def tallies(self) -> list[QuestionTally]:
        return list(self.questions.values())


@dataclass(frozen=True)
class QuestionResult:
    question: SurveyQuestion
    tally: QuestionTally


@dataclass(frozen=True)
class Results:
    survey: Survey
    responses: int
    questions: list[QuestionResult]
    by_community: list[Place]
    by_building: list[Place]


def _questions(survey: Survey) -> list[Question]:
    return [Question(q.id, q.kind, q.required, q.options) for q in survey.questions]


def results(session: Session, *, org_id: int, survey_id: int) -> Results:
    survey = desk_survey(session, org_id=org_id, survey_id=survey_id)
    questions = _questions(survey)
    overall = empty_tallies(questions)
    communities: dict[int, Place] = {}
    buildings: dict[int, Place] = {}
    for response_id, community_id, community, building_id, building in session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.community_id,
            Community.name,
            SurveyResponse.building_id,
            Building.name,
        )
        .join(Community, Community.id == SurveyResponse.community_id)
        .join(Building, Building.id == SurveyResponse.building_id)
        .where(SurveyResponse.survey_id == survey.id)
    ):
        del response_id
        c = communities.setdefault(
            community_id, Place(community_id, community, questions=empty_tallies(questions))
        )
        b = buildings.setdefault(
            building_id,
            Place(
                building_id,
                building,
                community_id=community_id,
                questions=empty_tallies(questions),
            ),
        )
        c.responses += 1
        b.responses += 1
    for question_id, choices, scale, community_id, building_id in session.execute(
        select(
            SurveyAnswer.question_id,
            SurveyAnswer.choices,
            SurveyAnswer.scale,
            SurveyResponse.community_id,
            SurveyResponse.building_id,
        )
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey.id)
    ):
        add_answer(overall, question_id, choices, scale)
        add_answer(communities[community_id].questions, question_id, choices, scale)
        add_answer(buildings[building_id].questions, question_id, choices, scale)
    total = sum(c.responses for c in communities.values())
    return Results(
        survey,
        total,
        [QuestionResult(q, overall[q.id]) for q in survey.questions],
        sorted(communities.values(), key=lambda p: p.id),
        sorted(buildings.values(), key=lambda p: p.id),
    )


def response_count(session: Session, *, survey_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.survey_id == survey_id)
        )
        or 0
    )


# --- export -------------------------------------------------------------------------------

_FIXED_HEADERS = ("答卷编号", "提交时间", "小区", "楼栋", "房间", "填写人", "手机号")


def _text(question: SurveyQuestion, answer: SurveyAnswer | None) -> str:
    if answer is None:
        return ""
    if question.kind in (SINGLE, MULTIPLE):
        labels = [question.options[i] for i in answer.choices or () if i < len(question.options)]
        return "；".join(labels)
    if question.kind == SCALE:
        return "" if answer.scale is None else str(answer.scale)
    return answer.text or ""


def export_headers(survey: Survey) -> list[str]:
    return [*_FIXED_HEADERS, *(f"{q.position}. {q.text}" for q in survey.questions)]


def export_rows(session: Session, *, survey: Survey, tz: tzinfo) -> Iterator[list[Cell]]:
    """One row per response: where it came from, who (phone masked), each answer as text."""
    answers: dict[int, dict[int, SurveyAnswer]] = {}
    for a in session.scalars(
        select(SurveyAnswer)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey.id)
    ):
        answers.setdefault(a.response_id, {})[a.question_id] = a
    rows = session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.created_at,
            Community.name,
            Building.name,
            Room.code,
            User.name,
            User.phone,
        )
        .join(Room, Room.id == SurveyResponse.room_id)
        .join(Community, Community.id == SurveyResponse.community_id)
        .join(Building, Building.id == SurveyResponse.building_id)
        .join(User, User.id == SurveyResponse.user_id)
        .where(SurveyResponse.survey_id == survey.id)
        .order_by(SurveyResponse.id)
    )
    for response_id, created_at, community, building, room, name, phone in rows:
        mine = answers.get(response_id, {})
        yield [
            response_id,
            created_at.astimezone(tz).replace(tzinfo=None),
            community,
            building,
            room,
            name,
            mask_phone(phone),
            *(_text(q, mine.get(q.id)) for q in survey.questions),
        ]


def export(session: Session, *, survey: Survey, fmt: str, tz: tzinfo) -> bytes:
    """The answers as UTF-8 CSV (with a BOM) or XLSX; phones masked."""
    headers = export_headers(survey)
    rows = list(export_rows(session, survey=survey, tz=tz))
    if fmt == "csv":
        return b"".join(csv_chunks(rows, headers=headers))
    return xlsx_bytes(rows, sheet_title="答卷", headers=headers)
