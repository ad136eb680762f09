"""Which orders a tenant sees and acts on: what they filed, and their rooms' orders of their period.

A flat changes hands: 王五 (and his family) rented it from 2023-01-01 to 2024-06-30; 赵六 (and
his family) from 2024-07-01. Each household sees the flat's orders of its own period only;
what someone filed stays theirs after they move out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from server.kernel.clock import local_date
from server.kernel.errors import NotFound
from server.kernel.roles import Role
from server.models import OrderMessage
from server.orders.actors import Actor
from server.orders.handout import reopen_order
from server.orders.lists import tenant_order
from server.orders.messages import post_message
from server.orders.moves import load_order
from server.orders.steps import cancel_order, rate_order

TENANT = "/api/v1/tenant/orders"
TECH = "/api/v1/tech/orders"

OLD_PHONE, OLD_FAMILY_PHONE = "13800000021", "13800000022"
NEW_PHONE, NEW_FAMILY_PHONE = "13800000031", "13800000032"
# 2024-03-10 10:00 in Shanghai: inside the first household's period.
IN_OLD_PERIOD = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)


class Flat:
    """The flat, its two households one after the other, and their orders."""

    def __init__(self, client, world, db_session):
        make = self.make = world.make
        self.client, self.world, self.db_session = client, world, db_session
        self.room = make.room(world.building, code="201")
        old_customer = make.customer(world.org, name="王五")
        make.contact(old_customer, phone=OLD_PHONE, name="王五")
        make.contact(old_customer, phone=OLD_FAMILY_PHONE, name="王五妻", relation="family")
        self.old_lease = make.holds(
            old_customer, self.room, relation="tenant", start_date=date(2023, 1, 1)
        )
        self.old = make.tenant(world.org, phone=OLD_PHONE, name="王五")
        self.old_family = make.tenant(world.org, phone=OLD_FAMILY_PHONE, name="王五妻")

        # While 王五's household lives there: one order each; 王五's is done, awaiting rating.
        self.a = self.file(self.old, description="王五：卫生间漏水")
        self.b = self.file(self.old_family, description="王五妻：灯不亮")
        tech = world.techs[0]
        self.post(tech, f"{TECH}/{self.a}/grab")
        self.post(tech, f"{TECH}/{self.a}/complete", {"result": "已更换密封圈"})
        self.post(self.old, f"{TENANT}/{self.a}/messages", {"text": "我家门锁密码 123456"}, 201)
        for oid in (self.a, self.b):
            self.set_created_at(oid, IN_OLD_PERIOD)

        # 王五 moves out on 30 June; 赵六 moves in on 1 July.
        self.old_lease.end_date = date(2024, 6, 30)
        db_session.flush()
        new_customer = make.customer(world.org, name="赵六")
        make.contact(new_customer, phone=NEW_PHONE, name="赵六")
        make.contact(new_customer, phone=NEW_FAMILY_PHONE, name="赵六妻", relation="family")
        self.new_lease = make.holds(
            new_customer, self.room, relation="tenant", start_date=date(2024, 7, 1)
        )
        self.new = make.tenant(world.org, phone=NEW_PHONE, name="赵六")
        self.new_family = make.tenant(world.org, phone=NEW_FAMILY_PHONE, name="赵六妻")
        self.c = self.file(self.new, description="赵六：空调不制冷")

    def headers(self, who):
        return self.world.headers(who)

    def file(self, who, **body):
        body = {"subtype_id": self.world.subtype.id, "room_id": self.room.id, **body}
        r = self.client.post(TENANT, json=body, headers=self.headers(who))
        assert r.status_code == 201, r.json
        return r.json["id"]

    def post(self, who, path, body=None, expect=200):
        r = self.client.post(path, json=body or {}, headers=self.headers(who))
        assert r.status_code == expect, r.json
        return r

    def set_created_at(self, order_id, at):
        self.db_session.execute(
            text("UPDATE orders SET created_at = :at WHERE id = :id"), {"at": at, "id": order_id}
        )
        self.db_session.flush()

    def listed(self, who, **query):
        r = self.client.get(TENANT, query_string=query, headers=self.headers(who))
        assert r.status_code == 200, r.json
        return {o["id"] for o in r.json["items"]}

    def detail(self, who, order_id):
        return self.client.get(f"{TENANT}/{order_id}", headers=self.headers(who))


@pytest.fixture
def flat(client, world, db_session):
    return Flat(client, world, db_session)


def test_new_occupant_sees_nothing_of_the_previous_household(client, flat):
    assert flat.listed(flat.new) == {flat.c}
    assert flat.listed(flat.new, box="todo") == set()  # 王五's order awaiting his rating
    listing = client.get(TENANT, headers=flat.headers(flat.new))
    assert "王五" not in listing.get_data(as_text=True)
    for oid in (flat.a, flat.b):
        r = flat.detail(flat.new, oid)
        assert r.status_code == 404 and r.json["error"] == "not_found"
        assert OLD_PHONE not in r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "body", "order"),
    [
        ("messages", {"text": "这是谁的单？"}, "a"),
        ("cancel", {"reason": "不是我报的"}, "b"),  # pending: cancellable by its household
        ("rating", {"score": 1}, "a"),  # completed: ratable by its household
        ("reopen", {"reason": "没修好"}, "a"),  # completed today: inside the reopen window
    ],
)
def test_new_occupant_cannot_act_on_earlier_orders(client, flat, db_session, path, body, order):
    oid = getattr(flat, order)
    before = load_order(db_session, org_id=flat.world.org.id, order_id=oid)
    status, messages = before.status, _message_count(db_session, oid)
    for who in (flat.new, flat.new_family):
        r = client.post(f"{TENANT}/{oid}/{path}", json=body, headers=flat.headers(who))
        assert r.status_code == 404 and r.json["error"] == "not_found", r.json
    after = load_order(db_session, org_id=flat.world.org.id, order_id=oid)
    assert after.status == status and _message_count(db_session, oid) == messages
    # The household of that period still may.
    owner = flat.old if order == "a" else flat.old_family
    r = client.post(f"{TENANT}/{oid}/{path}", json=body, headers=flat.headers(owner))
    assert r.status_code in (200, 201), r.json


def test_household_shares_the_orders_of_its_period(client, flat, world):
    mine = flat.file(flat.new_family, description="赵六妻：热水器坏了")
    r = client.post(
        TECH,
        json={
            "subtype_id": world.subtype.id,
            "room_id": flat.room.id,
            "description": "物业巡检：阳台渗水",
            "contact_phone": NEW_PHONE,
        },
        headers=world.headers(world.techs[1]),
    )
    assert r.status_code == 201, r.json
    by_staff = r.json["id"]
    for who in (flat.new, flat.new_family):
        assert flat.listed(who) == {flat.c, mine, by_staff}
        assert flat.detail(who, flat.c).status_code == 200
    flat.post(flat.new_family, f"{TENANT}/{flat.c}/messages", {"text": "我在家"}, 201)
    thread = flat.detail(flat.new, flat.c).json["messages"]
    assert [m["text"] for m in thread] == ["我在家"]


def test_an_ended_relation_keeps_only_what_one_filed(client, flat):
    assert flat.listed(flat.old) == {flat.a}
    assert flat.listed(flat.old_family) == {flat.b}
    assert flat.detail(flat.old, flat.a).status_code == 200
    for oid in (flat.b, flat.c):
        assert flat.detail(flat.old, oid).status_code == 404
    # Still theirs to act on: 王五 rates the repair he asked for after moving out.
    flat.post(flat.old, f"{TENANT}/{flat.a}/rating", {"score": 5})
    r = client.post(
        TENANT,
        json={"subtype_id": flat.world.subtype.id, "room_id": flat.room.id, "description": "x"},
        headers=flat.headers(flat.old),
    )
    assert r.status_code == 422 and "room_id" in r.json["errors"]


def test_periods_are_shanghai_calendar_days_both_ends_included(flat, world, db_session):
    flat.new_lease.end_date = date(2099, 12, 31)
    db_session.flush()
    at = {
        "june30_late": datetime(2024, 6, 30, 15, 59, 59, tzinfo=UTC),  # 30 Jun 23:59:59 local
        "july1_start": datetime(2024, 6, 30, 16, 0, 0, tzinfo=UTC),  # 1 Jul 00:00:00 local
        "last_day_late": datetime(2099, 12, 31, 15, 59, 59, tzinfo=UTC),  # 31 Dec 23:59:59
        "after_end": datetime(2099, 12, 31, 16, 0, 0, tzinfo=UTC),  # 1 Jan 2100 00:00:00
    }
    staff = world.techs[0]
    ids = {}
    for name, moment in at.items():
        # Filed by staff, so that only the room's period can make them visible.
        r = flat.client.post(
            TECH,
            json={
                "subtype_id": world.subtype.id,
                "room_id": flat.room.id,
                "description": name,
                "contact_phone": NEW_PHONE,
            },
            headers=world.headers(staff),
        )
        assert r.status_code == 201, r.json
        ids[name] = r.json["id"]
        flat.set_created_at(ids[name], moment)
    assert flat.listed(flat.new) == {flat.c, ids["july1_start"], ids["last_day_late"]}
    # The old lease ended on 30 June and keeps nothing of the room.
    assert flat.listed(flat.old) == {flat.a}


def test_use_cases_refuse_a_tenant_of_another_period(flat, db_session):
    """Whoever calls the use cases (a job, a new endpoint), a tenant's reach is checked there."""
    now = datetime.now(UTC)
    org_id = flat.world.org.id
    newcomer = Actor(user_id=flat.new.id, org_id=org_id, role=Role.TENANT.value)
    with pytest.raises(NotFound):
        cancel_order(db_session, actor=newcomer, order_id=flat.b, reason="x", now=now)
    with pytest.raises(NotFound):
        rate_order(db_session, actor=newcomer, order_id=flat.a, score=1, comment="", now=now)
    with pytest.raises(NotFound):
        reopen_order(db_session, actor=newcomer, order_id=flat.a, reason="x", now=now)
    order_a = load_order(db_session, org_id=org_id, order_id=flat.a)
    with pytest.raises(NotFound):
        post_message(db_session, actor=newcomer, order=order_a, text="x", image_ids=[], now=now)
    # The household of the period may.
    family = Actor(user_id=flat.old_family.id, org_id=org_id, role=Role.TENANT.value)
    cancelled = cancel_order(db_session, actor=family, order_id=flat.b, reason="x", now=now)
    assert cancelled.status == "cancelled"


def test_tenant_order_keeps_its_signature_for_other_areas(flat, db_session):
    today = local_date(datetime.now(UTC))
    assert tenant_order(db_session, user=flat.new, order_id=flat.c, today=today).id == flat.c
    with pytest.raises(NotFound):
        tenant_order(db_session, user=flat.new, order_id=flat.a, today=today)


def _message_count(db_session, order_id):
    return db_session.scalar(
        select(func.count()).select_from(OrderMessage).where(OrderMessage.order_id == order_id)
    )


def test_a_period_ending_on_the_last_day_there_is(client, world):
    """A relation ending 9999-12-31 (as good as open): its household's orders were a 500."""
    make = world.make
    lodger_customer = make.customer(world.org, name="钱七")
    make.contact(lodger_customer, phone="13800000041", name="钱七")
    lease = make.holds(lodger_customer, world.room, relation="tenant", start_date=date(2020, 1, 1))
    lodger = make.tenant(world.org, phone="13800000041", name="钱七")
    filed = world.file(client)["id"]
    desk = world.headers(make.admin(world.org))
    r = client.patch(
        f"/api/v1/admin/customer-rooms/{lease.id}", json={"end_date": "9999-12-31"}, headers=desk
    )
    assert r.status_code == 200, r.json
    listed = client.get(TENANT, headers=world.headers(lodger))
    assert listed.status_code == 200, listed.json
    assert [o["id"] for o in listed.json["items"]] == [filed]
    detail = client.get(f"{TENANT}/{filed}", headers=world.headers(lodger))
    assert detail.status_code == 200, detail.json
