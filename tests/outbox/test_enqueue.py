"""Side effects are asked for through the unit of work: written with it, enqueued after it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from server.jobs import PURGE_REFRESH_TOKENS
from server.kernel.errors import OrderTaken
from server.models import Order, OutboxItem
from server.orders import handout
from server.orders.actors import Actor
from server.outbox.outbox import enqueue_on_commit
from tests.outbox import handlers

TECH = "/api/v1/tech/orders"


class Boom(Exception):
    """Something that goes wrong after the grab, before the commit."""


def _actor(world, tech) -> Actor:
    return Actor(user_id=tech.user_id, org_id=world.org.id, role="technician", staff_id=tech.id)


def test_the_row_is_written_in_the_transaction_and_the_job_enqueued_after_commit(
    db, world, client, jobs, outbox_row
):
    order = world.file(client)
    with db.transaction() as uow:
        handout.grab_order(
            uow.session,
            actor=_actor(world, world.techs[0]),
            order_id=order["id"],
            now=datetime.now(UTC),
        )
        outbox_id = enqueue_on_commit(
            uow.session, handlers.NOTE, org_id=world.org.id, order_id=order["id"], note="抢单成功"
        )
        assert uow.session.get(OutboxItem, outbox_id).status == "pending"
        assert jobs.get(outbox_id, 0) is None, "enqueued before the commit"

    row = outbox_row(outbox_id)
    assert (row.job, row.kwargs, row.org_id) == (
        "tests.note",
        {"order_id": order["id"], "note": "抢单成功"},
        world.org.id,
    )
    assert (row.attempts, row.max_attempts, row.last_error) == (0, 4, None)
    job = jobs.get(outbox_id, 0)
    assert job is not None and jobs.queued() == [job.id]
    # Redis gets the row's id and job name only; the arguments stay in the database.
    assert job.func_name == "workers.tasks.deliver_outbox"
    assert job.args == (outbox_id, "tests.note") and job.kwargs == {}


def test_a_grab_that_fails_after_its_claim_writes_and_enqueues_nothing(
    db, world, client, jobs, outbox_row, db_session
):
    order = world.file(client)
    seen: list[int] = []
    with pytest.raises(Boom), db.transaction() as uow:
        handout.grab_order(
            uow.session,
            actor=_actor(world, world.techs[0]),
            order_id=order["id"],
            now=datetime.now(UTC),
        )
        seen.append(
            enqueue_on_commit(uow.session, handlers.NOTE, org_id=world.org.id, order_id=order["id"])
        )
        raise Boom

    assert outbox_row(seen[0]) is None
    assert jobs.get(seen[0], 0) is None
    assert jobs.queued() == [] and jobs.scheduled() == []
    assert db_session.get(Order, order["id"], populate_existing=True).status == "pending"


@pytest.fixture
def grab_then_enqueue(monkeypatch, world):
    """The grab use case, followed by an enqueue, optionally followed by a refusal."""
    real = handout.grab_order
    seen: list[int] = []
    refuse: list[bool] = [False]

    def grab_order(session, *, actor, order_id, now):
        result = real(session, actor=actor, order_id=order_id, now=now)
        seen.append(
            enqueue_on_commit(session, handlers.NOTE, org_id=actor.org_id, order_id=order_id)
        )
        if refuse[0]:
            raise OrderTaken()
        return result

    monkeypatch.setattr(handout, "grab_order", grab_order)
    return seen, refuse


def test_a_request_answering_4xx_after_registering_enqueues_nothing(
    world, client, jobs, outbox_row, db_session, grab_then_enqueue
):
    seen, refuse = grab_then_enqueue
    order = world.file(client)
    refuse[0] = True

    r = client.post(f"{TECH}/{order['id']}/grab", headers=world.headers(world.techs[0]))

    assert r.status_code == 409 and r.json["error"] == "order_taken"
    assert len(seen) == 1
    assert outbox_row(seen[0]) is None
    assert jobs.get(seen[0], 0) is None
    assert jobs.queued() == [] and jobs.scheduled() == []
    assert db_session.get(Order, order["id"], populate_existing=True).status == "pending"


def test_a_request_answering_2xx_enqueues_once_after_its_commit(
    world, client, jobs, outbox_row, grab_then_enqueue
):
    seen, _ = grab_then_enqueue
    order = world.file(client)

    r = client.post(f"{TECH}/{order['id']}/grab", headers=world.headers(world.techs[0]))

    assert r.status_code == 200, r.json
    assert outbox_row(seen[0]).status == "pending"
    assert jobs.queued() == [jobs.id(seen[0], 0)]


def test_a_dedupe_key_makes_the_second_enqueue_the_first(db, org, jobs, db_session):
    with db.transaction() as uow:
        first = enqueue_on_commit(uow.session, handlers.NOTE, org_id=org.id, dedupe_key="k-1", n=1)
    with db.transaction() as uow:
        second = enqueue_on_commit(uow.session, handlers.NOTE, org_id=org.id, dedupe_key="k-1", n=2)
    assert first == second
    count = db_session.scalar(
        select(func.count()).select_from(OutboxItem).where(OutboxItem.dedupe_key == "k-1")
    )
    assert count == 1
    assert jobs.queued() == [jobs.id(first, 0)]


def test_only_outbox_jobs_with_json_arguments_are_accepted(db_session, org):
    with pytest.raises(ValueError):
        enqueue_on_commit(db_session, PURGE_REFRESH_TOKENS)
    with pytest.raises(TypeError):
        enqueue_on_commit(db_session, handlers.NOTE, org_id=org.id, when=datetime.now(UTC))
    with pytest.raises(ValueError):
        enqueue_on_commit(db_session, handlers.NOTE, dedupe_key="")
