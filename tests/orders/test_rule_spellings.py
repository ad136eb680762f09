"""Rules with a Python spelling and an SQL spelling: the two must always agree.

The grab cap, eligibility, overdue and "an active technician" are each decided in Python
(`rules`) and filtered in SQL (pool, console, staff load); these tests compare them row by row.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from schemas.orders import OrderSchema
from server.kernel.clock import use_instant
from server.kernel.roles import Role
from server.models import Order, OrderType, Staff, User
from server.orders.capacity import cap_column, technician
from server.orders.eligibility import eligible_types
from server.orders.overdue import overdue_clause
from server.orders.rules.eligibility import is_eligible
from server.orders.rules.grab_cap import effective_grab_cap
from server.orders.rules.overdue import is_overdue
from server.orders.rules.states import Status
from server.staff.technicians import active_technician, is_active_technician


def test_sql_and_python_caps_agree(make, db_session):
    org = make.org(default_grab_cap=5)
    for own, department_cap in itertools.product((None, 0, 1), (None, 0, 3)):
        department = make.department(org, grab_cap=department_cap)
        staff = make.staff(org, department_id=department.id, grab_cap=own)
        expected = effective_grab_cap(
            organisation_default=5, department_default=department_cap, technician_override=own
        )
        in_sql = db_session.scalar(
            select(cap_column(organisation_default=5)).where(Staff.id == staff.id)
        )
        read = technician(db_session, org_id=org.id, staff_id=staff.id)
        assert in_sql == expected == read.cap, (own, department_cap)
    no_department = make.staff(org)
    assert (
        db_session.scalar(
            select(cap_column(organisation_default=5)).where(Staff.id == no_department.id)
        )
        == 5
    )


def test_sql_and_python_eligibility_agree(make, db_session):
    """Every binding of a type × every binding of a technician: pool SQL == Python rule."""
    org = make.org()
    departments = [make.department(org), make.department(org)]
    posts = [make.post(org), make.post(org)]
    types = [
        make.order_type(
            org,
            department_id=d.id if d else None,
            post_id=p.id if p else None,
        )
        for d, p in itertools.product((None, *departments), (None, *posts))
    ]
    for department, post in itertools.product((None, departments[0]), (None, posts[0])):
        department_id = department.id if department else None
        post_id = post.id if post else None
        reached_in_sql = set(
            db_session.scalars(
                select(OrderType.id).where(
                    OrderType.org_id == org.id, eligible_types(department_id, post_id)
                )
            )
        )
        reached_in_python = {
            t.id
            for t in types
            if is_eligible(
                type_department_id=t.department_id,
                type_post_id=t.post_id,
                staff_department_id=department_id,
                staff_post_id=post_id,
            )
        }
        assert reached_in_sql == reached_in_python, (department_id, post_id)
        assert reached_in_python  # types bound to nothing reach everyone


def test_sql_and_python_overdue_agree(world, client, db_session):
    order_id = world.file(client)["id"]
    # Held statuses need an assignee (a CHECK says so): give the order one for the whole test.
    db_session.execute(
        update(Order).where(Order.id == order_id).values(assignee_id=world.techs[0].id)
    )
    now = datetime.now(UTC)
    for status, due_at in itertools.product(
        [s.value for s in Status], (now - timedelta(minutes=1), now + timedelta(minutes=1))
    ):
        db_session.execute(
            update(Order).where(Order.id == order_id).values(status=status, due_at=due_at)
        )
        in_sql = db_session.scalar(select(overdue_clause(now)).where(Order.id == order_id))
        in_python = is_overdue(status=status, due_at=due_at, now=now)
        assert in_sql is in_python, (status, due_at)


def test_sql_and_python_active_technician_agree(make, db_session):
    org = make.org()
    cases = []
    for active, roles in itertools.product(
        (True, False),
        ([Role.TECHNICIAN.value], [Role.DISPATCHER.value], [Role.TECHNICIAN.value, "admin"]),
    ):
        user = make.user(org, roles=roles, is_active=active)
        cases.append((user.id, active, roles))
    for user_id, active, roles in cases:
        in_sql = db_session.scalar(select(active_technician()).where(User.id == user_id))
        assert in_sql is is_active_technician(user_active=active, roles=roles), (active, roles)


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("spelling", "home"),
    [
        ("OrderType.department_id.is_(None)", "server/orders/eligibility.py"),
        ("OrderType.post_id.is_(None)", "server/orders/eligibility.py"),
        ("type_department_id=", "server/orders/eligibility.py"),
        ("due_at <", "server/orders/overdue.py server/orders/rules/overdue.py"),
        ("User.roles.contains([role.value", "server/staff/technicians.py"),
        ("User.is_active.is_(True)", "server/staff/technicians.py"),
        ("bool(user_active)", "server/staff/rules.py"),
    ],
)
def test_each_rule_is_spelled_in_its_home_only(spelling, home):
    """A second spelling of a rule is how the two drift apart: there is one of each."""
    found = {
        str(path.relative_to(ROOT))
        for folder in ("server", "mobile_api", "schemas", "workers")
        for path in (ROOT / folder).rglob("*.py")
        if spelling in path.read_text(encoding="utf-8")
    }
    assert found <= set(home.split()), found
    assert found, "the rule's home no longer spells it: update this test"


def test_overdue_in_views_uses_the_request_clock():
    """Views compute "overdue" at the request's instant, not the wall clock."""
    order = SimpleNamespace(status=Status.PENDING.value, due_at=datetime.now(UTC))
    use_instant(order.due_at + timedelta(hours=1))
    try:
        assert OrderSchema(only=("overdue",)).dump(order) == {"overdue": True}
        use_instant(order.due_at - timedelta(hours=1))
        assert OrderSchema(only=("overdue",)).dump(order) == {"overdue": False}
    finally:
        use_instant(datetime.now(UTC))
