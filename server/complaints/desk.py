"""The desk's complaints and suggestions: list, classify, assign, reply, close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.complaints.conversation import ComplaintView, add_reply, with_conversation
from server.complaints.deadlines import set_deadline, title_of
from server.complaints.models import Complaint
from server.complaints.rules import CLOSED, DESK, OPEN, OPEN_STATUSES, PROCESSING, close_refusal
from server.db.pagination import Page, paginate
from server.db.scoping import get_owned, reference_owned
from server.kernel.errors import InvalidTransition, ValidationFailed
from server.notifications.send import notify, staff_user
from server.staff.models import Department, Staff

NOT_FOUND = "投诉建议不存在"


@dataclass(frozen=True)
class ComplaintFilters:
    statuses: list[str] | None = None
    kind: str | None = None
    category: str | None = None
    severity: str | None = None


def desk_complaints(
    session: Session, *, org_id: int, filters: ComplaintFilters, page: int, page_size: int
) -> Page[Complaint]:
    """The organisation's complaints and suggestions, newest first."""
    stmt = select(Complaint).where(Complaint.org_id == org_id)
    if filters.statuses:
        stmt = stmt.where(Complaint.status.in_(filters.statuses))
    if filters.kind is not None:
        stmt = stmt.where(Complaint.kind == filters.kind)
    if filters.category is not None:
        stmt = stmt.where(Complaint.category == filters.category)
    if filters.severity is not None:
        stmt = stmt.where(Complaint.severity == filters.severity)
    stmt = stmt.order_by(Complaint.created_at.desc(), Complaint.id.desc())
    return paginate(session, stmt, page=page, page_size=page_size)


def desk_complaint(
    session: Session, *, org_id: int, complaint_id: int, lock: bool = False
) -> Complaint:
    return get_owned(
        session,
        Complaint,
        complaint_id,
        org_id=org_id,
        message=NOT_FOUND,
        for_update=lock,
        populate_existing=lock,
    )


def desk_detail(session: Session, *, org_id: int, complaint_id: int) -> ComplaintView:
    return with_conversation(
        session, complaint=desk_complaint(session, org_id=org_id, complaint_id=complaint_id)
    )


def _open(session: Session, *, org_id: int, complaint_id: int) -> Complaint:
    complaint = desk_complaint(session, org_id=org_id, complaint_id=complaint_id, lock=True)
    if complaint.status == CLOSED:
        raise InvalidTransition("该投诉建议已办结")
    return complaint


def classify(
    session: Session,
    *,
    org_id: int,
    complaint_id: int,
    category: str | None,
    severity: str | None,
    now: datetime,
) -> ComplaintView:
    """Set the category (分类) and/or the severity; a new severity moves the deadline
    (counted from filing, alerts already sent are not sent again)."""
    complaint = _open(session, org_id=org_id, complaint_id=complaint_id)
    if category is not None:
        complaint.category = category
    if severity is not None and severity != complaint.severity:
        complaint.severity = severity
        set_deadline(session, complaint=complaint, start=complaint.created_at)
    complaint.updated_at = now
    session.flush()
    return with_conversation(session, complaint=complaint)


def assign(
    session: Session,
    *,
    org_id: int,
    complaint_id: int,
    department_id: int | None,
    staff_id: int | None,
    now: datetime,
) -> ComplaintView:
    """Hand it to a department or a person (exactly one); a person hears of it."""
    if (department_id is None) == (staff_id is None):
        raise ValidationFailed(
            errors={
                "department_id": ["请选择一个部门或一位员工"],
                "staff_id": ["请选择一个部门或一位员工"],
            }
        )
    complaint = _open(session, org_id=org_id, complaint_id=complaint_id)
    if department_id is not None:
        reference_owned(
            session,
            Department,
            department_id,
            org_id=org_id,
            field="department_id",
            message="部门不存在",
        )
        complaint.department_id, complaint.assignee_staff_id = department_id, None
    else:
        staff = reference_owned(
            session, Staff, staff_id, org_id=org_id, field="staff_id", message="员工不存在"
        )
        assert staff is not None  # staff_id was given
        complaint.assignee_staff_id, complaint.department_id = staff.id, staff.department_id
    if complaint.status == OPEN:
        complaint.status = PROCESSING
    complaint.updated_at = now
    session.flush()
    notify(
        session,
        org_id=org_id,
        kind="complaint_assigned",
        user_ids=staff_user(session, complaint.assignee_staff_id),
        now=now,
        data={"title": title_of(complaint), "complaint_id": complaint.id},
    )
    session.expire(complaint, ["assignee", "department"])
    return with_conversation(session, complaint=complaint)


def desk_reply(
    session: Session, *, org_id: int, user_id: int, complaint_id: int, text: str, now: datetime
) -> ComplaintView:
    """Answer the tenant (答复); the tenant is notified."""
    complaint = _open(session, org_id=org_id, complaint_id=complaint_id)
    add_reply(
        session, complaint=complaint, author_role=DESK, author_user_id=user_id, text=text, now=now
    )
    complaint.desk_replied_at = now
    if complaint.status == OPEN:
        complaint.status = PROCESSING
    session.flush()
    notify(
        session,
        org_id=org_id,
        kind="complaint_reply",
        user_ids=[complaint.tenant_user_id],
        now=now,
        data={"title": title_of(complaint), "text": text[:60], "complaint_id": complaint.id},
    )
    return with_conversation(session, complaint=complaint)


def close(
    session: Session, *, org_id: int, user_id: int, complaint_id: int, now: datetime
) -> ComplaintView:
    """Close it (办结): refused until the desk has answered the tenant."""
    complaint = desk_complaint(session, org_id=org_id, complaint_id=complaint_id)
    refusal = close_refusal(
        status=complaint.status, desk_replied=complaint.desk_replied_at is not None
    )
    if refusal is not None:
        raise InvalidTransition(refusal)
    closed = session.execute(
        update(Complaint)
        .where(
            Complaint.id == complaint.id,
            Complaint.status.in_(OPEN_STATUSES),
            Complaint.desk_replied_at.is_not(None),
        )
        .values(status=CLOSED, closed_at=now, closed_by_user_id=user_id, updated_at=now)
        .returning(Complaint.id)
        .execution_options(synchronize_session=False)
    ).first()
    if closed is None:
        raise InvalidTransition("该投诉建议已办结")
    session.refresh(complaint)
    return with_conversation(session, complaint=complaint)
