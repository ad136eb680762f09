"""Reading notices: recipients' lists and read receipts, the desk's lists and counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.db.pagination import Page, paginate
from server.db.scoping import get_owned
from server.directory.models import Room
from server.kernel.errors import NotFound
from server.notices.models import Notice, NoticeRecipient
from server.notices.rules import PUBLISHED
from server.notifications.models import Notification
from server.uploads.models import Upload


@dataclass(frozen=True)
class ReceivedNotice:
    """A notice as its recipient sees it."""

    id: int
    title: str
    body: str
    urgent: bool
    published_at: datetime | None
    expires_at: datetime | None
    read_at: datetime | None
    images: Sequence[Upload] = ()


@dataclass(frozen=True)
class DeskNotice:
    """A notice as the desk sees it, with its read receipts counted and its images."""

    notice: Notice
    recipients: int
    read: int
    images: Sequence[Upload] = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.notice, name)

    @property
    def unread(self) -> int:
        return self.recipients - self.read


@dataclass(frozen=True)
class Unread:
    user_id: int
    name: str
    phone: str | None
    room: str | None


def images_of(session: Session, *, org_id: int, notice_ids: list[int]) -> dict[int, list[Upload]]:
    """The images attached to each notice (in the order they were uploaded)."""
    if not notice_ids:
        return {}
    found: dict[int, list[Upload]] = {}
    for upload in session.scalars(
        select(Upload)
        .where(Upload.notice_id.in_(notice_ids), Upload.org_id == org_id)
        .order_by(Upload.created_at, Upload.id)
    ):
        assert upload.notice_id is not None
        found.setdefault(upload.notice_id, []).append(upload)
    return found


def _with_images(
    session: Session, *, org_id: int, notices: list[ReceivedNotice]
) -> list[ReceivedNotice]:
    images = images_of(session, org_id=org_id, notice_ids=[n.id for n in notices])
    return [replace(n, images=images.get(n.id, [])) for n in notices]


def _visible_to(user_id: int, org_id: int, now: datetime) -> Any:
    return and_(
        NoticeRecipient.user_id == user_id,
        Notice.org_id == org_id,
        Notice.status == PUBLISHED,
        or_(Notice.expires_at.is_(None), Notice.expires_at > now),
    )


def _received(*where: Any) -> Any:
    return (
        select(
            Notice.id,
            Notice.title,
            Notice.body,
            Notice.urgent,
            Notice.published_at,
            Notice.expires_at,
            NoticeRecipient.read_at,
        )
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(*where)
    )


def my_notices(
    session: Session,
    *,
    user_id: int,
    org_id: int,
    audience: str,
    unread_only: bool,
    now: datetime,
    page: int,
    page_size: int,
) -> Page[ReceivedNotice]:
    """The notices that reached me (written when they were published), newest first.

    Reach is decided once, at publishing: a tenant who had moved out by then is not among the
    recipients, one who moves in later does not receive the earlier notices. Withdrawn and
    expired notices are hidden.
    """
    where = [_visible_to(user_id, org_id, now), Notice.audience == audience]
    if unread_only:
        where.append(NoticeRecipient.read_at.is_(None))
    total = int(
        session.scalar(
            select(func.count())
            .select_from(NoticeRecipient)
            .join(Notice, Notice.id == NoticeRecipient.notice_id)
            .where(*where)
        )
        or 0
    )
    rows = session.execute(
        _received(*where)
        .order_by(Notice.published_at.desc(), Notice.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    items = _with_images(session, org_id=org_id, notices=[ReceivedNotice(*row) for row in rows])
    return Page(items, total, page, page_size)


def my_notice(
    session: Session, *, user_id: int, org_id: int, audience: str, notice_id: int, now: datetime
) -> ReceivedNotice:
    row = session.execute(
        _received(
            _visible_to(user_id, org_id, now),
            Notice.audience == audience,
            Notice.id == notice_id,
        )
    ).first()
    if row is None:
        raise NotFound("通知不存在")
    (notice,) = _with_images(session, org_id=org_id, notices=[ReceivedNotice(*row)])
    return notice


def received(session: Session, *, user_id: int, org_id: int, notice_id: int, now: datetime) -> bool:
    """Whether the notice reached this user and they may see it now (published, unexpired):
    who may see the notice's images besides the desk (`uploads.access`)."""
    return (
        session.scalar(
            select(Notice.id)
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(_visible_to(user_id, org_id, now), Notice.id == notice_id)
        )
        is not None
    )


def mark_read(
    session: Session, *, user_id: int, org_id: int, audience: str, notice_id: int, now: datetime
) -> ReceivedNotice:
    """Read a notice that reached me: its read_at is set once (reading again changes nothing),
    and its inbox row reads as read too."""
    my_notice(
        session, user_id=user_id, org_id=org_id, audience=audience, notice_id=notice_id, now=now
    )
    session.execute(
        update(NoticeRecipient)
        .where(
            NoticeRecipient.notice_id == notice_id,
            NoticeRecipient.user_id == user_id,
            NoticeRecipient.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.dedupe_key == f"notice:{notice_id}",
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return my_notice(
        session, user_id=user_id, org_id=org_id, audience=audience, notice_id=notice_id, now=now
    )


# --- the desk ---------------------------------------------------------------------------------


def _counts(session: Session, notice_ids: list[int]) -> dict[int, tuple[int, int]]:
    if not notice_ids:
        return {}
    rows = session.execute(
        select(
            NoticeRecipient.notice_id,
            func.count(),
            func.count(NoticeRecipient.read_at),
        )
        .where(NoticeRecipient.notice_id.in_(notice_ids))
        .group_by(NoticeRecipient.notice_id)
    ).all()
    return {int(n): (int(total), int(read)) for n, total, read in rows}


def desk_notices(
    session: Session,
    *,
    org_id: int,
    audience: str | None,
    status: str | None,
    page: int,
    page_size: int,
) -> Page[DeskNotice]:
    stmt = select(Notice).where(Notice.org_id == org_id)
    if audience is not None:
        stmt = stmt.where(Notice.audience == audience)
    if status is not None:
        stmt = stmt.where(Notice.status == status)
    listed = paginate(
        session,
        stmt.order_by(Notice.created_at.desc(), Notice.id.desc()),
        page=page,
        page_size=page_size,
    )
    ids = [n.id for n in listed.items]
    counts = _counts(session, ids)
    images = images_of(session, org_id=org_id, notice_ids=ids)
    items = [
        DeskNotice(n, *counts.get(n.id, (0, 0)), images=images.get(n.id, [])) for n in listed.items
    ]
    return Page(items, listed.total, listed.page, listed.page_size)


def desk_notice(session: Session, *, org_id: int, notice_id: int) -> DeskNotice:
    notice = get_owned(session, Notice, notice_id, org_id=org_id, message="通知不存在")
    return DeskNotice(
        notice,
        *_counts(session, [notice.id]).get(notice.id, (0, 0)),
        images=images_of(session, org_id=org_id, notice_ids=[notice.id]).get(notice.id, []),
    )


def unread_recipients(
    session: Session, *, org_id: int, notice_id: int, page: int, page_size: int
) -> Page[Unread]:
    """Who the notice reached and has not read it yet (phones are masked by the schema)."""
    get_owned(session, Notice, notice_id, org_id=org_id, message="通知不存在")
    where = (
        NoticeRecipient.notice_id == notice_id,
        NoticeRecipient.org_id == org_id,
        NoticeRecipient.read_at.is_(None),
    )
    total = int(
        session.scalar(select(func.count()).select_from(NoticeRecipient).where(*where)) or 0
    )
    rows = session.execute(
        select(User.id, User.name, User.phone, Room.code)
        .select_from(NoticeRecipient)
        .join(User, User.id == NoticeRecipient.user_id)
        .outerjoin(Room, Room.id == NoticeRecipient.room_id)
        .where(*where)
        .order_by(NoticeRecipient.user_id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page([Unread(*row) for row in rows], total, page, page_size)
