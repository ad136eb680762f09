"""Tenants and surveys: which open surveys reach me, and answering one once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.db.pagination import Page
from server.db.scoping import find_owned
from server.directory.models import Room
from server.directory.tenancy import TenantRoom, rooms_for_tenant
from server.kernel.errors import AlreadyAnswered, NotFound, ValidationFailed
from server.surveys.models import Survey, SurveyAnswer, SurveyResponse
from server.surveys.rules import (
    MULTIPLE,
    OPEN,
    PER_PERSON,
    SCALE,
    SINGLE,
    Question,
    answer_key,
    check_answers,
    room_in_scope,
)

_RESPONSES = cast(Table, SurveyResponse.__table__)


@dataclass(frozen=True)
class GivenAnswer:
    """One answer as sent: the field that fits the question's kind is read."""

    question_id: int
    choice: int | None = None
    choices: Sequence[int] | None = None
    scale: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class TenantSurvey:
    """An open survey that reaches me: the rooms I may answer for and whether I have."""

    survey: Survey
    room_ids: list[int]
    answered_room_ids: list[int]
    answered: bool

    def __getattr__(self, name: str) -> Any:
        return getattr(self.survey, name)


def _reaching(survey: Survey, rooms: Sequence[TenantRoom]) -> list[int]:
    return [
        r.room.id
        for r in rooms
        if room_in_scope(
            survey.scope,
            survey.target_ids,
            room_id=r.room.id,
            building_id=r.room.building_id,
            community_id=r.room.community_id,
        )
    ]


def _keys(survey: Survey, user: User, room_ids: Sequence[int]) -> dict[str, int | None]:
    if survey.answer_per == PER_PERSON:
        return {answer_key(PER_PERSON, user_id=user.id, room_id=0): None}
    return {answer_key(survey.answer_per, user_id=user.id, room_id=r): r for r in room_ids}


def _view(session: Session, survey: Survey, user: User, room_ids: list[int]) -> TenantSurvey:
    keys = _keys(survey, user, room_ids)
    taken = set(
        session.scalars(
            select(SurveyResponse.answer_key).where(
                SurveyResponse.survey_id == survey.id, SurveyResponse.answer_key.in_(list(keys))
            )
        )
    )
    answered_rooms = [room for key, room in keys.items() if key in taken and room is not None]
    answered = bool(taken) if survey.answer_per == PER_PERSON else len(taken) == len(keys)
    return TenantSurvey(survey, room_ids, answered_rooms, answered)


def my_surveys(
    session: Session, *, user: User, today: date, page: int, page_size: int
) -> Page[TenantSurvey]:
    """Open surveys that reach a room I am related to today, newest first."""
    rooms = rooms_for_tenant(session, user=user, today=today)
    surveys = session.scalars(
        select(Survey)
        .where(Survey.org_id == user.org_id, Survey.status == OPEN)
        .order_by(Survey.opened_at.desc(), Survey.id.desc())
    ).all()
    reaching = [(s, ids) for s in surveys if (ids := _reaching(s, rooms))]
    chosen = reaching[(page - 1) * page_size : page * page_size]
    items = [_view(session, s, user, ids) for s, ids in chosen]
    return Page(items, len(reaching), page, page_size)


def my_survey(session: Session, *, user: User, survey_id: int, today: date) -> TenantSurvey:
    survey = find_owned(session, Survey, survey_id, org_id=user.org_id)
    if survey is None or survey.status != OPEN:
        raise NotFound("问卷不存在或已结束")
    room_ids = _reaching(survey, rooms_for_tenant(session, user=user, today=today))
    if not room_ids:
        raise NotFound("问卷不存在或已结束")
    return _view(session, survey, user, room_ids)


def _value(kind: str, given: GivenAnswer) -> Any:
    if kind == SINGLE:
        return given.choice
    if kind == MULTIPLE:
        return list(given.choices) if given.choices is not None else None
    if kind == SCALE:
        return given.scale
    return given.text


def answer(
    session: Session,
    *,
    user: User,
    survey_id: int,
    room_id: int | None,
    given: Sequence[GivenAnswer],
    today: date,
    now: datetime,
) -> TenantSurvey:
    """Answer an open survey once per person (or per room): the second answer is a 409.

    The unique (survey, answer key) decides a race: the loser's INSERT … ON CONFLICT DO
    NOTHING waits for the winner's commit and writes nothing.
    """
    view = my_survey(session, user=user, survey_id=survey_id, today=today)
    survey = view.survey
    if room_id is None:
        if len(view.room_ids) != 1:
            raise ValidationFailed.field("room_id", "请选择为哪个房间填写")
        room_id = view.room_ids[0]
    elif room_id not in view.room_ids:
        raise ValidationFailed.field("room_id", "该房间不在本问卷范围内")
    questions = [Question(q.id, q.kind, q.required, q.options) for q in survey.questions]
    kinds = {q.id: q.kind for q in questions}
    by_question: Mapping[int, Any] = {
        g.question_id: _value(kinds.get(g.question_id, ""), g) for g in given
    }
    answers, errors = check_answers(questions, by_question)
    if errors:
        raise ValidationFailed(errors=errors)
    room = session.get(Room, room_id)
    assert room is not None
    response_id = session.scalar(
        insert(_RESPONSES)
        .values(
            org_id=user.org_id,
            survey_id=survey.id,
            answer_key=answer_key(survey.answer_per, user_id=user.id, room_id=room_id),
            user_id=user.id,
            room_id=room_id,
            community_id=room.community_id,
            building_id=room.building_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["survey_id", "answer_key"])
        .returning(_RESPONSES.c.id)
    )
    if response_id is None:
        raise AlreadyAnswered(
            "您已填写过这份问卷" if survey.answer_per == PER_PERSON else "该房间已填写过这份问卷"
        )
    session.add_all(
        SurveyAnswer(
            org_id=user.org_id,
            response_id=response_id,
            question_id=a.question_id,
            choices=a.choices,
            scale=a.scale,
            text=a.text,
        )
        for a in answers
    )
    session.flush()
    return _view(session, survey, user, view.room_ids)
