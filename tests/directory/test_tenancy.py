"""The periods of a tenant's relations to rooms, which decide what of a room's past they see."""

from __future__ import annotations

from datetime import date

from server.directory.tenancy import (
    TenancyPeriod,
    customers_of_room,
    rooms_for_tenant,
    tenancy_periods,
)

TODAY = date(2026, 3, 1)


def test_periods_in_force_today_shared_by_the_household(make, org, db_session):
    community = make.community(org)
    building = make.building(community)
    home, old_home, future_home, office = (make.room(building) for _ in range(4))
    family = make.customer(org)
    make.contact(family, phone="13800000041")
    make.contact(family, phone="13800000042", relation="family")
    make.holds(family, home, start_date=date(2025, 5, 1))
    make.holds(family, old_home, start_date=date(2020, 1, 1), end_date=date(2025, 4, 30))
    make.holds(family, future_home, start_date=date(2026, 3, 2))
    # The same person is also a company's employee: the company's lease counts too.
    company = make.customer(org, kind="company")
    make.contact(company, phone="13800000041", relation="employee")
    make.holds(company, office, relation="tenant", start_date=date(2026, 1, 1), end_date=TODAY)
    make.holds(company, home, relation="resident", start_date=date(2025, 5, 1))
    # Another organisation's record of the same phone gives nothing here.
    elsewhere = make.org()
    stranger_room = make.room(make.building(make.community(elsewhere)))
    other = make.customer(elsewhere)
    make.contact(other, phone="13800000041")
    make.holds(other, stranger_room, start_date=date(2020, 1, 1))

    me = make.tenant(org, phone="13800000041")
    spouse = make.tenant(org, phone="13800000042")
    assert tenancy_periods(db_session, user=me, today=TODAY) == sorted(
        [
            TenancyPeriod(home.id, date(2025, 5, 1), None),  # once, for two relations
            TenancyPeriod(office.id, date(2026, 1, 1), TODAY),  # the last day is included
        ],
        key=lambda p: p.room_id,
    )
    assert tenancy_periods(db_session, user=spouse, today=TODAY) == [
        TenancyPeriod(home.id, date(2025, 5, 1), None)
    ]
    assert {r.room.id for r in rooms_for_tenant(db_session, user=me, today=TODAY)} == {
        home.id,
        office.id,
    }
    no_phone_yet = make.tenant(org)  # logged in with WeChat, phone not bound yet
    no_phone_yet.phone = None
    db_session.flush()
    assert tenancy_periods(db_session, user=no_phone_yet, today=TODAY) == []


def test_the_customers_of_a_room_today_with_their_contacts(make, org, db_session):
    community = make.community(org)
    building = make.building(community)
    room, other_room = make.room(building), make.room(building)
    owner = make.customer(org, name="业主甲")
    make.contact(owner, phone="13800000051")
    make.contact(owner, phone="13800000052", relation="family")
    make.holds(owner, room, start_date=date(2025, 1, 1))
    make.holds(owner, room, relation="resident", start_date=date(2025, 1, 1))
    company = make.customer(org, kind="company", name="公司乙")
    make.contact(company, phone="13800000053", relation="employee")
    make.holds(company, room, relation="tenant", start_date=date(2026, 1, 1), end_date=TODAY)
    moved_out = make.customer(org, name="旧租户")
    make.holds(
        moved_out, room, relation="tenant", start_date=date(2020, 1, 1), end_date=date(2025, 12, 31)
    )
    neighbour = make.customer(org, name="邻居")
    make.holds(neighbour, other_room, start_date=date(2025, 1, 1))

    found = customers_of_room(db_session, org_id=org.id, room_id=room.id, today=TODAY)
    # Once per customer (owner and resident), the last day included, ended relations gone.
    assert [(c.customer.name, c.relation) for c in found] == [
        ("业主甲", "owner"),
        ("公司乙", "tenant"),
    ]
    assert [p.phone for p in found[0].customer.contacts] == ["13800000051", "13800000052"]
    assert customers_of_room(db_session, org_id=make.org().id, room_id=room.id, today=TODAY) == []
