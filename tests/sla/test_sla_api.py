"""SLA deadlines and escalation through the HTTP API, with an injected clock.

The requests run at a pinned instant (the request clock is patched), the tick is called with
`now=`; everything runs on the real database in the test's transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

import server.app as application
from server.kernel.clock import LOCAL_TZ
from server.models import Order, OrderEvent, SlaClock
from server.notifications.models import Notification
from server.sla.timers import tick

ADMIN = "/api/v1/admin"
TECH = "/api/v1/tech/orders"
POLICIES = f"{ADMIN}/settings/sla-policies"
CALENDAR = f"{ADMIN}/settings/business-calendar"
# A Friday two weeks back: requests run in the past, where the tests' access tokens (issued
# now) are still valid. The default calendar is Mon–Fri 09:00–18:00 Beijing time.
_TODAY = datetime.now(LOCAL_TZ).date() - timedelta(days=14)
FRI = _TODAY - timedelta(days=(_TODAY.isoweekday() - 5) % 7)
MON = FRI + timedelta(days=3)
TUE = FRI + timedelta(days=4)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ).astimezone(UTC)


class Clock:
    """The request clock, pinned: every request runs at `clock.now`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = at(FRI, 16)
        clock = self

        class Pinned(datetime):
            @classmethod
            def now(cls, tz=None):  # type: ignore[override]
                return clock.now.astimezone(tz) if tz else clock.now

        # The request's instant is taken once, in the app's before-request hook.
        monkeypatch.setattr(application, "datetime", Pinned)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def admin(make, world):
    return make.admin(world.org)


def post(client, world, who, path, body=None, expect=200):
    r = client.post(path, json=body or {}, headers=world.headers(who))
    assert r.status_code == expect, r.json
    return r.json


def policy(client, world, admin, **body):
    body = {"order_type_id": world.order_type.id, "resolution_minutes": 600, **body}
    return post(client, world, admin, POLICIES, body, expect=201)


def clock_row(db_session, order_id) -> SlaClock:
    row = db_session.get(SlaClock, order_id, populate_existing=True)
    assert row is not None
    return row


def due_at(db_session, order_id) -> datetime:
    return db_session.scalar(
        select(Order.due_at).where(Order.id == order_id).execution_options(populate_existing=True)
    )


def escalations(db_session, order_id):
    return [
        (e.data["level"], e.data["deadline"], e.from_status, e.to_status)
        for e in db_session.scalars(
            select(OrderEvent)
            .where(OrderEvent.order_id == order_id, OrderEvent.action == "escalate")
            .order_by(OrderEvent.id)
        )
    ]


SLA_KINDS = (
    "sla_reminder",
    "order_overdue",
    "order_escalated",
    "visit_reminder",
    "visit_reminder_tenant",
)


def sent(db_session, order_id):
    """The SLA's notifications of the order (other areas notify of other things)."""
    return sorted(
        (n.kind, n.user_id)
        for n in db_session.scalars(
            select(Notification).where(
                Notification.order_id == order_id, Notification.kind.in_(SLA_KINDS)
            )
        )
    )


def overdue_ids(client, world, admin):
    r = client.get(
        f"{ADMIN}/orders", query_string={"overdue": "true"}, headers=world.headers(admin)
    )
    assert r.status_code == 200, r.json
    return {o["id"] for o in r.json["items"]}


def test_policies_and_calendar_crud(client, world, admin):
    created = policy(client, world, admin, response_minutes=60, business_hours=True)
    assert created["priority"] is None and created["business_hours"] is True
    urgent = policy(client, world, admin, priority="urgent", resolution_minutes=120)
    r = client.post(
        POLICIES,
        json={"order_type_id": world.order_type.id, "resolution_minutes": 30},
        headers=world.headers(admin),
    )
    assert r.status_code == 409
    listed = client.get(POLICIES, headers=world.headers(world.dispatcher)).json["items"]
    assert [p["id"] for p in listed] == [created["id"], urgent["id"]]
    r = client.patch(
        f"{POLICIES}/{urgent['id']}", json={"resolution_minutes": 90}, headers=world.headers(admin)
    )
    assert r.status_code == 200 and r.json["resolution_minutes"] == 90
    # Dispatchers read, admins write.
    r = client.post(POLICIES, json={}, headers=world.headers(world.dispatcher))
    assert r.status_code == 403
    assert (
        client.delete(f"{POLICIES}/{urgent['id']}", headers=world.headers(admin)).status_code == 204
    )

    calendar = client.get(CALENDAR, headers=world.headers(admin)).json
    assert calendar["customised"] is False and calendar["weekdays"] == [1, 2, 3, 4, 5]
    assert calendar["opens"].startswith("09:00")
    r = client.put(
        CALENDAR,
        json={"weekdays": [1, 2, 3, 4, 5, 6], "opens": "08:30", "closes": "17:30"},
        headers=world.headers(admin),
    )
    assert r.status_code == 200 and r.json["customised"] is True and r.json["weekdays"][-1] == 6
    r = client.put(
        CALENDAR,
        json={"weekdays": [1], "opens": "18:00", "closes": "09:00"},
        headers=world.headers(admin),
    )
    assert r.status_code == 422
    day = post(
        client,
        world,
        admin,
        f"{CALENDAR}/days",
        {"day": "2027-01-01", "kind": "holiday", "name": "元旦"},
        expect=201,
    )
    again = client.post(
        f"{CALENDAR}/days",
        json={"day": "2027-01-01", "kind": "workday"},
        headers=world.headers(admin),
    )
    assert again.status_code == 409
    assert client.get(CALENDAR, headers=world.headers(admin)).json["days"][0]["kind"] == "holiday"
    r = client.delete(f"{CALENDAR}/days/{day['id']}", headers=world.headers(admin))
    assert r.status_code == 204


def test_without_a_policy_the_type_s_sla_hours_stay_the_deadline(client, world, db_session, clock):
    oid = world.file(client)["id"]
    assert due_at(db_session, oid) == clock.now + timedelta(hours=world.order_type.sla_hours)
    assert clock_row(db_session, oid).business_hours is False


def test_reminder_and_escalations_at_business_hours_times(client, world, admin, db_session, clock):
    policy(client, world, admin, response_minutes=60, business_hours=True)
    tech = world.techs[0]
    oid = world.file(client)["id"]  # Friday 16:00: 10 business hours → Monday 17:00
    assert due_at(db_session, oid) == at(MON, 17)
    row = clock_row(db_session, oid)
    assert (row.response_remind_at, row.response_due_at) == (at(FRI, 16, 48), at(FRI, 17))
    assert (row.resolution_remind_at, row.resolution_escalate_at) == (at(MON, 15), at(TUE, 13))

    clock.now = at(FRI, 16, 30)
    post(client, world, world.dispatcher, f"{ADMIN}/orders/{oid}/assign", {"staff_id": tech.id})
    # 80 % of the response hour: the assigned technician is reminded, once.
    assert tick(db_session, now=at(FRI, 16, 47)).reminded == 0
    assert tick(db_session, now=at(FRI, 16, 48)).reminded == 1
    assert tick(db_session, now=at(FRI, 16, 49)).reminded == 0
    assert sent(db_session, oid) == [("sla_reminder", tech.user_id)]
    clock.now = at(FRI, 16, 55)
    post(client, world, tech, f"{TECH}/{oid}/accept")
    # Taken in time: the response deadline asks nothing more.
    assert tick(db_session, now=at(FRI, 17, 30)).escalated == 0

    # Over the weekend nothing is due; Monday 15:00 is 80 % of the resolution time.
    assert tick(db_session, now=at(MON, 14, 59)).reminded == 0
    assert tick(db_session, now=at(MON, 15)).reminded == 1
    assert tick(db_session, now=at(MON, 17)).escalated == 0  # at the deadline, not past it
    assert oid not in overdue_ids(client, world, admin)  # the console agrees (clock is 16:55 Fri)
    clock.now = at(MON, 17)
    assert oid not in overdue_ids(client, world, admin)
    clock.now = at(MON, 17, 1)
    assert oid in overdue_ids(client, world, admin)
    first = tick(db_session, now=at(MON, 17, 1))
    assert first.escalated == 1
    assert escalations(db_session, oid) == [(1, "resolution", "in_progress", "in_progress")]
    # Level 1 went to the dispatchers; a second run sends nothing twice.
    assert ("order_overdue", world.dispatcher.id) in sent(db_session, oid)
    before = sent(db_session, oid)
    assert tick(db_session, now=at(MON, 17, 2)).escalated == 0
    assert sent(db_session, oid) == before
    # Level 2 after another half of the deadline (5 business hours): Tuesday 13:00, to admins.
    assert tick(db_session, now=at(TUE, 13)).escalated == 0
    assert tick(db_session, now=at(TUE, 13, 1)).escalated == 1
    assert escalations(db_session, oid)[-1] == (2, "resolution", "in_progress", "in_progress")
    assert ("order_escalated", admin.id) in sent(db_session, oid)
    timeline = client.get(f"{ADMIN}/orders/{oid}", headers=world.headers(admin)).json["timeline"]
    assert [e["action"] for e in timeline][-2:] == ["escalate", "escalate"]
    assert timeline[-1]["actor_role"] == "system" and timeline[-1]["data"]["level"] == 2


def test_the_clock_pauses_on_hold(client, world, admin, db_session, clock):
    policy(client, world, admin, business_hours=True)
    tech = world.techs[0]
    oid = world.file(client)["id"]  # due Monday 17:00
    post(client, world, tech, f"{TECH}/{oid}/grab")
    clock.now = at(MON, 10)
    post(client, world, tech, f"{TECH}/{oid}/hold", {"reason": "等配件"})
    # Paused: past the old deadline, nothing is sent, nothing escalates, and the console does
    # not call it overdue (the tick keeps a paused order's due_at ahead of the clock).
    clock.now = at(MON, 16, 55)
    report = tick(db_session, now=clock.now)
    assert (report.reminded, report.escalated) == (0, 0)
    assert due_at(db_session, oid) > at(MON, 17, 55)
    clock.now = at(MON, 17, 30)
    report = tick(db_session, now=clock.now)
    assert (report.reminded, report.escalated) == (0, 0)
    assert oid not in overdue_ids(client, world, admin)
    assert clock_row(db_session, oid).resolution_due_at == at(MON, 17)  # the clock's own
    clock.now = at(TUE, 10)
    post(client, world, tech, f"{TECH}/{oid}/resume")
    # Nine business hours on hold (Monday 10–18, Tuesday 9–10): the deadline moves with them.
    assert due_at(db_session, oid) == at(TUE, 17)
    row = clock_row(db_session, oid)
    assert row.paused_at is None and row.resolution_remind_at == at(TUE, 15)
    assert tick(db_session, now=at(TUE, 14, 59)).reminded == 0
    assert tick(db_session, now=at(TUE, 15)).reminded == 1
    assert tick(db_session, now=at(TUE, 17, 1)).escalated == 1


def test_awaiting_payment_starts_paused(client, world, admin, db_session, clock):
    policy(client, world, admin, business_hours=True)
    oid = world.file(client, subtype_id=world.paid_subtype.id)["id"]
    row = clock_row(db_session, oid)
    assert row.paused_at == clock.now
    assert tick(db_session, now=at(TUE, 12)).escalated == 0


def test_an_order_overdue_before_its_hold_stays_overdue(client, world, admin, db_session, clock):
    policy(client, world, admin, business_hours=True)
    tech = world.techs[0]
    oid = world.file(client)["id"]  # due Monday 17:00
    post(client, world, tech, f"{TECH}/{oid}/grab")
    clock.now = at(TUE, 10)
    assert tick(db_session, now=clock.now).escalated == 1
    post(client, world, tech, f"{TECH}/{oid}/hold", {"reason": "等配件"})
    clock.now = at(TUE, 16)
    tick(db_session, now=clock.now)
    assert due_at(db_session, oid) == at(MON, 17)
    assert oid in overdue_ids(client, world, admin)


def test_holidays_and_make_up_days_move_deadlines(client, world, admin, db_session, clock):
    policy(client, world, admin, business_hours=True, resolution_minutes=180)
    post(client, world, admin, f"{CALENDAR}/days", {"day": MON.isoformat(), "kind": "holiday"}, 201)
    saturday = FRI + timedelta(days=1)
    oid = world.file(client)["id"]  # Friday 16:00 + 3 h: Friday 2 h, Monday off → Tuesday 10:00
    assert due_at(db_session, oid) == at(TUE, 10)
    post(
        client,
        world,
        admin,
        f"{CALENDAR}/days",
        {"day": saturday.isoformat(), "kind": "workday"},
        201,
    )
    second = world.file(client)["id"]  # the make-up Saturday counts
    assert due_at(db_session, second) == at(saturday, 10)
    # A policy for urgent orders wins over the type's general one.
    policy(client, world, admin, priority="urgent", resolution_minutes=60)
    urgent = world.file(client, priority="urgent")["id"]
    assert due_at(db_session, urgent) == clock.now + timedelta(hours=1)


def test_a_late_tick_sends_the_highest_level_once(client, world, admin, db_session, clock):
    policy(client, world, admin, business_hours=True)
    oid = world.file(client)["id"]
    late = at(TUE + timedelta(days=7), 12)
    report = tick(db_session, now=late)
    assert (report.reminded, report.escalated) == (0, 1)
    assert escalations(db_session, oid) == [(2, "resolution", "pending", "pending")]
    assert [k for k, _ in sent(db_session, oid)] == ["order_escalated"]
    assert tick(db_session, now=late + timedelta(minutes=1)).escalated == 0
    clock.now = late
    assert oid in overdue_ids(client, world, admin)


def test_finished_orders_are_not_escalated(client, world, admin, db_session, clock):
    policy(client, world, admin, business_hours=True)
    tech = world.techs[0]
    oid = world.file(client)["id"]
    post(client, world, tech, f"{TECH}/{oid}/grab")
    post(client, world, tech, f"{TECH}/{oid}/complete", {"result": "修好了"})
    report = tick(db_session, now=at(TUE + timedelta(days=7), 12))
    assert (report.reminded, report.escalated) == (0, 0)
    assert escalations(db_session, oid) == []


def test_booked_visits_are_reminded_once_an_hour_before(client, world, db_session, clock):
    tech = world.techs[0]
    oid = world.file(client)["id"]
    post(client, world, tech, f"{TECH}/{oid}/grab")
    slot = at(MON, 10)
    # Booking goes through the booking area; here the visit is set on the order directly.
    db_session.execute(
        Order.__table__.update()
        .where(Order.id == oid)
        .values(slot_start=slot, slot_end=slot + timedelta(hours=1))
    )
    assert tick(db_session, now=slot - timedelta(minutes=61)).visits == 0
    assert tick(db_session, now=slot - timedelta(minutes=60)).visits == 1
    assert tick(db_session, now=slot - timedelta(minutes=30)).visits == 0
    assert sent(db_session, oid) == sorted(
        [("visit_reminder", tech.user_id), ("visit_reminder_tenant", world.tenant.id)]
    )
    # Moved to another slot (改约): reminded again for the new one.
    moved = slot + timedelta(days=1)
    db_session.execute(Order.__table__.update().where(Order.id == oid).values(slot_start=moved))
    assert tick(db_session, now=moved - timedelta(minutes=10)).visits == 1
