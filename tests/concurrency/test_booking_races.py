"""Booking races through the real HTTP API on PostgreSQL, with real parallel clients.

The quota lives in one conditional UPDATE on the slot's counter row: 50 tenants booking a
5-place slot at once must end with exactly 5 orders, and cancel and reschedule racing each other
must leave every counter equal to the live orders booked into its slot.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
import requests
from sqlalchemy import text

from server.booking.models import BookingSettings
from server.kernel.clock import LOCAL_TZ
from server.organisation.models import Organisation
from tests.concurrency.conftest import Member, race
from tests.factories import Factory, unique_phone

pytestmark = pytest.mark.concurrency

TENANT = "/api/v1/tenant/orders"
SLOT_ERRORS = {"slot_full", "slot_unavailable", "invalid_transition"}


class BookingOrg:
    """A committed organisation: one room, `tenants` residents of it, a booking subtype."""

    def __init__(self, app, base_url: str, *, tenants: int, quota: int) -> None:
        container = app.extensions["baoxiu"]
        self.db = container.db
        self.base_url = base_url
        now = datetime.now(UTC)
        with self.db.transaction() as uow:
            make = Factory(uow.session, container.tokens)
            org = make.org(code=f"book{uuid.uuid4().hex[:16]}")
            room = make.room(make.building(make.community(org)))
            order_type = make.order_type(org, name="家电维修")
            subtype = make.subtype(order_type, name="洗衣机", booking_enabled=True)
            uow.session.add(
                BookingSettings(
                    org_id=org.id,
                    subtype_id=subtype.id,
                    slot_minutes=60,
                    windows=[["09:00", "12:00"]],
                    weekdays=[1, 2, 3, 4, 5, 6, 7],
                    quota=quota,
                    desk_reserve=0,
                    days_ahead=14,
                    lead_minutes=60,
                    hold_minutes=15,
                )
            )
            self.tenants: list[Member] = []
            for _ in range(tenants):
                phone = unique_phone()
                customer = make.customer(org)
                make.contact(customer, phone=phone)
                make.holds(customer, room)
                user = make.tenant(org, phone=phone)
                pair = container.tokens.issue(uow.session, user=user, now=now)
                self.tenants.append(
                    Member(user.id, None, {"Authorization": f"Bearer {pair.access_token}"})
                )
            self.org_id, self.room_id, self.subtype_id = org.id, room.id, subtype.id
        day = now.astimezone(LOCAL_TZ).date() + timedelta(days=2)
        self.slots = [
            datetime.combine(day, time(hour, 0), tzinfo=LOCAL_TZ).isoformat()
            for hour in (9, 10, 11)
        ]

    def file(self, who: Member, slot: str):
        body = {
            "subtype_id": self.subtype_id,
            "room_id": self.room_id,
            "description": "洗衣机不转",
            "slot_start": slot,
        }

        def call(http: requests.Session) -> requests.Response:
            return http.post(self.base_url + TENANT, json=body, headers=who.headers, timeout=60)

        return call

    def post(self, who: Member, path: str, body: dict):
        def call(http: requests.Session) -> requests.Response:
            return http.post(self.base_url + path, json=body, headers=who.headers, timeout=60)

        return call

    def scalar(self, sql: str, **params):
        with self.db.engine.connect() as conn:
            return conn.execute(text(sql), {"org_id": self.org_id, **params}).scalar()

    def rows(self, sql: str, **params):
        with self.db.engine.connect() as conn:
            return list(conn.execute(text(sql), {"org_id": self.org_id, **params}).all())

    def counters_match_orders(self) -> dict[datetime, int]:
        """Every counter equals the live (not cancelled) orders booked into its slot."""
        counters = dict(
            self.rows("SELECT slot_start, used FROM slot_counters WHERE org_id = :org_id")
        )
        live = dict(
            self.rows(
                "SELECT slot_start, count(*) FROM orders WHERE org_id = :org_id"
                " AND status <> 'cancelled' GROUP BY slot_start"
            )
        )
        assert {k: v for k, v in counters.items() if v} == live
        return live


def tally(answers) -> Counter:
    counts = Counter((a.status, a.error) for a in answers)
    assert all(a.status in (200, 201) or a.error in SLOT_ERRORS for a in answers), counts
    return counts


@pytest.fixture
def booking_org(app, base_url):
    def build(*, tenants: int, quota: int) -> BookingOrg:
        return BookingOrg(app, base_url, tenants=tenants, quota=quota)

    return build


def test_fifty_tenants_booking_a_five_place_slot_make_exactly_five_orders(booking_org):
    org = booking_org(tenants=50, quota=5)
    slot = org.slots[0]

    answers = race([org.file(tenant, slot) for tenant in org.tenants])

    assert tally(answers) == {(201, None): 5, (409, "slot_full"): 45}
    assert org.scalar("SELECT count(*) FROM orders WHERE org_id = :org_id") == 5
    assert org.scalar("SELECT used FROM slot_counters WHERE org_id = :org_id") == 5
    org.counters_match_orders()


def test_cancel_and_reschedule_racing_keep_every_counter_true(booking_org):
    org = booking_org(tenants=15, quota=5)
    first, second = org.slots[0], org.slots[1]
    owners = org.tenants[:5]
    filed = race([org.file(tenant, first) for tenant in owners])
    assert tally(filed) == {(201, None): 5}
    order_ids = [
        order_id
        for (order_id,) in org.rows("SELECT id FROM orders WHERE org_id = :org_id ORDER BY id")
    ]
    by_owner = dict(zip(sorted(t.user_id for t in owners), order_ids, strict=True))
    owner_of = {by_owner[t.user_id]: t for t in owners}
    # Fill the second slot to 3 of 5 so that the moves into it compete for 2 places.
    assert tally(race([org.file(t, second) for t in org.tenants[5:8]])) == {(201, None): 3}

    calls = []
    for order_id, owner in owner_of.items():
        calls.append(org.post(owner, f"{TENANT}/{order_id}/cancel", {"reason": "不用了"}))
        calls.append(org.post(owner, f"{TENANT}/{order_id}/reschedule", {"slot_start": second}))
    # Newcomers want the places the cancels and moves free in the first slot.
    calls += [org.file(t, first) for t in org.tenants[8:15]]

    counts = tally(race(calls))

    live = org.counters_match_orders()
    assert all(n <= 5 for n in live.values())
    assert live.get(datetime.fromisoformat(second), 0) <= 5
    assert (500, None) not in counts
    # Each contested order ended cancelled or moved, never both half-done.
    for order_id in owner_of:
        status, slot_start = org.rows(
            "SELECT status, slot_start FROM orders WHERE id = :id", id=order_id
        )[0]
        assert status == "cancelled" or slot_start in {
            datetime.fromisoformat(first),
            datetime.fromisoformat(second),
        }


def test_a_grid_change_racing_bookings_never_strands_one(app, booking_org):
    # Bookings into 10:00 race an admin saving a grid without 10:00 (one 09:00–12:00 slot).
    # The save waits for bookings made under the old grid (they share-lock the subtype) and
    # refuses to strand them; it never saves with a live booking left off the new grid.
    org = booking_org(tenants=12, quota=20)
    container = app.extensions["baoxiu"]
    with org.db.transaction() as uow:
        make = Factory(uow.session, container.tokens)
        admin = make.admin(uow.session.get(Organisation, org.org_id))
        pair = container.tokens.issue(uow.session, user=admin, now=datetime.now(UTC))
        desk = Member(admin.id, None, {"Authorization": f"Bearer {pair.access_token}"})
    grid = {
        "enabled": True,
        "slot_minutes": 180,
        "windows": [{"start": "09:00", "end": "12:00"}],
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "quota": 20,
        "days_ahead": 14,
        "lead_minutes": 60,
    }
    path = f"/api/v1/admin/booking/subtypes/{org.subtype_id}/settings"

    def save(http: requests.Session) -> requests.Response:
        return http.put(org.base_url + path, json=grid, headers=desk.headers, timeout=60)

    calls = [org.file(tenant, org.slots[1]) for tenant in org.tenants]
    calls[len(calls) // 2 : len(calls) // 2] = [save, save]
    answers = race(calls)

    counts = Counter((a.status, a.error) for a in answers)
    assert set(counts) <= {(200, None), (201, None), (409, "conflict"), (409, "slot_unavailable")}
    minutes = org.scalar(
        "SELECT slot_minutes FROM booking_settings WHERE org_id = :org_id AND subtype_id = :s",
        s=org.subtype_id,
    )
    live_at_ten = org.scalar(
        "SELECT count(*) FROM orders WHERE org_id = :org_id AND status <> 'cancelled'"
        " AND slot_start = :t",
        t=datetime.fromisoformat(org.slots[1]),
    )
    if minutes == 180:
        assert live_at_ten == 0, counts
    else:
        assert live_at_ten == counts[(201, None)] > 0
    org.counters_match_orders()
