"""The daily reminder: rented spaces whose contract ends within their reminder days.

Each contract is reminded once (a conditional UPDATE on `reminded_at`; a second run, or a
second worker, sends nothing); renewing the contract (a new end date) clears the mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.kernel.clock import local_date
from server.notifications.send import desk_users, notify
from server.parking.models import SpaceHolding
from server.parking.rules import HOLDING_KIND_LABELS, MAX_REMIND_DAYS, RENTED, reminder_due

KIND = "parking_rent_expiring"


@dataclass
class ReminderReport:
    seen: int = 0
    reminded: int = 0


def remind_expiring(session: Session, *, now: datetime, batch: int = 200) -> ReminderReport:
    """Tell the desk (the organisation's dispatchers) of each rental now within its reminder
    days, once per contract."""
    today = local_date(now)
    report = ReminderReport()
    rows = session.scalars(
        select(SpaceHolding)
        .where(
            SpaceHolding.kind == RENTED,
            SpaceHolding.ended_at.is_(None),
            SpaceHolding.reminded_at.is_(None),
            SpaceHolding.end_date >= today,
            SpaceHolding.end_date <= today + timedelta(days=MAX_REMIND_DAYS),
            SpaceHolding.end_date - SpaceHolding.remind_days <= today,
        )
        .order_by(SpaceHolding.end_date, SpaceHolding.id)
        .limit(batch)
        .with_for_update(of=SpaceHolding, skip_locked=True)
    ).all()
    report.seen = len(rows)
    for holding in rows:
        if not reminder_due(
            kind=holding.kind,
            end_date=holding.end_date,
            remind_days=holding.remind_days,
            today=today,
            ended=holding.ended_at is not None,
        ):
            continue
        marked = session.execute(
            update(SpaceHolding)
            .where(SpaceHolding.id == holding.id, SpaceHolding.reminded_at.is_(None))
            .values(reminded_at=now)
            .returning(SpaceHolding.id)
            .execution_options(synchronize_session=False)
        ).first()
        if marked is None:
            continue
        _remind(session, holding=holding, now=now)
        report.reminded += 1
    return report


def _remind(session: Session, *, holding: SpaceHolding, now: datetime) -> None:
    end_date: date | None = holding.end_date
    assert end_date is not None
    space = holding.space
    notify(
        session,
        org_id=holding.org_id,
        kind=KIND,
        user_ids=desk_users(session, org_id=holding.org_id),
        now=now,
        data={
            "space": f"{space.community.name} {space.number}",
            "customer": f"{holding.customer.name}（{HOLDING_KIND_LABELS[holding.kind]}）",
            "end_date": end_date.isoformat(),
            "space_id": space.id,
            "holding_id": holding.id,
        },
        dedupe_key=f"parking:{holding.id}:{end_date.isoformat()}",
    )
