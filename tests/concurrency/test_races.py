"""Races through the real HTTP API on PostgreSQL: one winner, nobody over the cap, no 500s."""

from __future__ import annotations

import random

import pytest
import requests

from tests.concurrency.conftest import race, tally

pytestmark = pytest.mark.concurrency


def test_forty_parallel_grabs_of_one_order_have_one_winner(race_org):
    org = race_org(technicians=40, cap=3)
    [order_id] = org.file(1)

    answers = race([org.grab(tech, order_id) for tech in org.techs])

    counts = tally(answers)
    assert counts == {(200, None): 1, (409, "order_taken"): 39}
    [winner] = [org.techs[a.who] for a in answers if a.status == 200]
    assert org.rows(
        "SELECT status, assignee_id FROM orders WHERE org_id = :org_id AND id = :id", id=order_id
    ) == [("in_progress", winner.staff_id)]
    assert org.held() == {winner.staff_id: 1}
    assert org.events("grab") == 1


def test_one_technician_grabbing_ten_orders_in_parallel_stops_at_the_cap(race_org):
    org = race_org(technicians=1, cap=3)
    [tech] = org.techs
    order_ids = org.file(10)

    answers = race([org.grab(tech, order_id) for order_id in order_ids])

    assert tally(answers) == {(200, None): 3, (409, "grab_limit_reached"): 7}
    won = {order_ids[a.who] for a in answers if a.status == 200}
    assert org.held() == {tech.staff_id: 3}
    assert {
        order_id
        for (order_id,) in org.rows(
            "SELECT id FROM orders WHERE org_id = :org_id AND assignee_id = :staff_id",
            staff_id=tech.staff_id,
        )
    } == won
    assert (
        org.scalar("SELECT count(*) FROM orders WHERE org_id = :org_id AND status = 'pending'") == 7
    )
    assert org.events("grab") == 3


def test_assign_racing_grab_has_one_winner(race_org):
    org = race_org(technicians=3, cap=20)
    grabber, other, _ = org.techs
    rounds = 10
    order_ids = org.file(rounds)

    winners: list[str] = []
    for i, order_id in enumerate(order_ids):
        # Half the rounds assign to the grabber themself: both sides then queue on the same
        # technician row before they reach the order row.
        target = grabber if i % 2 else other
        answers = race([org.assign(order_id, target), org.grab(grabber, order_id)])
        counts = tally(answers)
        assert counts[(200, None)] == 1, counts
        assign_answer, grab_answer = answers
        if assign_answer.status == 200:
            assert grab_answer.error == "order_taken"
            expected = ("assigned", target.staff_id)
            winners.append("assign")
        else:
            # Lost before reading the order (invalid_transition) or at the claim (order_taken).
            assert assign_answer.error in {"order_taken", "invalid_transition"}
            expected = ("in_progress", grabber.staff_id)
            winners.append("grab")
        assert org.rows(
            "SELECT status, assignee_id FROM orders WHERE org_id = :org_id AND id = :id",
            id=order_id,
        ) == [expected]

    assert org.events("assign") == winners.count("assign")
    assert org.events("grab") == winners.count("grab")
    assert sum(org.held().values()) == rounds


def test_parallel_transfers_to_a_technician_with_one_place_left(race_org):
    org = race_org(technicians=7, cap=3)
    target, *holders = org.techs
    order_ids = org.file(2 + len(holders))
    for order_id in order_ids[:2]:
        org.hand(order_id, target)  # the target holds 2 of 3: one place left
    for holder, order_id in zip(holders, order_ids[2:], strict=True):
        org.hand(order_id, holder)

    answers = race(
        [
            org.transfer(holder, order_id, target)
            for holder, order_id in zip(holders, order_ids[2:], strict=True)
        ]
    )

    assert tally(answers) == {(200, None): 1, (409, "grab_limit_reached"): len(holders) - 1}
    [winner] = [a.who for a in answers if a.status == 200]
    held = org.held()
    assert held[target.staff_id] == 3
    assert [h for i, h in enumerate(holders) if held.get(h.staff_id) != 1] == [holders[winner]]
    assert org.events("transfer") == 1


def test_a_storm_of_grabs_keeps_every_cap_and_every_order_single(race_org):
    org = race_org(technicians=8, cap=2)
    order_ids = org.file(24)
    rng = random.Random(7)
    calls = [org.grab(tech, rng.choice(order_ids)) for tech in org.techs for _ in range(6)]

    answers = race(calls)

    counts = tally(answers)
    won = counts[(200, None)]
    assert 1 <= won <= 8 * 2
    held = org.held()
    assert all(n <= 2 for n in held.values()), held
    assert sum(held.values()) == won
    assert org.events("grab") == won
    # Every order has at most one grab event: no order was handed out twice.
    assert (
        org.scalar(
            "SELECT count(*) FROM (SELECT order_id FROM order_events WHERE org_id = :org_id"
            " AND action = 'grab' GROUP BY order_id HAVING count(*) > 1) AS twice"
        )
        == 0
    )


def test_parallel_filings_with_one_idempotency_key_create_one_order(race_org):
    org = race_org(technicians=1, cap=3)
    tech = org.techs[0]
    body = {
        "subtype_id": org.subtype_id,
        "room_id": org.room_id,
        "description": "门锁坏了",
        "contact_phone": "13800000001",
    }
    headers = {**tech.headers, "Idempotency-Key": "parallel-key-1"}

    def file(http):
        return http.post(
            org.base_url + "/api/v1/tech/orders", json=body, headers=headers, timeout=30
        )

    with_bodies = []

    def remember(http):
        response = file(http)
        with_bodies.append(response.json())
        return response

    answers = race([remember] * 8)

    assert {a.status for a in answers} == {201}
    assert len({b["id"] for b in with_bodies}) == 1
    assert org.scalar("SELECT count(*) FROM orders WHERE org_id = :org_id") == 1
    assert org.events("file") == 1


def test_read_only_views_answer_consistently_during_a_storm_of_grabs(race_org):
    """The pool, a technician's orders and the console list read in autocommit, on committed
    data, while grabs commit around them: every read answers 200, no page repeats an order,
    and once the storm is over the pool and the console agree with the database."""
    org = race_org(technicians=6, cap=3)
    order_ids = org.file(12)
    rng = random.Random(11)
    base = org.base_url

    def get(who, path):
        def call(http):
            return http.get(base + path, headers=who.headers, timeout=30)

        return call

    reads = [
        get(tech, path)
        for tech in org.techs
        for path in ("/api/v1/tech/pool?page_size=20", "/api/v1/tech/orders?page_size=20")
    ] + [get(org.desk, "/api/v1/admin/orders?page_size=20")] * 6
    grabs = [org.grab(tech, rng.choice(order_ids)) for tech in org.techs for _ in range(3)]
    calls = reads + grabs
    responses: dict[int, dict] = {}

    def keep(index, call):
        def wrapped(http):
            response = call(http)
            if index < len(reads):
                assert response.status_code == 200, response.text
                responses[index] = response.json()
            return response

        return wrapped

    answers = race([keep(i, c) for i, c in enumerate(calls)])
    tally(answers)
    for body in responses.values():
        ids = [o["id"] for o in body["items"]]
        assert len(ids) == len(set(ids))
        if "cap" in body:  # the pool: what it lists is pending, and held never passes the cap
            assert all(o["status"] == "pending" for o in body["items"])
            assert body["held"] <= body["cap"] == 3

    pending = {
        r[0]
        for r in org.rows("SELECT id FROM orders WHERE org_id = :org_id AND status = 'pending'")
    }
    pool = requests.get(
        base + "/api/v1/tech/pool?page_size=20", headers=org.techs[0].headers, timeout=30
    ).json()
    assert {o["id"] for o in pool["items"]} == pending and pool["total"] == len(pending)
    board = requests.get(
        base + "/api/v1/admin/orders?page_size=20", headers=org.desk.headers, timeout=30
    ).json()
    assert board["total"] == 12 and board["total_exact"] is True
    assert {o["id"] for o in board["items"]} == set(order_ids)
