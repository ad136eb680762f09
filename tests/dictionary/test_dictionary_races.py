"""Two admins adding the same code to a list at the same moment, through the real HTTP API
with real commits: one 201, one 409, one row."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import text

from server.kernel.roles import Role
from tests.concurrency.conftest import base_url, race  # noqa: F401  (the served app)
from tests.factories import Factory

pytestmark = pytest.mark.concurrency

CANCEL = "/api/v1/admin/dictionary/cancel_reasons"


@pytest.fixture
def admins(app):
    container = app.extensions["baoxiu"]
    db = container.db
    now = datetime.now(UTC)
    with db.transaction() as uow:
        make = Factory(uow.session, container.tokens)
        org = make.org(code=f"dict{uuid.uuid4().hex[:16]}")
        headers = []
        for _ in range(2):
            user = make.user(org, roles=[Role.ADMIN.value])
            pair = container.tokens.issue(uow.session, user=user, now=now)
            headers.append({"Authorization": f"Bearer {pair.access_token}"})
        uow.session.flush()
        org_id = org.id

    def rows(sql):
        with db.engine.connect() as conn:
            return list(conn.execute(text(sql), {"org_id": org_id}).all())

    return headers, rows


@pytest.mark.parametrize("attempt", range(3))
def test_two_admins_adding_one_code_get_one_201_and_one_409(base_url, admins, attempt):  # noqa: F811
    headers, rows = admins

    def add(who, label):
        def call(http: requests.Session) -> requests.Response:
            return http.post(
                base_url + CANCEL,
                json={"code": "water_off", "label": label},
                headers=who,
                timeout=30,
            )

        return call

    answers = race([add(headers[0], "小区停水"), add(headers[1], "停水")])
    assert Counter(a.status for a in answers) == Counter({201: 1, 409: 1}), answers
    assert all(a.error in (None, "conflict") for a in answers)
    stored = rows(
        "SELECT code FROM dictionary_items WHERE org_id = :org_id AND list = 'cancel_reasons'"
    )
    assert [r.code for r in stored] == ["water_off"]
    audited = rows(
        "SELECT count(*) AS n FROM audit_log WHERE org_id = :org_id AND kind = 'dictionary_changed'"
    )
    assert audited[0].n == 1


@pytest.mark.parametrize("attempt", range(3))
def test_two_admins_relabelling_a_system_value_first_both_succeed(
    base_url,  # noqa: F811
    admins,
    attempt,
):
    """The system value's row is written on its first change: two first changes at once
    write one row, and both changes take effect one after the other (no misleading 409)."""
    headers, rows = admins

    def relabel(who, label):
        def call(http: requests.Session) -> requests.Response:
            return http.patch(
                base_url + "/api/v1/admin/dictionary/room_uses/items/residence",
                json={"label": label},
                headers=who,
                timeout=30,
            )

        return call

    answers = race([relabel(headers[0], "住宅（甲）"), relabel(headers[1], "住宅（乙）")])
    assert [a.status for a in answers] == [200, 200], answers
    stored = rows(
        "SELECT label FROM dictionary_items WHERE org_id = :org_id AND list = 'room_uses'"
        " AND code = 'residence'"
    )
    assert len(stored) == 1 and stored[0].label in ("住宅（甲）", "住宅（乙）")
    audited = rows(
        "SELECT count(*) AS n FROM audit_log WHERE org_id = :org_id AND kind = 'dictionary_changed'"
    )
    assert audited[0].n == 2
