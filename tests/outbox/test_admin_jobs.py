"""Operators see their organisation's failed and waiting jobs, and retry failed ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.outbox import delivery
from server.outbox.delivery import Outcome
from server.outbox.models import OutboxItem
from server.outbox.outbox import enqueue_on_commit
from tests.outbox import handlers
from tests.outbox.conftest import clear

JOBS = "/api/v1/admin/jobs"


@pytest.fixture
def rows(db, make, org, queue):
    """A failed and a pending item of `org`, and a failed one of another organisation."""
    other = make.org()
    with db.transaction() as uow:
        ids = {
            "failed": enqueue_on_commit(uow.session, handlers.MARK_ORG, org_id=org.id, mark="+"),
            "pending": enqueue_on_commit(uow.session, handlers.NOTE, org_id=org.id),
            "other": enqueue_on_commit(uow.session, handlers.MARK_ORG, org_id=other.id, mark="+"),
        }
        for key in ("failed", "other"):
            item = uow.session.get(OutboxItem, ids[key])
            item.status, item.attempts = "failed", item.max_attempts
            item.last_error = "RuntimeError: 138****5678 无法送达"
    clear(queue)  # their first deliveries are not what these tests look at
    return ids


def test_admins_list_their_organisation_s_jobs_by_status(client, admin_headers, rows):
    r = client.get(JOBS, query_string={"status": "failed"}, headers=admin_headers)
    assert r.status_code == 200, r.json
    assert (r.json["total"], r.json["page"], r.json["page_size"]) == (1, 1, 20)
    (item,) = r.json["items"]
    assert item["id"] == rows["failed"]
    assert (item["job"], item["status"], item["attempts"], item["max_attempts"]) == (
        "tests.mark_org",
        "failed",
        3,
        3,
    )
    assert item["last_error"] == "RuntimeError: 138****5678 无法送达"
    assert item["created_at"].endswith("+08:00")
    assert "kwargs" not in item

    r = client.get(JOBS, headers=admin_headers)
    assert [i["id"] for i in r.json["items"]] == [rows["pending"], rows["failed"]]

    r = client.get(JOBS, query_string={"status": "pending"}, headers=admin_headers)
    assert [i["id"] for i in r.json["items"]] == [rows["pending"]]


def test_bad_filters_and_other_roles_are_refused(client, make, org, admin_headers, rows):
    r = client.get(JOBS, query_string={"status": "lost"}, headers=admin_headers)
    assert r.status_code == 422 and "status" in r.json["errors"]
    dispatcher = make.headers(make.dispatcher(org))
    assert client.get(JOBS, headers=dispatcher).status_code == 403
    assert client.post(f"{JOBS}/{rows['failed']}/retry", headers=dispatcher).status_code == 403


def test_retrying_a_failed_job_gives_it_fresh_attempts_now(
    client, db, admin_headers, rows, jobs, outbox_row, org, db_session
):
    name = org.name
    r = client.post(f"{JOBS}/{rows['failed']}/retry", headers=admin_headers)

    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["attempts"], r.json["max_attempts"]) == ("pending", 3, 6)
    assert jobs.queued() == [jobs.id(rows["failed"], 3)]

    later = datetime.now(UTC) + timedelta(seconds=1)
    outcome = delivery.deliver(
        db, outbox_id=rows["failed"], job="tests.mark_org", clock=lambda: later
    )
    assert outcome is Outcome.DELIVERED
    assert outbox_row(rows["failed"]).attempts == 4
    db_session.refresh(org)
    assert org.name == name + "+"


def test_only_failed_jobs_of_one_s_own_organisation_are_retried(client, admin_headers, rows, jobs):
    r = client.post(f"{JOBS}/{rows['pending']}/retry", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"
    r = client.post(f"{JOBS}/{rows['other']}/retry", headers=admin_headers)
    assert r.status_code == 404 and r.json["error"] == "not_found"
    assert client.post(f"{JOBS}/99999999/retry", headers=admin_headers).status_code == 404
    assert jobs.queued() == []
