"""The background fan-out of a published notice: recipients, inbox rows, pushes.

`split` (the `notices.fan_out` job) cuts the notice's targets (rooms, or staff members) into
id ranges and writes one `notices.fan_out_part` job per range, so parts run on as many workers
as there are. `write_part` writes that range's recipients with INSERT … ON CONFLICT DO NOTHING
(unique notice, user) and notifies only the rows it wrote: a retried, duplicated or
overlapping part writes each recipient, inbox row and push once. Both run as outbox database
handlers, in the delivery's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Table, and_, literal, null, or_, select, true
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.directory.models import Room
from server.directory.tenancy import users_related_to_rooms
from server.jobs import NOTICE_FAN_OUT_PART
from server.kernel.clock import local_date
from server.kernel.roles import STAFF_ROLES
from server.notices.models import Notice, NoticeRecipient
from server.notices.rules import (
    AUDIENCE_STAFF,
    FAN_OUT_ROOMS_PER_PART,
    FAN_OUT_STAFF_PER_PART,
    PUBLISHED,
    SCOPE_BUILDINGS,
    SCOPE_COMMUNITIES,
    SCOPE_DEPARTMENTS,
    SCOPE_ROOMS,
    notification_kind,
    parts,
)
from server.notifications.send import notify
from server.outbox.outbox import enqueue_on_commit
from server.staff.models import Staff
from server.staff.technicians import active_with_role

# notify() writes one multi-row INSERT and one delivery job per call: a few thousand at a time.
NOTIFY_BATCH = 2_000

_RECIPIENTS = cast(Table, NoticeRecipient.__table__)


def rooms_in_scope(scope: str, target_ids: Sequence[int]) -> Any:
    """SQL over `Room`: the rooms a tenant notice (or a survey) of this scope reaches."""
    ids = list(target_ids)
    if scope == SCOPE_COMMUNITIES:
        return Room.community_id.in_(ids)
    if scope == SCOPE_BUILDINGS:
        return Room.building_id.in_(ids)
    if scope == SCOPE_ROOMS:
        return Room.id.in_(ids)
    return true()


def _room_clause(notice: Notice) -> Any:
    return rooms_in_scope(notice.scope, notice.target_ids)


def _staff_clause(notice: Notice) -> Any:
    if notice.scope == SCOPE_DEPARTMENTS:
        return Staff.department_id.in_(list(notice.target_ids))
    return true()


def _live(session: Session, notice_id: int) -> Notice | None:
    notice = session.get(Notice, notice_id, populate_existing=True)
    return notice if notice is not None and notice.status == PUBLISHED else None


def split(session: Session, *, notice_id: int, per_part: int | None = None) -> int:
    """Write one part job per range of target ids; returns how many parts."""
    notice = _live(session, notice_id)
    if notice is None:
        return 0
    if notice.audience == AUDIENCE_STAFF:
        ids = list(
            session.scalars(
                select(Staff.id).where(Staff.org_id == notice.org_id, _staff_clause(notice))
            )
        )
        size = per_part or FAN_OUT_STAFF_PER_PART
    else:
        ids = list(
            session.scalars(
                select(Room.id).where(Room.org_id == notice.org_id, _room_clause(notice))
            )
        )
        size = per_part or FAN_OUT_ROOMS_PER_PART
    ranges = parts(ids, size)
    for first, last in ranges:
        enqueue_on_commit(
            session,
            NOTICE_FAN_OUT_PART,
            org_id=notice.org_id,
            dedupe_key=f"notice-part-{notice.id}-{first}-{last}",
            notice_id=notice.id,
            first=first,
            last=last,
        )
    return len(ranges)


def _candidates(notice: Notice, first: int, last: int, now: datetime) -> Any:
    """(user id, room id) of the range's recipients, one row per user."""
    assert notice.published_at is not None
    if notice.audience == AUDIENCE_STAFF:
        rows = (
            select(Staff.user_id.label("user_id"), null().cast(BigInteger).label("room_id"))
            .join(User, User.id == Staff.user_id)
            .where(
                Staff.org_id == notice.org_id,
                Staff.id.between(first, last),
                or_(*(active_with_role(role) for role in sorted(STAFF_ROLES))),
                _staff_clause(notice),
            )
        )
    else:
        rows = users_related_to_rooms(
            org_id=notice.org_id,
            on=local_date(notice.published_at),
            rooms=and_(Room.id.between(first, last), _room_clause(notice)),
        )
    sub = rows.subquery()
    return (
        select(
            literal(notice.org_id),
            literal(notice.id),
            sub.c.user_id,
            sub.c.room_id,
            literal(now),
        )
        .ext(distinct_on(sub.c.user_id))
        .order_by(sub.c.user_id, sub.c.room_id)
    )


def write_part(session: Session, *, notice_id: int, first: int, last: int, now: datetime) -> int:
    """Write the recipients of one id range and notify the ones written now; returns how many."""
    notice = _live(session, notice_id)
    if notice is None:
        return 0
    written: Sequence[int] = list(
        session.scalars(
            insert(_RECIPIENTS)
            .from_select(
                ["org_id", "notice_id", "user_id", "room_id", "created_at"],
                _candidates(notice, first, last, now),
            )
            .on_conflict_do_nothing(index_elements=["notice_id", "user_id"])
            .returning(_RECIPIENTS.c.user_id)
        )
    )
    kind = notification_kind(notice.audience, notice.urgent)
    users = sorted(int(u) for u in written)
    for start in range(0, len(users), NOTIFY_BATCH):
        notify(
            session,
            org_id=notice.org_id,
            kind=kind,
            user_ids=users[start : start + NOTIFY_BATCH],
            now=now,
            data={"title": notice.title, "notice_id": notice.id},
            dedupe_key=f"notice:{notice.id}",
        )
    return len(users)
