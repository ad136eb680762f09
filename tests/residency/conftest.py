"""Residency scenarios through the real HTTP API: the desk acts, tenants look."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import text

from server.kernel.clock import LOCAL_TZ, local_date

ADMIN = "/api/v1/admin"
TENANT = "/api/v1/tenant"


def days_ago(n: int) -> date:
    """A local date relative to the server's today (requests use the real clock)."""
    return local_date(datetime.now(UTC)) - timedelta(days=n)


class Desk:
    """The organisation of `world`, its desk (admin) and helpers to call and to look."""

    def __init__(self, client, world, db_session):
        self.client, self.world, self.db = client, world, db_session
        self.make = world.make
        self.org = world.org
        self.admin = self.make.headers(self.make.admin(world.org))

    def call(self, method, path, body=None, expect=None, **query):
        r = self.client.open(
            ADMIN + path, method=method, json=body, query_string=query, headers=self.admin
        )
        if expect is not None:
            assert r.status_code == expect, r.json
        return r

    def room(self, code, **kw):
        return self.make.room(self.world.building, code=code, **kw)

    def move_in(self, room, *, start, phone=None, name="业主", family=(), relation="owner", **kw):
        body = {
            "room_id": room.id,
            "start_date": start.isoformat(),
            "relation": relation,
            "customer": {"name": name, "phone": phone},
            "family": [
                {"customer": {"name": n, "phone": p}, "label": label} for n, p, label in family
            ],
            **kw,
        }
        return self.call("POST", "/move-ins", body, expect=201).json

    def tenant(self, phone):
        return self.make.headers(self.make.tenant(self.org, phone=phone))

    def rooms_seen(self, headers):
        r = self.client.get(f"{TENANT}/rooms", headers=headers)
        assert r.status_code == 200, r.json
        return {item["room"]["id"] for item in r.json["items"]}

    def orders_seen(self, headers, **query):
        r = self.client.get(f"{TENANT}/orders", query_string=query, headers=headers)
        assert r.status_code == 200, r.json
        return {o["id"] for o in r.json["items"]}

    def file(self, headers, room, *, subtype=None, expect=201):
        body = {
            "subtype_id": (subtype or self.world.subtype).id,
            "room_id": room.id,
            "description": "厨房水管漏水",
        }
        r = self.client.post(f"{TENANT}/orders", json=body, headers=headers)
        assert r.status_code == expect, r.json
        return r.json.get("id")

    def filed_on(self, order_id, day):
        """Pretend the order was filed at 10:00 local time on `day`."""
        at = datetime.combine(day, time(10), tzinfo=LOCAL_TZ)
        self.db.execute(
            text("UPDATE orders SET created_at = :at WHERE id = :id"), {"at": at, "id": order_id}
        )
        self.db.flush()

    def relations(self, room_id, **query):
        return self.call("GET", f"/rooms/{room_id}/history", expect=200, **query).json

    def audit_kinds(self, target_type=None):
        sql = "SELECT kind FROM audit_log WHERE org_id = :org"
        rows = self.db.execute(text(sql), {"org": self.org.id}).scalars().all()
        return list(rows)


@pytest.fixture
def desk(client, world, db_session):
    return Desk(client, world, db_session)
