"""Building surveys at the desk: create (a draft with its questions), open, close, list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db.pagination import Page, paginate
from server.db.scoping import get_owned
from server.jobs import ANNOUNCE_SURVEY
from server.kernel.errors import InvalidTransition, ValidationFailed
from server.notices.publishing import check_targets
from server.outbox.outbox import enqueue_on_commit
from server.surveys.models import Survey, SurveyQuestion
from server.surveys.rules import (
    CLOSED,
    DRAFT,
    MOVES,
    OPEN,
    TARGET_STATUS,
    question_errors,
)


@dataclass(frozen=True)
class NewQuestion:
    kind: str
    text: str
    required: bool = True
    options: Sequence[str] = ()


@dataclass(frozen=True)
class NewSurvey:
    title: str
    answer_per: str
    scope: str
    questions: Sequence[NewQuestion]
    description: str = ""
    target_ids: Sequence[int] = ()


def create_survey(
    session: Session, *, org_id: int, user_id: int, new: NewSurvey, now: datetime
) -> Survey:
    """A draft survey: nobody sees it until it is opened."""
    errors: dict[str, list[str]] = {}
    for index, question in enumerate(new.questions):
        problems = question_errors(question.kind, list(question.options))
        if problems:
            errors[f"questions.{index}.options"] = problems
    if errors:
        raise ValidationFailed(errors=errors)
    check_targets(session, org_id=org_id, scope=new.scope, target_ids=new.target_ids)
    survey = Survey(
        org_id=org_id,
        title=new.title,
        description=new.description,
        status=DRAFT,
        answer_per=new.answer_per,
        scope=new.scope,
        target_ids=sorted(set(new.target_ids)),
        created_by=user_id,
        created_at=now,
        questions=[
            SurveyQuestion(
                org_id=org_id,
                position=index + 1,
                kind=q.kind,
                text=q.text,
                required=q.required,
                options=list(q.options),
            )
            for index, q in enumerate(new.questions)
        ],
    )
    session.add(survey)
    session.flush()
    return survey


def desk_survey(session: Session, *, org_id: int, survey_id: int) -> Survey:
    return get_owned(session, Survey, survey_id, org_id=org_id, message="问卷不存在")


def desk_surveys(
    session: Session, *, org_id: int, status: str | None, page: int, page_size: int
) -> Page[Survey]:
    stmt = select(Survey).where(Survey.org_id == org_id)
    if status is not None:
        stmt = stmt.where(Survey.status == status)
    return paginate(
        session,
        stmt.order_by(Survey.created_at.desc(), Survey.id.desc()),
        page=page,
        page_size=page_size,
    )


def move(session: Session, *, org_id: int, survey_id: int, action: str, now: datetime) -> Survey:
    """Open (a draft or a closed survey) or close (an open one), by a conditional UPDATE.

    The first opening tells the targeted tenants, in the background (`surveys.announce`).
    """
    survey = desk_survey(session, org_id=org_id, survey_id=survey_id)
    target = TARGET_STATUS[action]
    stamp = {"opened_at": now} if target == OPEN else {"closed_at": now}
    changed = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.status.in_(MOVES[action]))
        .values(status=target, **stamp)
        .returning(Survey.opened_at)
        .execution_options(synchronize_session=False)
    ).first()
    if changed is None:
        raise InvalidTransition("问卷已开放" if target == OPEN else "问卷未开放")
    session.refresh(survey)
    if target == OPEN:
        enqueue_on_commit(
            session,
            ANNOUNCE_SURVEY,
            org_id=org_id,
            dedupe_key=f"survey-announce-{survey.id}",  # the first opening only
            survey_id=survey.id,
        )
    assert survey.status in (OPEN, CLOSED)
    return survey
