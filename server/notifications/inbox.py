"""The in-app inbox (消息中心): a user's notifications, newest first, and reading them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server.db.pagination import Page, paginate
from server.kernel.errors import NotFound
from server.notifications.models import Notification


def inbox(
    session: Session, *, user_id: int, unread_only: bool, page: int, page_size: int
) -> tuple[Page[Notification], int]:
    """One page of the user's notifications and how many are unread in all."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    listed = paginate(
        session,
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc()),
        page=page,
        page_size=page_size,
    )
    return listed, unread_count(session, user_id=user_id)


def unread_count(session: Session, *, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(
    session: Session, *, user_id: int, notification_id: int, now: datetime
) -> Notification:
    """Read one of my notifications (reading it again changes nothing); others' are 404."""
    row = session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )
    if row is None:
        raise NotFound("通知不存在")
    if row.read_at is None:
        row.read_at = now
        session.flush()
    return row


def mark_all_read(session: Session, *, user_id: int, now: datetime) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
