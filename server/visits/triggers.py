"""Where return visits come from: a low score, a reopen, the sample of closed orders.

The orders' steps call these in their own transaction (rating, auto-close, reopen), so a
visit exists exactly when the step that asked for it committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.db.session import core
from server.notifications.send import desk_users, notify
from server.orders.models import Order
from server.organisation.models import Organisation
from server.visits.models import ReturnVisit
from server.visits.rules import (
    DUE,
    LOW_RATING,
    REASON_LABELS,
    REOPEN,
    SAMPLE,
    is_low_rating,
    sampled,
)

# One due visit per order: a second reason while one is due adds nothing.
_INSERT_VISIT = (
    insert(cast(Table, ReturnVisit.__table__))
    .on_conflict_do_nothing(index_elements=["order_id"], index_where=text(f"status = '{DUE}'"))
    .returning(ReturnVisit.__table__.c.id)
)


def _settings(session: Session, org_id: int) -> Organisation:
    organisation = session.get(Organisation, org_id)
    assert organisation is not None
    return organisation


def request_visit(session: Session, *, order: Order, reason: str, now: datetime) -> int | None:
    """Open a visit task for the desk; the new visit's id, or None when one is already due."""
    visit_id = (
        core(session)
        .execute(
            _INSERT_VISIT,
            {
                "org_id": order.org_id,
                "order_id": order.id,
                "reason": reason,
                "status": DUE,
                "notes": "",
                "reopened": False,
                "created_at": now,
            },
        )
        .scalar()
    )
    # A low score is already announced to the desk (low_rating: "低分评价待回访").
    if visit_id is not None and reason != LOW_RATING:
        notify(
            session,
            org_id=order.org_id,
            kind="return_visit_due",
            user_ids=desk_users(session, org_id=order.org_id),
            now=now,
            order_id=order.id,
            data={"reason": REASON_LABELS[reason]},
        )
    return visit_id


def is_low(session: Session, *, org_id: int, score: int) -> bool:
    """Whether a score is low (差评) by the organisation's line, the one that asks for 回访."""
    settings = _settings(session, org_id)
    return is_low_rating(score, at_or_below=settings.visit_low_rating_at_or_below)


def order_rated(session: Session, *, order: Order, score: int, now: datetime) -> int | None:
    """A rating closed the order: a low score asks for a visit, others may be sampled."""
    if is_low(session, org_id=order.org_id, score=score):
        return request_visit(session, order=order, reason=LOW_RATING, now=now)
    return order_closed(session, order=order, now=now)


def order_closed(session: Session, *, order: Order, now: datetime) -> int | None:
    """An order closed (rated or not): the organisation's share of them is sampled."""
    settings = _settings(session, order.org_id)
    if sampled(org_id=order.org_id, order_id=order.id, percent=settings.visit_sample_percent):
        return request_visit(session, order=order, reason=SAMPLE, now=now)
    return None


def order_reopened(session: Session, *, order: Order, now: datetime) -> int | None:
    """Every reopen asks for a visit."""
    return request_visit(session, order=order, reason=REOPEN, now=now)
