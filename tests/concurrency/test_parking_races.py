"""Parking races through the real HTTP API: two desks assigning one space, or registering one
plate, at the same moment — one wins, the others are told why, nothing overlaps."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime

import pytest
import requests
from sqlalchemy import text

from server.kernel.roles import Role
from server.parking.models import ParkingSpace
from tests.concurrency.conftest import race
from tests.factories import Factory

pytestmark = pytest.mark.concurrency

SPACES = "/api/v1/admin/parking-spaces"
VEHICLES = "/api/v1/admin/vehicles"


@pytest.fixture
def parking_org(app):
    container = app.extensions["baoxiu"]
    db = container.db
    now = datetime.now(UTC)
    with db.transaction() as uow:
        make = Factory(uow.session, container.tokens)
        org = make.org(code=f"park{uuid.uuid4().hex[:16]}")
        community = make.community(org)
        space = ParkingSpace(
            org_id=org.id, community_id=community.id, number="B1-001", kind="underground"
        )
        uow.session.add(space)
        customers = [make.customer(org, name=f"客户{i}") for i in range(8)]
        desks = []
        for _ in range(8):
            user = make.user(org, roles=[Role.DISPATCHER.value])
            pair = container.tokens.issue(uow.session, user=user, now=now)
            desks.append({"Authorization": f"Bearer {pair.access_token}"})
        uow.session.flush()
        ids = {"org_id": org.id, "space_id": space.id, "customers": [c.id for c in customers]}

    def rows(sql, **params):
        with db.engine.connect() as conn:
            return list(conn.execute(text(sql), {"org_id": ids["org_id"], **params}).all())

    return ids, desks, rows


def post(base_url, path, headers, body):
    def call(http: requests.Session) -> requests.Response:
        return http.post(base_url + path, json=body, headers=headers, timeout=30)

    return call


def test_eight_desks_assigning_one_space_at_once_have_one_winner(base_url, parking_org):
    ids, desks, rows = parking_org
    path = f"{SPACES}/{ids['space_id']}/holdings"
    calls = [
        post(
            base_url,
            path,
            desk,
            {
                "customer_id": customer_id,
                "kind": "rented",
                "start_date": "2027-01-01",
                # Different lengths, all overlapping the first month.
                "end_date": date(2027, 1 + i, 28).isoformat(),
            },
        )
        for i, (desk, customer_id) in enumerate(zip(desks, ids["customers"], strict=True))
    ]
    answers = race(calls)
    counts = Counter((a.status, a.error) for a in answers)
    assert counts == {(201, None): 1, (409, "space_occupied"): 7}, counts
    [winner] = [a.who for a in answers if a.status == 201]
    assert rows("SELECT customer_id FROM parking_space_holdings WHERE org_id = :org_id") == [
        (ids["customers"][winner],)
    ]


def test_one_plate_registered_by_eight_desks_at_once_is_registered_once(base_url, parking_org):
    ids, desks, rows = parking_org
    calls = [
        post(base_url, VEHICLES, desk, {"plate": "粤B·6666" + "6"[:1], "customer_id": customer})
        for desk, customer in zip(desks, ids["customers"], strict=True)
    ]
    answers = race(calls)
    counts = Counter((a.status, a.error) for a in answers)
    assert counts == {(201, None): 1, (409, "plate_taken"): 7}, counts
    assert rows("SELECT plate FROM vehicles WHERE org_id = :org_id") == [("粤B66666",)]
