"""Residency races through the real HTTP API: desks transferring one room at the same moment —
the room's lock makes them serial; one wins, the others see its owner and are told why."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime

import pytest
import requests
from sqlalchemy import text

from server.kernel.roles import Role
from tests.concurrency.conftest import race
from tests.factories import Factory

pytestmark = pytest.mark.concurrency


@pytest.fixture
def room_org(app):
    container = app.extensions["baoxiu"]
    db = container.db
    now = datetime.now(UTC)
    with db.transaction() as uow:
        make = Factory(uow.session, container.tokens)
        org = make.org(code=f"res{uuid.uuid4().hex[:16]}")
        room = make.room(make.building(make.community(org)), code="1-101")
        owner = make.customer(org, name="原业主")
        make.holds(owner, room, start_date=date(2020, 1, 1))
        buyers = [make.customer(org, name=f"买家{i}") for i in range(6)]
        desks = []
        for _ in range(6):
            user = make.user(org, roles=[Role.DISPATCHER.value])
            pair = container.tokens.issue(uow.session, user=user, now=now)
            desks.append({"Authorization": f"Bearer {pair.access_token}"})
        uow.session.flush()
        ids = {"org_id": org.id, "room_id": room.id, "buyers": [b.id for b in buyers]}

    def rows(sql, **params):
        with db.engine.connect() as conn:
            return list(conn.execute(text(sql), {"org_id": ids["org_id"], **params}).all())

    return ids, desks, rows


def test_six_desks_transferring_one_room_at_once_have_one_winner(base_url, room_org):
    ids, desks, rows = room_org
    path = f"{base_url}/api/v1/admin/rooms/{ids['room_id']}/transfers"

    def transfer(headers, buyer):
        def call(http: requests.Session) -> requests.Response:
            body = {"date": "2026-06-01", "customer_id": buyer}
            return http.post(path, json=body, headers=headers, timeout=30)

        return call

    answers = race([transfer(h, b) for h, b in zip(desks, ids["buyers"], strict=True)])
    counts = Counter((a.status, a.error) for a in answers)
    assert counts == {(201, None): 1, (409, "conflict"): 5}, counts
    [winner] = [a.who for a in answers if a.status == 201]
    owners = rows(
        "SELECT customer_id, start_date, end_date FROM customer_rooms"
        " WHERE org_id = :org_id AND relation = 'owner' ORDER BY start_date"
    )
    assert [(o[1], o[2]) for o in owners] == [
        (date(2020, 1, 1), date(2026, 5, 31)),
        (date(2026, 6, 1), None),
    ]
    assert owners[1][0] == ids["buyers"][winner]
    assert rows("SELECT count(*) FROM room_transfers WHERE org_id = :org_id") == [(1,)]
