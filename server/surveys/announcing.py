"""Telling the targeted tenants that a survey is open (`survey_open`), in the background."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.directory.tenancy import users_related_to_rooms
from server.kernel.clock import local_date
from server.notices.fanout import rooms_in_scope
from server.notifications.send import notify
from server.surveys.models import Survey
from server.surveys.rules import OPEN

NOTIFY_BATCH = 2_000


def announce(session: Session, *, survey_id: int, now: datetime) -> int:
    """Notify every tenant related to a targeted room today, once each (dedupe key)."""
    survey = session.get(Survey, survey_id)
    if survey is None or survey.status != OPEN:
        return 0
    reach = users_related_to_rooms(
        org_id=survey.org_id,
        on=local_date(now),
        rooms=rooms_in_scope(survey.scope, survey.target_ids),
    ).subquery()
    users = sorted({int(u) for u in session.scalars(select(reach.c.user_id).distinct())})
    written = 0
    for start in range(0, len(users), NOTIFY_BATCH):
        written += notify(
            session,
            org_id=survey.org_id,
            kind="survey_open",
            user_ids=users[start : start + NOTIFY_BATCH],
            now=now,
            data={"title": survey.title, "survey_id": survey.id},
            dedupe_key=f"survey:{survey.id}",
        )
    return written
