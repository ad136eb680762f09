"""The daily rent-expiry reminder: due rentals are told to the desk once per contract."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.jobs import PARKING_REMINDERS, PERIODIC
from server.models import Notification
from server.parking import reminders, spaces
from server.parking.models import ParkingSpace
from workers import tasks

LOCAL = ZoneInfo("Asia/Shanghai")


def at_local(day: date, hour: int = 8, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL).astimezone(UTC)


def test_the_job_is_scheduled_daily():
    [periodic] = [p for p in PERIODIC if p.job == PARKING_REMINDERS]
    assert periodic.name == "parking-reminders" and periodic.cron == "30 0 * * *"
    assert PARKING_REMINDERS.func == "workers.tasks.parking_reminders_tick"
    assert callable(tasks.parking_reminders_tick)


def test_rentals_within_their_reminder_days_are_told_once(make, db_session):
    org = make.org()
    dispatcher = make.dispatcher(org)
    admin_only = make.user(org, roles=["admin"])
    community = make.community(org, name="阳光花园")
    tenant = make.customer(org, name="李四")
    owner = make.customer(org, name="张三")
    end = date(2027, 3, 31)

    def space(number):
        row = ParkingSpace(org_id=org.id, community=community, number=number, kind="ground")
        db_session.add(row)
        db_session.flush()
        return row

    def rent(number, *, customer=tenant, kind="rented", end_date=end, days=30):
        return spaces.assign(
            db_session,
            org_id=org.id,
            space_id=space(number).id,
            data={
                "customer_id": customer.id,
                "kind": kind,
                "start_date": date(2026, 4, 1),
                "end_date": end_date,
                "remind_days": days,
            },
            now=datetime.now(UTC),
        )

    due = rent("A-001")
    rent("A-002", days=10)  # not yet: 10 days before
    rent("A-003", customer=owner, kind="owned", end_date=None)  # owned: never reminded
    ended = rent("A-004")
    spaces.end_holding(
        db_session,
        org_id=org.id,
        holding_id=ended.id,
        end_date=date(2026, 12, 31),
        reason="退租",
        now=datetime.now(UTC),
    )
    rent("A-005", end_date=date(2027, 2, 27))  # already over on the day of the run

    def told() -> int:
        return len(
            db_session.scalars(
                select(Notification.id).where(
                    Notification.org_id == org.id, Notification.kind == "parking_rent_expiring"
                )
            ).all()
        )

    def run(day):
        """Reminders of this organisation's rentals only: the job runs over every
        organisation, and other tests commit rentals of their own."""
        before = told()
        reminders.remind_expiring(db_session, now=at_local(day))
        return told() - before

    assert run(date(2027, 2, 28)) == 0  # 31 days before
    assert run(date(2027, 3, 1)) == 1  # exactly 30 days before: A-001
    assert run(date(2027, 3, 1)) == 0  # once
    assert run(date(2027, 3, 5)) == 0

    notes = db_session.scalars(select(Notification).where(Notification.org_id == org.id)).all()
    assert [(n.user_id, n.kind) for n in notes] == [(dispatcher.id, "parking_rent_expiring")]
    assert notes[0].title == "车位租约即将到期"
    assert notes[0].body == "阳光花园 A-001 李四（租用）：2027-03-31 到期"
    assert admin_only.id not in {n.user_id for n in notes}
    db_session.refresh(due)
    assert due.reminded_at is not None

    # Renewed for a year: a new contract, reminded again when it comes near.
    spaces.change_holding(
        db_session, org_id=org.id, holding_id=due.id, changes={"end_date": date(2028, 3, 31)}
    )
    assert run(date(2027, 3, 21)) == 1  # A-002, 10 days before
    assert run(date(2028, 3, 1)) == 1  # the renewed A-001
    assert run(date(2028, 3, 2)) == 0


def test_the_job_function_commits_its_reminders(app, make, db_session, monkeypatch):
    """The worker's function runs the use case in batches, each its own transaction."""
    seen = []

    class FakeUow:
        session = db_session

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    class FakeDb:
        def transaction(self):
            seen.append("tx")
            return FakeUow()

    monkeypatch.setattr(tasks, "database", lambda: FakeDb())
    org = make.org()
    make.dispatcher(org)
    community = make.community(org)
    customer = make.customer(org)
    for n in range(3):
        row = ParkingSpace(org_id=org.id, community=community, number=f"J{n}", kind="ground")
        db_session.add(row)
        db_session.flush()
        spaces.assign(
            db_session,
            org_id=org.id,
            space_id=row.id,
            data={
                "customer_id": customer.id,
                "kind": "rented",
                "start_date": date(2026, 1, 1),
                "end_date": date(2026, 12, 31),
                "remind_days": 30,
            },
            now=datetime.now(UTC),
        )
    assert tasks.parking_reminders_tick(now=at_local(date(2026, 12, 20)), batch=2) == 3
    assert seen == ["tx", "tx"]
    assert tasks.parking_reminders_tick(now=at_local(date(2026, 12, 21)), batch=2) == 0
