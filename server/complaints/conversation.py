"""What a complaint holds besides itself: its replies and its photos."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.complaints.models import Complaint, ComplaintReply
from server.uploads.models import Upload


@dataclass(frozen=True)
class ComplaintView:
    """A complaint with its conversation (oldest first) and photos, for the detail views."""

    complaint: Complaint
    replies: list[ComplaintReply]
    images: list[Upload]

    def __getattr__(self, name: str) -> object:
        return getattr(self.complaint, name)


def with_conversation(session: Session, *, complaint: Complaint) -> ComplaintView:
    replies = session.scalars(
        select(ComplaintReply)
        .where(ComplaintReply.complaint_id == complaint.id)
        .order_by(ComplaintReply.created_at, ComplaintReply.id)
    ).all()
    images = session.scalars(
        select(Upload)
        .where(Upload.complaint_id == complaint.id, Upload.org_id == complaint.org_id)
        .order_by(Upload.created_at, Upload.id)
    ).all()
    return ComplaintView(complaint, list(replies), list(images))


def add_reply(
    session: Session,
    *,
    complaint: Complaint,
    author_role: str,
    author_user_id: int,
    text: str,
    now: datetime,
) -> ComplaintReply:
    reply = ComplaintReply(
        org_id=complaint.org_id,
        complaint_id=complaint.id,
        author_role=author_role,
        author_user_id=author_user_id,
        text=text,
        created_at=now,
    )
    session.add(reply)
    complaint.updated_at = now
    session.flush()
    return reply
