"""Return visits (回访) through the real HTTP API: where they come from, recording the call."""

from __future__ import annotations

from sqlalchemy import text

from server.visits.rules import sampled

TENANT = "/api/v1/tenant/orders"
TECH = "/api/v1/tech/orders"
VISITS = "/api/v1/admin/return-visits"
SETTINGS = "/api/v1/admin/settings/organisation"


def post(client, headers, path, body=None, expect=200):
    r = client.post(path, json=body or {}, headers=headers)
    assert r.status_code == expect, r.json
    return r.json


def completed(client, world):
    """A completed order (filed by the tenant, grabbed and finished by a technician)."""
    oid = world.file(client)["id"]
    tech = world.headers(world.techs[0])
    post(client, tech, f"{TECH}/{oid}/grab")
    post(client, tech, f"{TECH}/{oid}/complete", {"result": "换了接头"})
    return oid


def rate(client, world, oid, score):
    return post(client, world.headers(world.tenant), f"{TENANT}/{oid}/rating", {"score": score})


def desk(world):
    return world.headers(world.dispatcher)


def due(client, world):
    r = client.get(VISITS, query_string={"status": "due"}, headers=desk(world))
    assert r.status_code == 200, r.json
    return r.json


def no_sampling(client, world, **more):
    body = {"visit_sample_percent": 0, **more}
    r = client.patch(SETTINGS, json=body, headers=world.make.headers(world.make.admin(world.org)))
    assert r.status_code == 200, r.json
    return r.json


def test_low_rating_makes_a_visit_that_the_desk_records_once(client, world, db_session):
    no_sampling(client, world)
    oid = completed(client, world)
    rate(client, world, oid, 2)

    page = due(client, world)
    assert page["total"] == 1 and page["page"] == 1 and page["page_size"] == 20
    [visit] = page["items"]
    assert visit["reason"] == "low_rating" and visit["status"] == "due"
    assert visit["order"]["id"] == oid and visit["order"]["rating_score"] == 2
    assert visit["reached"] is None and visit["satisfied"] is None

    done = post(
        client,
        desk(world),
        f"{VISITS}/{visit['id']}/outcome",
        {"reached": True, "satisfied": True, "notes": "已修好，住户满意"},
    )
    assert done["status"] == "done" and done["satisfied"] is True and not done["reopened"]
    assert due(client, world)["total"] == 0
    again = client.post(
        f"{VISITS}/{visit['id']}/outcome", json={"reached": False}, headers=desk(world)
    )
    assert again.status_code == 409 and again.json["error"] == "invalid_transition"

    # On the order's timeline, the status kept.
    detail = client.get(f"/api/v1/admin/orders/{oid}", headers=desk(world)).json
    last = detail["timeline"][-1]
    assert (last["action"], last["from_status"], last["to_status"]) == (
        "return_visit",
        "closed",
        "closed",
    )
    assert client.get(f"{VISITS}/{visit['id']}", headers=desk(world)).json["notes"] == (
        "已修好，住户满意"
    )


def test_good_rating_makes_no_visit_and_the_threshold_is_a_setting(client, world):
    settings = no_sampling(client, world)
    assert settings["visit_low_rating_at_or_below"] == 2
    first = completed(client, world)
    rate(client, world, first, 3)
    assert due(client, world)["total"] == 0

    no_sampling(client, world, visit_low_rating_at_or_below=3)
    oid = completed(client, world)
    rate(client, world, oid, 3)
    assert [v["order_id"] for v in due(client, world)["items"]] == [oid]
    # One line: the order's 需回访 mark follows the same setting as the visit.
    for order_id, marked in ((first, False), (oid, True)):
        detail = client.get(f"/api/v1/admin/orders/{order_id}", headers=desk(world)).json
        assert detail["follow_up_required"] is marked


def test_not_satisfied_reopens_the_order_through_the_reopen_rules(client, world):
    no_sampling(client, world)
    oid = completed(client, world)
    rate(client, world, oid, 1)
    [visit] = due(client, world)["items"]

    done = post(
        client,
        desk(world),
        f"{VISITS}/{visit['id']}/outcome",
        {"reached": True, "satisfied": False, "notes": "还在漏", "reopen": True},
    )
    assert done["reopened"] is True and done["order"]["status"] == "pending"
    # The reopen is a reopen like any other: it asks for its own visit.
    [again] = due(client, world)["items"]
    assert again["reason"] == "reopen" and again["order_id"] == oid
    detail = client.get(f"/api/v1/admin/orders/{oid}", headers=desk(world)).json
    actions = [e["action"] for e in detail["timeline"]]
    assert actions[-2:] == ["return_visit", "reopen"]

    # The reopen's own visit may be recorded while the order is open again: status kept.
    post(client, desk(world), f"{VISITS}/{again['id']}/outcome", {"reached": False})
    detail = client.get(f"/api/v1/admin/orders/{oid}", headers=desk(world)).json
    last = detail["timeline"][-1]
    assert (last["action"], last["from_status"], last["to_status"]) == (
        "return_visit",
        "pending",
        "pending",
    )


def test_a_tenant_reopen_asks_for_a_visit(client, world):
    no_sampling(client, world)
    oid = completed(client, world)
    post(client, world.headers(world.tenant), f"{TENANT}/{oid}/reopen", {"reason": "没修好"})
    [visit] = due(client, world)["items"]
    assert (visit["order_id"], visit["reason"]) == (oid, "reopen")


def test_sampling_is_reproducible_and_follows_the_share(client, world):
    # The same (org, order) always answers the same; the share holds over many orders.
    assert sampled(org_id=1, order_id=42, percent=10) == sampled(org_id=1, order_id=42, percent=10)
    hits = sum(sampled(org_id=7, order_id=i, percent=10) for i in range(10_000))
    assert 900 < hits < 1100
    assert not any(sampled(org_id=7, order_id=i, percent=0) for i in range(100))

    no_sampling(client, world, visit_sample_percent=100)
    oid = completed(client, world)
    rate(client, world, oid, 5)
    [visit] = due(client, world)["items"]
    assert (visit["order_id"], visit["reason"]) == (oid, "sample")


def test_bad_outcomes_and_settings_are_refused(client, world):
    no_sampling(client, world)
    oid = completed(client, world)
    rate(client, world, oid, 1)
    [visit] = due(client, world)["items"]
    url = f"{VISITS}/{visit['id']}/outcome"
    for body, field in (
        ({}, "reached"),
        ({"reached": True}, "satisfied"),
        ({"reached": False, "satisfied": True}, "satisfied"),
        ({"reached": True, "satisfied": True, "reopen": True}, "reopen"),
        ({"reached": "maybe"}, "reached"),
    ):
        r = client.post(url, json=body, headers=desk(world))
        assert r.status_code == 422, (body, r.json)
        assert r.json["error"] == "validation_error" and field in r.json["errors"], r.json
    r = client.get(VISITS, query_string={"status": "later"}, headers=desk(world))
    assert r.status_code == 422
    admin = world.make.headers(world.make.admin(world.org))
    for body in ({"visit_sample_percent": 101}, {"visit_low_rating_at_or_below": 6}):
        assert client.patch(SETTINGS, json=body, headers=admin).status_code == 422
    # Tenants and technicians have no business here.
    assert client.get(VISITS, headers=world.headers(world.tenant)).status_code == 403


def test_visits_stay_in_their_organisation(client, world, make):
    no_sampling(client, world)
    oid = completed(client, world)
    rate(client, world, oid, 1)
    [visit] = due(client, world)["items"]

    other = make.org()
    stranger = make.headers(make.dispatcher(other))
    assert client.get(VISITS, query_string={"status": "due"}, headers=stranger).json["total"] == 0
    assert client.get(f"{VISITS}/{visit['id']}", headers=stranger).status_code == 404
    r = client.post(f"{VISITS}/{visit['id']}/outcome", json={"reached": False}, headers=stranger)
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_workbench_and_dashboard_figures(client, world, db_session):
    from server.visits import figures

    no_sampling(client, world)
    first, second = completed(client, world), completed(client, world)
    rate(client, world, first, 1)
    rate(client, world, second, 2)
    org_id = world.org.id
    assert figures.due_count(db_session, org_id=org_id) == 2
    assert [v.order_id for v in figures.first_due(db_session, org_id=org_id)] == [first, second]
    [a, b] = due(client, world)["items"]
    post(client, desk(world), f"{VISITS}/{a['id']}/outcome", {"reached": True, "satisfied": True})
    post(client, desk(world), f"{VISITS}/{b['id']}/outcome", {"reached": False})
    numbers = figures.visit_figures(db_session, org_id=org_id)
    assert numbers["done"] == 2 and numbers["reached"] == 1 and numbers["satisfied"] == 1
    assert numbers["satisfaction_percent"] == 100 and numbers["due"] == 0
    assert numbers["done_by_reason"] == {"low_rating": 2}
    assert (
        db_session.execute(
            text("SELECT count(*) FROM return_visits WHERE org_id = :o"), {"o": org_id}
        ).scalar()
        == 2
    )
