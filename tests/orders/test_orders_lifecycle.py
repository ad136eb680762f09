"""The repair-order lifecycle through the real HTTP API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from server.kernel.roles import Role
from server.models import Order
from server.orders.rules.states import TRANSITIONS, Action, Status

TENANT = "/api/v1/tenant/orders"
TECH = "/api/v1/tech/orders"
ADMIN = "/api/v1/admin/orders"


def step(client, world, who, path, body=None, expect=200):
    r = client.post(path, json=body or {}, headers=world.headers(who))
    assert r.status_code == expect, r.json
    return r.json


def test_happy_path_grab_to_close(client, world):
    tech = world.techs[0]
    filed = world.file(client, priority="urgent")
    assert re.fullmatch(r"BX\d{8}-0001", filed["number"])
    assert filed["status"] == "pending" and filed["payable_fen"] == 0
    assert filed["contact_phone"] == "13800000001"

    pool = client.get("/api/v1/tech/pool", headers=world.headers(tech)).json
    assert [o["id"] for o in pool["items"]] == [filed["id"]]
    assert (pool["held"], pool["cap"]) == (0, 3)
    assert pool["items"][0]["contact_phone"] == "138****0001"

    oid = filed["id"]
    grabbed = step(client, world, tech, f"{TECH}/{oid}/grab")
    assert grabbed["status"] == "in_progress" and grabbed["assignee"]["id"] == tech.id
    held = step(client, world, tech, f"{TECH}/{oid}/hold", {"reason": "等配件"})
    assert held["status"] == "on_hold"
    assert step(client, world, tech, f"{TECH}/{oid}/resume")["status"] == "in_progress"
    done = step(client, world, tech, f"{TECH}/{oid}/complete", {"result": "更换了水管接头"})
    assert done["status"] == "completed" and done["result"] == "更换了水管接头"

    todo = client.get(
        TENANT, query_string={"box": "todo"}, headers=world.headers(world.tenant)
    ).json
    assert [o["id"] for o in todo["items"]] == [oid]
    rated = step(
        client, world, world.tenant, f"{TENANT}/{oid}/rating", {"score": 5, "comment": "很及时"}
    )
    assert rated["status"] == "closed" and rated["rating_score"] == 5
    assert not rated["follow_up_required"]

    detail = client.get(f"{TENANT}/{oid}", headers=world.headers(world.tenant)).json
    timeline = [(e["action"], e["from_status"], e["to_status"]) for e in detail["timeline"]]
    assert timeline == [
        ("file", None, "pending"),
        ("grab", "pending", "in_progress"),
        ("hold", "in_progress", "on_hold"),
        ("resume", "on_hold", "in_progress"),
        ("complete", "in_progress", "completed"),
        ("rate", "completed", "closed"),
    ]
    assert detail["timeline"][2]["reason"] == "等配件"
    assert detail["timeline"][1]["actor_role"] == "technician"
    assert all(e["created_at"].endswith("+08:00") for e in detail["timeline"])


def test_assign_accept_reject_transfer(client, world):
    first, second, third = world.techs
    oid = world.file(client)["id"]
    desk = world.dispatcher
    assigned = step(client, world, desk, f"{ADMIN}/{oid}/assign", {"staff_id": first.id})
    assert assigned["status"] == "assigned"
    rejected = step(client, world, first, f"{TECH}/{oid}/reject", {"reason": "不在片区"})
    assert rejected["status"] == "pending" and rejected["assignee"] is None
    step(client, world, desk, f"{ADMIN}/{oid}/assign", {"staff_id": second.id})
    assert step(client, world, second, f"{TECH}/{oid}/accept")["status"] == "in_progress"
    moved = step(
        client,
        world,
        second,
        f"{TECH}/{oid}/transfer",
        {"staff_id": third.id, "reason": "需要电工"},
    )
    assert moved["status"] == "assigned" and moved["assignee"]["id"] == third.id
    # The previous holder no longer sees it as theirs.
    r = client.post(f"{TECH}/{oid}/complete", json={"result": "x"}, headers=world.headers(second))
    assert r.status_code == 404
    assert step(client, world, third, f"{TECH}/{oid}/accept")["status"] == "in_progress"
    actions = [
        e["action"]
        for e in client.get(f"{ADMIN}/{oid}", headers=world.headers(desk)).json["timeline"]
    ]
    assert actions == ["file", "assign", "reject", "assign", "accept", "transfer", "accept"]


def test_reason_is_required(client, world):
    oid = world.file(client)["id"]
    step(client, world, world.dispatcher, f"{ADMIN}/{oid}/assign", {"staff_id": world.techs[0].id})
    for path in ("reject", "hold", "transfer"):
        r = client.post(
            f"{TECH}/{oid}/{path}", json={"reason": "  "}, headers=world.headers(world.techs[0])
        )
        assert r.status_code == 422 and "reason" in r.json["errors"], path
    r = client.post(f"{TENANT}/{oid}/cancel", json={}, headers=world.headers(world.tenant))
    assert r.status_code == 422 and "reason" in r.json["errors"]


# Every (status, action) pair the table does not list must answer 409 invalid_transition.
TECH_ACTIONS = {
    Action.ACCEPT: ("accept", None),
    Action.REJECT: ("reject", {"reason": "x"}),
    Action.HOLD: ("hold", {"reason": "x"}),
    Action.RESUME: ("resume", None),
    Action.COMPLETE: ("complete", {"result": "x"}),
}
TENANT_ACTIONS = {
    Action.RATE: ("rating", {"score": 4}),
    Action.REOPEN: ("reopen", {"reason": "x"}),
    Action.CANCEL_BY_TENANT: ("cancel", {"reason": "x"}),
}
DESK_ACTIONS = {Action.CANCEL_BY_DESK: ("cancel", {"reason": "x"})}


def _force(db_session, order_id, status, assignee_id):
    db_session.execute(
        text(
            "UPDATE orders SET status = :s, assignee_id = :a, completed_at = now() WHERE id = :id"
        ),
        {"s": status.value, "a": assignee_id, "id": order_id},
    )
    db_session.flush()


@pytest.mark.parametrize("status", list(Status))
def test_disallowed_transitions_are_409(client, world, db_session, status):
    tech = world.techs[0]
    oid = world.file(client)["id"]
    _force(db_session, oid, status, tech.id)
    tried = 0
    for table, who, base in (
        (TECH_ACTIONS, tech, TECH),
        (TENANT_ACTIONS, world.tenant, TENANT),
        (DESK_ACTIONS, world.dispatcher, ADMIN),
    ):
        for action, (path, body) in table.items():
            if (status, action) in TRANSITIONS:
                continue
            tried += 1
            r = client.post(f"{base}/{oid}/{path}", json=body or {}, headers=world.headers(who))
            assert r.status_code == 409, (status, action, r.json)
            assert r.json["error"] == "invalid_transition", (status, action)
    if (status, Action.ASSIGN) not in TRANSITIONS:
        tried += 1
        r = client.post(
            f"{ADMIN}/{oid}/assign",
            json={"staff_id": world.techs[1].id},
            headers=world.headers(world.dispatcher),
        )
        assert r.status_code == 409 and r.json["error"] == "invalid_transition", (status, r.json)
    if (status, Action.TRANSFER) not in TRANSITIONS:
        tried += 1
        r = client.post(
            f"{TECH}/{oid}/transfer",
            json={"staff_id": world.techs[1].id, "reason": "x"},
            headers=world.headers(tech),
        )
        assert r.status_code == 409 and r.json["error"] == "invalid_transition", (status, r.json)
    if status is not Status.PENDING:
        r = client.post(f"{TECH}/{oid}/grab", headers=world.headers(world.techs[1]))
        assert r.status_code in (404, 409)
        if r.status_code == 409:
            assert r.json["error"] in ("order_taken", "invalid_transition")
    assert tried > 0


def test_grab_cap_is_enforced(client, world):
    tech = world.techs[0]
    ids = [world.file(client)["id"] for _ in range(4)]
    for oid in ids[:3]:
        step(client, world, tech, f"{TECH}/{oid}/grab")
    r = client.post(f"{TECH}/{ids[3]}/grab", headers=world.headers(tech))
    assert r.status_code == 409 and r.json["error"] == "grab_limit_reached"
    pool = client.get("/api/v1/tech/pool", headers=world.headers(tech)).json
    assert (pool["held"], pool["cap"]) == (3, 3)
    # Assigning or transferring to a technician at their cap is refused the same way.
    r = client.post(
        f"{ADMIN}/{ids[3]}/assign",
        json={"staff_id": tech.id},
        headers=world.headers(world.dispatcher),
    )
    assert r.status_code == 409 and r.json["error"] == "grab_limit_reached"
    other = world.techs[1]
    step(client, world, other, f"{TECH}/{ids[3]}/grab")
    r = client.post(
        f"{TECH}/{ids[3]}/transfer",
        json={"staff_id": tech.id, "reason": "x"},
        headers=world.headers(other),
    )
    assert r.status_code == 409 and r.json["error"] == "grab_limit_reached"
    # Finishing one frees a place.
    step(client, world, tech, f"{TECH}/{ids[0]}/complete", {"result": "ok"})
    step(client, world, other, f"{TECH}/{ids[3]}/transfer", {"staff_id": tech.id, "reason": "x"})


@pytest.mark.parametrize("finished", ["completed", "closed"])
def test_reopening_to_a_technician_at_their_cap_is_refused_and_changes_nothing(
    client, world, finished
):
    """Reopening "to the same technician" hands them the order again: the cap applies."""
    tech, desk = world.techs[0], world.dispatcher
    done = world.file(client)["id"]
    step(client, world, tech, f"{TECH}/{done}/grab")
    step(client, world, tech, f"{TECH}/{done}/complete", {"result": "ok"})
    if finished == "closed":
        step(client, world, world.tenant, f"{TENANT}/{done}/rating", {"score": 5})
    held = [world.file(client)["id"] for _ in range(3)]
    for oid in held:
        step(client, world, tech, f"{TECH}/{oid}/grab")
    pool = client.get("/api/v1/tech/pool", headers=world.headers(tech)).json
    assert (pool["held"], pool["cap"]) == (3, 3)
    before = client.get(f"{ADMIN}/{done}", headers=world.headers(desk)).json
    assert before["status"] == finished and before["reopen_count"] == 0

    body = {"reason": "回访发现未修好", "to_same_technician": True}
    r = client.post(f"{ADMIN}/{done}/reopen", json=body, headers=world.headers(desk))
    assert r.status_code == 409 and r.json["error"] == "grab_limit_reached", r.json
    after = client.get(f"{ADMIN}/{done}", headers=world.headers(desk)).json
    assert after == before  # status, assignee, rating, timeline: all as they were
    pool = client.get("/api/v1/tech/pool", headers=world.headers(tech)).json
    assert (pool["held"], pool["cap"]) == (3, 3)

    # One place free (just under the cap): the same reopen goes through and fills it.
    step(client, world, tech, f"{TECH}/{held[0]}/complete", {"result": "ok"})
    reopened = step(client, world, desk, f"{ADMIN}/{done}/reopen", body)
    assert reopened["status"] == "assigned" and reopened["assignee"]["id"] == tech.id
    assert reopened["reopen_count"] == 1
    assert [e["action"] for e in reopened["timeline"]][-1] == "reopen_to_assignee"
    pool = client.get("/api/v1/tech/pool", headers=world.headers(tech)).json
    assert (pool["held"], pool["cap"]) == (3, 3)


def test_taken_order_answers_order_taken(client, world):
    oid = world.file(client)["id"]
    step(client, world, world.techs[0], f"{TECH}/{oid}/grab")
    r = client.post(f"{TECH}/{oid}/grab", headers=world.headers(world.techs[1]))
    assert r.status_code == 409 and r.json["error"] == "order_taken"


def test_pool_only_shows_eligible_types(client, world, make):
    oid = world.file(client)["id"]
    r = client.get("/api/v1/tech/pool", headers=world.headers(world.outsider))
    assert r.json["items"] == []
    r = client.post(f"{TECH}/{oid}/grab", headers=world.headers(world.outsider))
    assert r.status_code == 403
    r = client.post(
        f"{ADMIN}/{oid}/assign",
        json={"staff_id": world.outsider.id},
        headers=world.headers(world.dispatcher),
    )
    assert r.status_code == 422 and "staff_id" in r.json["errors"]


def test_pool_order_most_urgent_then_newest(client, world):
    a = world.file(client)["id"]
    b = world.file(client, priority="urgent")["id"]
    c = world.file(client)["id"]
    items = client.get("/api/v1/tech/pool", headers=world.headers(world.techs[0])).json["items"]
    assert [o["id"] for o in items] == [b, c, a]
    newest = client.get(
        "/api/v1/tech/pool", query_string={"sort": "newest"}, headers=world.headers(world.techs[0])
    ).json["items"]
    assert [o["id"] for o in newest] == [c, b, a]


def test_low_rating_asks_for_follow_up_and_reopen(client, world, db_session):
    tech = world.techs[0]
    oid = world.file(client)["id"]
    step(client, world, tech, f"{TECH}/{oid}/grab")
    step(client, world, tech, f"{TECH}/{oid}/complete", {"result": "ok"})
    rated = step(client, world, world.tenant, f"{TENANT}/{oid}/rating", {"score": 2})
    assert rated["follow_up_required"]
    board = client.get(
        ADMIN, query_string={"follow_up": "true"}, headers=world.headers(world.dispatcher)
    ).json
    assert [o["id"] for o in board["items"]] == [oid]
    reopened = step(client, world, world.tenant, f"{TENANT}/{oid}/reopen", {"reason": "又漏了"})
    assert reopened["status"] == "pending" and reopened["reopen_count"] == 1
    assert reopened["assignee"] is None and reopened["rating_score"] is None
    # The desk can send the second round straight back to the same technician.
    step(client, world, tech, f"{TECH}/{oid}/grab")
    step(client, world, tech, f"{TECH}/{oid}/complete", {"result": "ok again"})
    again = step(
        client,
        world,
        world.dispatcher,
        f"{ADMIN}/{oid}/reopen",
        {"reason": "回访发现未修好", "to_same_technician": True},
    )
    assert again["status"] == "assigned" and again["assignee"]["id"] == tech.id
    assert again["reopen_count"] == 2
    actions = [e["action"] for e in again["timeline"]]
    assert actions.count("reopen") == 1 and actions.count("reopen_to_assignee") == 1


def test_reopen_window(client, world, db_session):
    tech = world.techs[0]
    oid = world.file(client)["id"]
    step(client, world, tech, f"{TECH}/{oid}/grab")
    step(client, world, tech, f"{TECH}/{oid}/complete", {"result": "ok"})
    db_session.execute(
        text("UPDATE orders SET completed_at = :t WHERE id = :id"),
        {"t": datetime.now(UTC) - timedelta(days=8), "id": oid},
    )
    db_session.flush()
    r = client.post(
        f"{TENANT}/{oid}/reopen", json={"reason": "x"}, headers=world.headers(world.tenant)
    )
    assert r.status_code == 409 and r.json["error"] == "reopen_window_passed"


def test_cancel_rules(client, world):
    tech = world.techs[0]
    a = world.file(client)["id"]
    cancelled = step(client, world, world.tenant, f"{TENANT}/{a}/cancel", {"reason": "已自行修好"})
    assert cancelled["status"] == "cancelled"
    b = world.file(client)["id"]
    step(client, world, tech, f"{TECH}/{b}/grab")
    r = client.post(
        f"{TENANT}/{b}/cancel", json={"reason": "x"}, headers=world.headers(world.tenant)
    )
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"
    desk = step(client, world, world.dispatcher, f"{ADMIN}/{b}/cancel", {"reason": "重复报修"})
    assert desk["status"] == "cancelled"
    pool = client.get("/api/v1/tech/pool", headers=world.headers(tech)).json
    assert pool["held"] == 0


def test_pay_on_order_fee_waits_for_payment(client, world):
    filed = world.file(client, subtype_id=world.paid_subtype.id)
    assert filed["status"] == "awaiting_payment" and filed["payable_fen"] == 5000
    assert filed["payment_status"] == "unpaid"
    pool = client.get("/api/v1/tech/pool", headers=world.headers(world.techs[0])).json
    assert pool["items"] == []
    todo = client.get(
        TENANT, query_string={"box": "todo"}, headers=world.headers(world.tenant)
    ).json
    assert [o["id"] for o in todo["items"]] == [filed["id"]]


def test_staff_files_on_behalf_with_company_paying(client, world):
    body = {
        "subtype_id": world.paid_subtype.id,
        "room_id": world.room.id,
        "description": "门锁坏了",
        "contact_phone": "13800000001",
        "payer": "company",
    }
    r = client.post(TECH, json=body, headers=world.headers(world.dispatcher))
    assert r.status_code == 403  # a dispatcher without a staff record
    tech = world.techs[0]
    r = client.post(TECH, json=body, headers=world.headers(tech))
    assert (
        r.status_code == 403
    )  # 公司代付 on a fee is the desk's decision (tests/orders/test_payer.py)
    desk = world.make.staff(world.org, roles=(Role.DISPATCHER,))
    r = client.post(TECH, json=body, headers=world.headers(desk))
    assert r.status_code == 201, r.json
    assert r.json["status"] == "pending" and r.json["payer"] == "company"
    assert r.json["channel"] == "staff"
    mine = client.get(TENANT, headers=world.headers(world.tenant)).json
    assert r.json["id"] in [o["id"] for o in mine["items"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"room_id": 1, "description": "x"}, "subtype_id"),
        ({"subtype_id": 1, "description": "x"}, "room_id"),
        ({"description": ""}, "description"),
        ({"description": "x" * 1001}, "description"),
        ({"image_ids": ["a"] * 10}, "image_ids"),
        ({"image_ids": ["nope"]}, "image_ids"),
        ({"priority": "asap"}, "priority"),
        ({"contact_phone": "123"}, "contact_phone"),
        ({"subtype_id": "1"}, "subtype_id"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_filing_validation(client, world, body, field):
    full = {"subtype_id": world.subtype.id, "room_id": world.room.id, "description": "漏水", **body}
    full = {
        k: v
        for k, v in full.items()
        if k not in {"room_id", "subtype_id"} or k in body or field not in ("room_id", "subtype_id")
    }
    if field == "subtype_id" and "subtype_id" not in body:
        full.pop("subtype_id", None)
    if field == "room_id" and "room_id" not in body:
        full.pop("room_id", None)
    r = client.post(TENANT, json=full, headers=world.headers(world.tenant))
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json


def test_filing_for_someone_elses_room_or_type(client, world, make):
    r = client.post(
        TENANT,
        json={"subtype_id": world.subtype.id, "room_id": world.other_room.id, "description": "x"},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 422 and "room_id" in r.json["errors"]
    other = make.org()
    foreign = make.subtype(make.order_type(other))
    r = client.post(
        TENANT,
        json={"subtype_id": foreign.id, "room_id": world.room.id, "description": "x"},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 422 and "subtype_id" in r.json["errors"]
    inactive = make.subtype(world.order_type, is_active=False)
    r = client.post(
        TENANT,
        json={"subtype_id": inactive.id, "room_id": world.room.id, "description": "x"},
        headers=world.headers(world.tenant),
    )
    assert r.status_code == 422


def test_numbers_are_sequential_per_day(client, world):
    numbers = [world.file(client)["number"] for _ in range(3)]
    assert [n[-4:] for n in numbers] == ["0001", "0002", "0003"]


def test_idempotency_key(client, world, db_session):
    headers = {**world.headers(world.tenant), "Idempotency-Key": "k-1"}
    body = {"subtype_id": world.subtype.id, "room_id": world.room.id, "description": "漏水"}
    first = client.post(TENANT, json=body, headers=headers)
    again = client.post(TENANT, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    count = db_session.query(Order).filter(Order.org_id == world.org.id).count()
    assert count == 1
    other = client.post(TENANT, json={**body, "description": "别的"}, headers=headers)
    assert other.status_code == 409 and other.json["error"] == "idempotency_conflict"
    # A failed request does not burn its key.
    bad = {**world.headers(world.tenant), "Idempotency-Key": "k-2"}
    assert client.post(TENANT, json={**body, "room_id": 0}, headers=bad).status_code == 422
    assert client.post(TENANT, json=body, headers=bad).status_code == 201


def test_messages_in_detail(client, world):
    oid = world.file(client)["id"]
    step(
        client, world, world.tenant, f"{TENANT}/{oid}/messages", {"text": "几点能来？"}, expect=201
    )
    step(client, world, world.techs[0], f"{TECH}/{oid}/grab")
    detail = step(
        client, world, world.techs[0], f"{TECH}/{oid}/messages", {"text": "下午三点到"}, expect=201
    )
    assert [(m["author_role"], m["text"]) for m in detail["messages"]] == [
        ("tenant", "几点能来？"),
        ("technician", "下午三点到"),
    ]
    r = client.post(
        f"{TENANT}/{oid}/messages", json={"text": ""}, headers=world.headers(world.tenant)
    )
    assert r.status_code == 422


def test_tenants_and_organisations_are_isolated(client, world, make):
    oid = world.file(client)["id"]
    neighbour = world.headers(world.neighbour)
    assert client.get(f"{TENANT}/{oid}", headers=neighbour).status_code == 404
    assert client.get(TENANT, headers=neighbour).json["total"] == 0
    for path, body in (
        ("messages", {"text": "x"}),
        ("cancel", {"reason": "x"}),
        ("rating", {"score": 5}),
        ("reopen", {"reason": "x"}),
    ):
        assert (
            client.post(f"{TENANT}/{oid}/{path}", json=body, headers=neighbour).status_code == 404
        )
    # A family member of the same household sees it.
    family = make.tenant(world.org, phone="13800000003")
    make.contact(_customer_of(make, world), phone="13800000003", relation="family")
    assert client.get(f"{TENANT}/{oid}", headers=world.headers(family)).status_code == 200

    other = make.org()
    outsider_desk = make.headers(make.admin(other))
    outsider_tech = make.staff(other)
    assert client.get(f"{ADMIN}/{oid}", headers=outsider_desk).status_code == 404
    r = client.post(
        f"{ADMIN}/{oid}/assign", json={"staff_id": world.techs[0].id}, headers=outsider_desk
    )
    assert r.status_code in (404, 422)
    assert client.get(ADMIN, headers=outsider_desk).json["total"] == 0
    r = client.post(f"{TECH}/{oid}/grab", headers=make.headers(outsider_tech.user))
    assert r.status_code in (404, 403)
    assert client.get(f"{TECH}/{oid}", headers=make.headers(outsider_tech.user)).status_code == 404
    # Assigning another organisation's technician is a validation error.
    r = client.post(
        f"{ADMIN}/{oid}/assign",
        json={"staff_id": outsider_tech.id},
        headers=world.headers(world.dispatcher),
    )
    assert r.status_code == 422


def _customer_of(make, world):
    from sqlalchemy import select

    from server.models import Contact, Customer

    return make.session.scalar(
        select(Customer)
        .join(Contact)
        .where(Contact.phone == "13800000001", Contact.org_id == world.org.id)
    )


def test_roles_on_order_endpoints(client, world):
    oid = world.file(client)["id"]
    tenant = world.headers(world.tenant)
    assert client.get("/api/v1/tech/pool", headers=tenant).status_code == 403
    assert client.post(f"{TECH}/{oid}/grab", headers=tenant).status_code == 403
    assert client.get(ADMIN, headers=world.headers(world.techs[0])).status_code == 403
    assert client.post(TENANT, json={}, headers=world.headers(world.techs[0])).status_code == 403
    assert client.get("/api/v1/tech/pool").status_code == 401


def test_unrated_orders_close_after_the_window(client, world, db_session):
    from server.orders.steps import auto_close_completed

    tech = world.techs[0]
    old, recent = world.file(client)["id"], world.file(client)["id"]
    for oid in (old, recent):
        step(client, world, tech, f"{TECH}/{oid}/grab")
        step(client, world, tech, f"{TECH}/{oid}/complete", {"result": "ok"})
    db_session.execute(
        text("UPDATE orders SET completed_at = :t WHERE id = :id"),
        {"t": datetime.now(UTC) - timedelta(days=8), "id": old},
    )
    assert auto_close_completed(db_session, now=datetime.now(UTC)) == 1
    db_session.flush()
    detail = client.get(f"{TENANT}/{old}", headers=world.headers(world.tenant)).json
    assert detail["status"] == "closed"
    last = detail["timeline"][-1]
    assert (last["action"], last["actor_role"], last["actor_name"]) == (
        "auto_close",
        "system",
        "系统",
    )
    still = client.get(f"{TENANT}/{recent}", headers=world.headers(world.tenant)).json
    assert still["status"] == "completed"
