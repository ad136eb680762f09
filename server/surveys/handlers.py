"""The surveys area's outbox handler. Registered on import (by `server.outbox.registry`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.jobs import ANNOUNCE_SURVEY
from server.outbox.registry import Delivery, register_database_handler
from server.surveys import announcing


def announce(session: Session, item: Delivery) -> None:
    announcing.announce(session, survey_id=int(item.kwargs["survey_id"]), now=item.now)


register_database_handler(ANNOUNCE_SURVEY, announce)
