"""A tenant's complaints and suggestions (投诉建议): file, list their own, reply, rate."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.complaints.conversation import ComplaintView, add_reply, with_conversation
from server.complaints.deadlines import set_deadline, title_of
from server.complaints.models import Complaint
from server.complaints.rules import CLOSED, DEFAULT_SEVERITY, OPEN, TENANT
from server.db.pagination import Page, paginate
from server.db.scoping import reference_owned
from server.kernel.errors import InvalidTransition, NotFound, ValidationFailed
from server.notifications.send import desk_users, notify, staff_user
from server.orders.lists import tenant_order
from server.staff.models import Staff
from server.uploads.files import attachable_uploads

NOT_FOUND = "投诉建议不存在"


def file_complaint(
    session: Session,
    *,
    user: User,
    kind: str,
    text: str,
    image_ids: list[str],
    order_id: int | None,
    staff_id: int | None,
    now: datetime,
    today: date,
) -> ComplaintView:
    """File a complaint or a suggestion, optionally about one of the tenant's orders or a
    technician; the desk hears of it and its deadline starts (severity 较重 until classified)."""
    if order_id is not None:
        try:
            tenant_order(session, user=user, order_id=order_id, today=today)
        except NotFound:
            raise ValidationFailed.field("order_id", "工单不存在或不属于您") from None
    if staff_id is not None:
        reference_owned(
            session, Staff, staff_id, org_id=user.org_id, field="staff_id", message="师傅不存在"
        )
    images = attachable_uploads(session, org_id=user.org_id, user_id=user.id, upload_ids=image_ids)
    complaint = Complaint(
        org_id=user.org_id,
        tenant_user_id=user.id,
        kind=kind,
        text=text,
        order_id=order_id,
        staff_id=staff_id,
        severity=DEFAULT_SEVERITY,
        status=OPEN,
        alert_level=0,
        rating_comment="",
        created_at=now,
        updated_at=now,
    )
    set_deadline(session, complaint=complaint, start=now)
    session.add(complaint)
    session.flush()
    for upload in images:
        upload.complaint_id = complaint.id
    notify(
        session,
        org_id=user.org_id,
        kind="complaint_filed",
        user_ids=desk_users(session, org_id=user.org_id),
        now=now,
        data={"title": title_of(complaint), "complaint_id": complaint.id},
    )
    session.flush()
    return with_conversation(session, complaint=complaint)


def own_complaint(session: Session, *, user: User, complaint_id: int) -> Complaint:
    """One of the tenant's own complaints; anyone else's is 404."""
    complaint = session.scalar(
        select(Complaint).where(
            Complaint.id == complaint_id,
            Complaint.org_id == user.org_id,
            Complaint.tenant_user_id == user.id,
        )
    )
    if complaint is None:
        raise NotFound(NOT_FOUND)
    return complaint


def own_complaints(
    session: Session, *, user: User, status: str | None, page: int, page_size: int
) -> Page[Complaint]:
    """The tenant's complaints and suggestions, newest first."""
    stmt = select(Complaint).where(
        Complaint.org_id == user.org_id, Complaint.tenant_user_id == user.id
    )
    if status is not None:
        stmt = stmt.where(Complaint.status == status)
    stmt = stmt.order_by(Complaint.created_at.desc(), Complaint.id.desc())
    return paginate(session, stmt, page=page, page_size=page_size)


def tenant_detail(session: Session, *, user: User, complaint_id: int) -> ComplaintView:
    return with_conversation(
        session, complaint=own_complaint(session, user=user, complaint_id=complaint_id)
    )


def tenant_reply(
    session: Session, *, user: User, complaint_id: int, text: str, now: datetime
) -> ComplaintView:
    """The tenant adds to the conversation (while it is open); whoever handles it hears."""
    complaint = own_complaint(session, user=user, complaint_id=complaint_id)
    if complaint.status == CLOSED:
        raise InvalidTransition("该投诉建议已办结，不能再回复")
    add_reply(
        session, complaint=complaint, author_role=TENANT, author_user_id=user.id, text=text, now=now
    )
    users = staff_user(session, complaint.assignee_staff_id) or desk_users(
        session, org_id=user.org_id
    )
    notify(
        session,
        org_id=user.org_id,
        kind="complaint_assigned",
        user_ids=users,
        now=now,
        data={"title": f"住户补充：{title_of(complaint)}", "complaint_id": complaint.id},
    )
    return with_conversation(session, complaint=complaint)


def rate_handling(
    session: Session, *, user: User, complaint_id: int, score: int, comment: str, now: datetime
) -> ComplaintView:
    """The tenant rates how it was handled, once, after it was closed."""
    complaint = own_complaint(session, user=user, complaint_id=complaint_id)
    rated = session.execute(
        update(Complaint)
        .where(
            Complaint.id == complaint.id,
            Complaint.status == CLOSED,
            Complaint.rated_at.is_(None),
        )
        .values(rating_score=score, rating_comment=comment, rated_at=now, updated_at=now)
        .returning(Complaint.id)
        .execution_options(synchronize_session=False)
    ).first()
    if rated is None:
        session.refresh(complaint)
        raise InvalidTransition("已评价过" if complaint.rated_at is not None else "办结后才能评价")
    session.refresh(complaint)
    return with_conversation(session, complaint=complaint)
