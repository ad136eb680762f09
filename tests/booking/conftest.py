"""A world with a booking subtype (家电维修) whose grid the console sets through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from server.kernel.clock import LOCAL_TZ

SETTINGS = "/api/v1/admin/booking/subtypes/{}/settings"


def local_today() -> date:
    return datetime.now(UTC).astimezone(LOCAL_TZ).date()


def slot_at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ).isoformat()


def grid(**overrides):
    return {
        "enabled": True,
        "slot_minutes": 60,
        "windows": [{"start": "09:00", "end": "12:00"}, {"start": "13:30", "end": "15:30"}],
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "quota": 2,
        "desk_reserve": 1,
        "days_ahead": 14,
        "lead_minutes": 60,
        "hold_minutes": 15,
        **overrides,
    }


class Booking:
    def __init__(self, client, world, make):
        self.client, self.world, self.make = client, world, make
        self.subtype = make.subtype(world.order_type, name="家电维修", booking_enabled=True)
        self.paid = make.subtype(
            world.order_type,
            name="空调清洗",
            booking_enabled=True,
            fee_mode="charge_on_order",
            fee_fen=8000,
        )
        self.admin = make.admin(world.org)
        self.day = local_today() + timedelta(days=2)
        for subtype in (self.subtype, self.paid):
            self.configure(subtype.id)

    def configure(self, subtype_id=None, expect=200, **overrides):
        r = self.client.put(
            SETTINGS.format(subtype_id or self.subtype.id),
            json=grid(**overrides),
            headers=self.world.headers(self.admin),
        )
        assert r.status_code == expect, r.json
        return r.json

    def slots(self, day=None, who=None, subtype_id=None, **params):
        r = self.client.get(
            f"/api/v1/catalog/subtypes/{subtype_id or self.subtype.id}/slots",
            query_string={"date": (day or self.day).isoformat(), **params},
            headers=self.world.headers(who or self.world.tenant),
        )
        assert r.status_code == 200, r.json
        return r.json

    def file(self, start, who=None, expect=201, **overrides):
        body = {
            "subtype_id": self.subtype.id,
            "room_id": self.world.room.id,
            "description": "洗衣机不转",
            "slot_start": start,
            **overrides,
        }
        r = self.client.post(
            "/api/v1/tenant/orders", json=body, headers=self.world.headers(who or self.world.tenant)
        )
        assert r.status_code == expect, r.json
        return r.json


@pytest.fixture
def booking(client, world, make):
    return Booking(client, world, make)
