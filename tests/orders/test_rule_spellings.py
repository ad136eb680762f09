"""The grab cap has a Python spelling and an SQL spelling; they must always agree."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from server.models import Staff
from server.orders.capacity import cap_column, technician
from server.orders.rules.grab_cap import effective_grab_cap


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
