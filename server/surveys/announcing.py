"""Telling the targeted tenants that a survey is open (`survey_open`), in the background."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from server.directory.models import Room
from server.directory.tenancy import users_related_to_rooms
from server.kernel.clock import local_date
from server.notifications.send import notify
from server.surveys.models import Survey
from server.surveys.rules import OPEN, SCOPE_BUILDINGS, SCOPE_COMMUNITIES, SCOPE_ROOMS

NOTIFY_BATCH = 2_000


def room_clause(survey: Survey) -> Any:
    """SQL: the rooms the survey targets (the same reach as `rules.room_in_scope`)."""
    ids = list(survey.target_ids)
    if survey.scope == SCOPE_COMMUNITIES:
        return Room.community_id.in_(ids)
    if survey.scope == SCOPE_BUILDINGS:
        return Room.building_id.in_(ids)
    if survey.scope == SCOPE_ROOMS:
        return Room.id.in_(ids)
    return true()


def announce(session: Session, *, survey_id: int, now: datetime) -> int:
    """Notify every tenant related to a targeted room today, once each (dedupe key)."""
    survey = session.get(Survey, survey_id)
    if survey is None or survey.status != OPEN:
        return 0
    reach = users_related_to_rooms(
        org_id=survey.org_id, on=local_date(now), rooms=room_clause(survey)
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
