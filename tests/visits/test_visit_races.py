"""Two desk users recording one return visit at once: one outcome is kept (real parallel HTTP
clients against committed rows, as in tests/concurrency)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.kernel.roles import Role
from server.orders.actors import Actor
from server.orders.moves import load_order
from server.orders.steps import complete_order
from server.organisation.models import Organisation
from server.visits.triggers import request_visit
from tests.concurrency.conftest import (  # noqa: F401  (fixtures)
    Member,
    base_url,
    race,
    race_org,
    tally,
)
from tests.factories import Factory

pytestmark = pytest.mark.concurrency


def test_two_desk_users_closing_one_visit_record_one_outcome(race_org, app):  # noqa: F811
    org = race_org(technicians=1, cap=5)
    [tech] = org.techs
    order_ids = org.file(3)
    container = app.extensions["baoxiu"]
    now = datetime.now(UTC)
    visits = []
    with org.db.transaction() as uow:
        # A second desk user of the same organisation.
        factory = Factory(uow.session, container.tokens)
        other = factory.user(
            uow.session.get(Organisation, org.org_id), roles=[Role.DISPATCHER.value]
        )
        pair = container.tokens.issue(uow.session, user=other, now=now)
        second = Member(other.id, None, {"Authorization": f"Bearer {pair.access_token}"})
    for order_id in order_ids:
        org.hand(order_id, tech)
        with org.db.transaction() as uow:
            actor = Actor(
                user_id=tech.user_id, org_id=org.org_id, role="technician", staff_id=tech.staff_id
            )
            complete_order(
                uow.session, actor=actor, order_id=order_id, result="修好了", image_ids=[], now=now
            )
            order = load_order(uow.session, org_id=org.org_id, order_id=order_id)
            visits.append(request_visit(uow.session, order=order, reason="low_rating", now=now))

    for visit_id in visits:
        path = f"/api/v1/admin/return-visits/{visit_id}/outcome"
        answers = race(
            [
                org.post(org.desk, path, {"reached": True, "satisfied": True, "notes": "满意"}),
                org.post(second, path, {"reached": True, "satisfied": False, "notes": "不满意"}),
            ]
        )
        assert tally(answers) == {(200, None): 1, (409, "invalid_transition"): 1}
        [winner] = [a.who for a in answers if a.status == 200]
        rows = org.rows(
            "SELECT status, satisfied, visited_by_user_id FROM return_visits"
            " WHERE org_id = :org_id AND id = :id",
            id=visit_id,
        )
        expected_user = (org.desk, second)[winner].user_id
        assert rows == [("done", winner == 0, expected_user)]
        assert (
            org.scalar(
                "SELECT count(*) FROM order_events WHERE org_id = :org_id"
                " AND action = 'return_visit' AND (data->>'visit_id')::bigint = :id",
                id=visit_id,
            )
            == 1
        )
