"""A complaint's deadline on the SLA machinery: business time per severity, and the tick that
reminds (80 %), flags it overdue to the dispatchers (100 %) and escalates to admins (150 %)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from server.complaints.models import Complaint
from server.complaints.rules import KIND_LABELS, OPEN_STATUSES, deadline
from server.kernel.roles import Role
from server.notifications.send import desk_users, notify, staff_user
from server.sla.clocks import load_calendar
from server.sla.rules import Level, Milestones, level_due, milestones

_PREFIX = {Level.REMINDED: "即将超时", Level.OVERDUE: "已超时", Level.ESCALATED: "超时升级"}


def set_deadline(session: Session, *, complaint: Complaint, start: datetime) -> None:
    """Milestones from `start` for the complaint's severity, in the organisation's calendar."""
    calendar = load_calendar(session, org_id=complaint.org_id)
    stones = milestones(start, deadline(complaint.severity), calendar)
    complaint.remind_at, complaint.due_at = stones.remind_at, stones.due_at
    complaint.escalate_at = stones.escalate_at


def past_due(now: datetime) -> ColumnElement[bool]:
    """Strictly past the complaint's deadline (the same instant `level_due` calls overdue).

    (The orders keep their own overdue rule and its spelling; this one is the complaints'.)
    """
    return Complaint.due_at.__lt__(now)


def title_of(complaint: Complaint) -> str:
    return f"{KIND_LABELS[complaint.kind]}：{complaint.text[:30]}"


@dataclass
class TickReport:
    seen: int = 0
    alerted: int = 0


def tick(session: Session, *, now: datetime, batch: int = 200) -> TickReport:
    """Send each open complaint's highest alert now due, once (a conditional UPDATE on the
    level; a second run, or a second worker, sends nothing)."""
    report = TickReport()
    rows = session.scalars(
        select(Complaint)
        .where(
            Complaint.status.in_(OPEN_STATUSES),
            or_(
                (Complaint.alert_level < Level.REMINDED) & (Complaint.remind_at <= now),
                (Complaint.alert_level < Level.OVERDUE) & past_due(now),
                (Complaint.alert_level < Level.ESCALATED) & (Complaint.escalate_at < now),
            ),
        )
        .order_by(Complaint.remind_at)
        .limit(batch)
        .with_for_update(of=Complaint, skip_locked=True)
    ).all()
    report.seen = len(rows)
    for complaint in rows:
        stones = Milestones(complaint.remind_at, complaint.due_at, complaint.escalate_at)
        level = level_due(stones, now=now)
        if level <= complaint.alert_level:
            continue
        raised = session.execute(
            update(Complaint)
            .where(Complaint.id == complaint.id, Complaint.alert_level < level)
            .values(alert_level=int(level))
            .returning(Complaint.id)
            .execution_options(synchronize_session=False)
        ).first()
        if raised is None:
            continue
        _alert(session, complaint=complaint, level=level, now=now)
        report.alerted += 1
    return report


def _alert(session: Session, *, complaint: Complaint, level: Level, now: datetime) -> None:
    org_id = complaint.org_id
    if level is Level.REMINDED:
        users = staff_user(session, complaint.assignee_staff_id) or desk_users(
            session, org_id=org_id
        )
    elif level is Level.OVERDUE:
        users = desk_users(session, org_id=org_id)
    else:
        users = desk_users(session, org_id=org_id, role=Role.ADMIN)
    notify(
        session,
        org_id=org_id,
        kind="complaint_assigned",
        user_ids=users,
        now=now,
        data={"title": f"【{_PREFIX[level]}】{title_of(complaint)}", "complaint_id": complaint.id},
        dedupe_key=f"complaint:{complaint.id}:{int(level)}",
    )
