"""Race tests: real commits, the real app on a loopback port, real parallel HTTP clients.

These tests stay away from the `connection`/`db_session` fixtures: inside one SAVEPOINT-wrapped
connection every request would queue on that connection and no race could happen. Instead
each test builds its own organisation and commits it for real, so tests never see each
other's rows; the per-run database is dropped at the end of the session.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from flask import Flask
from sqlalchemy import text

from server.db.session import Database
from server.kernel.roles import Role
from server.orders.actors import Actor
from server.orders.filing import NewOrder, file_order
from server.orders.handout import grab_order
from tests.factories import Factory
from tests.fakes.server import serve

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TECH = "/api/v1/tech/orders"
ADMIN = "/api/v1/admin/orders"
# The answers a race may end with: one winner, the others refused with a known 409.
ALLOWED_ERRORS = {"order_taken", "grab_limit_reached", "invalid_transition"}


@dataclass(frozen=True)
class Member:
    """A staff member (or desk user) of the race organisation, with a bearer header."""

    user_id: int
    staff_id: int | None
    headers: dict[str, str]


@dataclass(frozen=True)
class Answer:
    who: int
    status: int
    error: str | None


Call = Callable[[requests.Session], requests.Response]


class RaceOrg:
    """One committed organisation set up for orders, and helpers to race against it."""

    def __init__(self, app: Flask, base_url: str, *, technicians: int, cap: int) -> None:
        container = app.extensions["baoxiu"]
        self.db: Database = container.db
        self.base_url = base_url
        now = datetime.now(UTC)
        with self.db.transaction() as uow:
            make = Factory(uow.session, container.tokens)
            org = make.org(code=f"race{uuid.uuid4().hex[:16]}")
            community = make.community(org)
            room = make.room(make.building(community))
            department = make.department(org, name="工程部", grab_cap=cap)
            post = make.post(org, name="维修工")
            order_type = make.order_type(org, name="水电维修", department_id=department.id)
            subtype = make.subtype(order_type, name="水管漏水")
            self.techs: list[Member] = []
            for _ in range(technicians):
                staff = make.staff(org, department_id=department.id, post_id=post.id)
                user = staff.user
                pair = container.tokens.issue(uow.session, user=user, now=now)
                self.techs.append(
                    Member(user.id, staff.id, {"Authorization": f"Bearer {pair.access_token}"})
                )
            desk = make.user(org, roles=[Role.ADMIN.value, Role.DISPATCHER.value])
            pair = container.tokens.issue(uow.session, user=desk, now=now)
            self.desk = Member(desk.id, None, {"Authorization": f"Bearer {pair.access_token}"})
            self.org_id, self.room_id, self.subtype_id = org.id, room.id, subtype.id

    # -- setup through the service layer, committed ---------------------------------------

    def file(self, count: int) -> list[int]:
        """File `count` pending orders as the desk; return their ids."""
        now = datetime.now(UTC)
        actor = Actor(user_id=self.desk.user_id, org_id=self.org_id, role="dispatcher")
        with self.db.transaction() as uow:
            ids = [
                file_order(
                    uow.session,
                    actor=actor,
                    new=NewOrder(
                        subtype_id=self.subtype_id,
                        room_id=self.room_id,
                        description="厨房水管漏水",
                        contact_phone="13800000001",
                    ),
                    now=now,
                    today=now.astimezone(LOCAL_TZ).date(),
                ).id
                for _ in range(count)
            ]
        return ids

    def hand(self, order_id: int, tech: Member) -> None:
        """Give `tech` the order (a committed grab), to set up a race."""
        assert tech.staff_id is not None
        actor = Actor(
            user_id=tech.user_id, org_id=self.org_id, role="technician", staff_id=tech.staff_id
        )
        with self.db.transaction() as uow:
            grab_order(uow.session, actor=actor, order_id=order_id, now=datetime.now(UTC))

    # -- the requests a race is made of ---------------------------------------------------

    def post(self, who: Member, path: str, body: dict[str, Any] | None = None) -> Call:
        url = self.base_url + path

        def call(http: requests.Session) -> requests.Response:
            return http.post(url, json=body or {}, headers=who.headers, timeout=30)

        return call

    def grab(self, tech: Member, order_id: int) -> Call:
        return self.post(tech, f"{TECH}/{order_id}/grab")

    def assign(self, order_id: int, tech: Member) -> Call:
        return self.post(self.desk, f"{ADMIN}/{order_id}/assign", {"staff_id": tech.staff_id})

    def transfer(self, holder: Member, order_id: int, target: Member) -> Call:
        return self.post(
            holder,
            f"{TECH}/{order_id}/transfer",
            {"staff_id": target.staff_id, "reason": "忙不过来"},
        )

    # -- checking the outcome on a fresh connection ---------------------------------------

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.db.engine.connect() as conn:
            return list(conn.execute(text(sql), {"org_id": self.org_id, **params}).all())

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.db.engine.connect() as conn:
            return conn.execute(text(sql), {"org_id": self.org_id, **params}).scalar()

    def held(self) -> dict[int, int]:
        """Orders held per technician (assigned, in progress, on hold)."""
        return {
            staff_id: n
            for staff_id, n in self.rows(
                "SELECT assignee_id, count(*) FROM orders WHERE org_id = :org_id"
                " AND status IN ('assigned', 'in_progress', 'on_hold') GROUP BY assignee_id"
            )
        }

    def events(self, action: str) -> int:
        return int(
            self.scalar(
                "SELECT count(*) FROM order_events WHERE org_id = :org_id AND action = :action",
                action=action,
            )
        )


def race(calls: Sequence[Call]) -> list[Answer]:
    """Fire all calls at once from parallel clients; return every answer, in call order.

    Each client opens its own keep-alive session and waits on a barrier, so the requests leave
    together rather than as fast as threads happen to start.
    """
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> Answer:
        with requests.Session() as http:
            barrier.wait(timeout=30)
            response = calls[index](http)
        error = None
        if response.status_code >= 400:
            body = response.json() if response.content else {}
            error = body.get("error") if isinstance(body, dict) else None
        return Answer(index, response.status_code, error)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, range(len(calls))))


def tally(answers: Sequence[Answer]) -> Counter[tuple[int, str | None]]:
    """(status, error id) → how many answers; asserts there is nothing but 200 and known 409s."""
    counts = Counter((a.status, a.error) for a in answers)
    unexpected = {k: n for k, n in counts.items() if k[0] != 200 and k[1] not in ALLOWED_ERRORS}
    assert not unexpected, f"unexpected answers: {unexpected}"
    assert all(a.status in (200, 409) for a in answers), counts
    return counts


@pytest.fixture(scope="module")
def base_url(app: Flask) -> Iterator[str]:
    """The app served on a loopback port by a threaded server: one thread per request."""
    with serve(app) as url:
        yield url


@pytest.fixture
def race_org(app: Flask, base_url: str) -> Callable[..., RaceOrg]:
    """Build a fresh, committed organisation: `race_org(technicians=40, cap=3)`."""

    def build(*, technicians: int, cap: int) -> RaceOrg:
        return RaceOrg(app, base_url, technicians=technicians, cap=cap)

    return build
