"""Organisation scoping has one home: `server.db.scoping`.

Nothing else compares a row's organisation with the caller's (a grep over the source keeps it
so); the helpers answer 404 for another organisation's ids and 422 for references to them, lock
only the row asked for, and can read it afresh.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import event, update

from server.db.scoping import belongs_to, find_owned, get_owned, reference_owned
from server.kernel.errors import NotFound, ValidationFailed
from server.models import Order, Room, User

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "server" / "db" / "scoping.py"
# `x.org_id != y`, `org_id!=y`, `y != x.org_id` …
INLINE = re.compile(r"\borg_id\s*!=|!=\s*[\w.()]*\borg_id\b")


def test_no_inline_organisation_check_outside_scoping():
    offenders = []
    for top in ("server", "mobile_api", "workers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path == HOME:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if INLINE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == [], (
        "use server.db.scoping (get_owned, reference_owned, find_owned, belongs_to)"
    )


def test_the_grep_finds_what_it_is_for():
    for line in (
        "    if order is None or order.org_id != org_id:",
        "if subtype.org_id!=actor.org_id or not subtype.is_active:",
        "if actor.org_id != room.org_id:",
    ):
        assert INLINE.search(line), line
    for line in ("Order.org_id == org_id", "if user.org_id == org_id:", "org_id=org_id"):
        assert not INLINE.search(line), line


def test_belongs_to():
    class Thing:
        def __init__(self, org_id):
            self.org_id = org_id

    assert belongs_to(Thing(1), 1)
    assert not belongs_to(Thing(2), 1)
    assert not belongs_to(Thing(None), 1)  # work of no organisation belongs to none
    assert not belongs_to(None, 1)


@pytest.fixture
def two_rooms(make):
    """A room in each of two organisations."""
    mine, theirs = make.org(), make.org()
    room = make.room(make.building(make.community(mine)))
    foreign = make.room(make.building(make.community(theirs)))
    return mine, room, foreign


def test_get_owned_finds_own_rows_only(db_session, two_rooms):
    org, room, foreign = two_rooms
    assert get_owned(db_session, Room, room.id, org_id=org.id) is room
    for missing in (foreign.id, foreign.id + 1_000_000):
        with pytest.raises(NotFound) as caught:
            get_owned(db_session, Room, missing, org_id=org.id, message="房间不存在")
        # Another organisation's id and an id that does not exist answer alike (no leaks).
        assert (caught.value.status, caught.value.error, caught.value.message) == (
            404,
            "not_found",
            "房间不存在",
        )
    assert find_owned(db_session, Room, foreign.id, org_id=org.id) is None
    assert find_owned(db_session, Room, foreign.id, org_id=foreign.org_id) is foreign


def test_reference_owned_is_a_field_error(db_session, two_rooms):
    org, room, foreign = two_rooms
    kwargs = {"org_id": org.id, "field": "room_id", "message": "房间不存在"}
    assert reference_owned(db_session, Room, None, **kwargs) is None
    assert reference_owned(db_session, Room, room.id, **kwargs) is room
    for missing in (foreign.id, foreign.id + 1_000_000):
        with pytest.raises(ValidationFailed) as caught:
            reference_owned(db_session, Room, missing, **kwargs)
        assert caught.value.status == 422
        assert caught.value.errors == {"room_id": ["房间不存在"]}


def _statements(db_session):
    seen: list[str] = []
    connection = db_session.connection()

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    return seen, lambda: event.remove(connection, "before_cursor_execute", record)


def test_for_update_locks_only_the_row_asked_for(db_session, two_rooms):
    """A room loads its unit by an outer join: a bare FOR UPDATE would be refused by PostgreSQL."""
    org, room, _ = two_rooms
    seen, stop = _statements(db_session)
    try:
        assert get_owned(db_session, Room, room.id, org_id=org.id, for_update=True) is room
    finally:
        stop()
    assert any("FOR UPDATE OF rooms" in s for s in seen), seen


def test_populate_existing_reads_the_row_afresh(db_session, two_rooms):
    org, room, _ = two_rooms
    db_session.execute(
        update(Room).where(Room.id == room.id).values(layout="两室一厅"),
        execution_options={"synchronize_session": False},
    )
    assert get_owned(db_session, Room, room.id, org_id=org.id).layout == ""
    fresh = get_owned(db_session, Room, room.id, org_id=org.id, populate_existing=True)
    assert fresh is room and fresh.layout == "两室一厅"


def test_other_models(db_session, make):
    org, other = make.org(), make.org()
    user = make.tenant(org)
    assert find_owned(db_session, User, user.id, org_id=org.id) is user
    assert find_owned(db_session, User, user.id, org_id=other.id) is None
    assert find_owned(db_session, Order, 1_000_000_000, org_id=org.id) is None


# Through the HTTP API: the use cases that compared organisations inline now use the helpers.


def test_another_organisations_order_is_not_found(client, world, make):
    order_id = world.file(client)["id"]
    other = make.org()
    outsider = make.headers(make.admin(other))
    tech = make.headers(make.staff(other).user)
    for method, url, headers in (
        ("get", f"/api/v1/admin/orders/{order_id}", outsider),
        ("post", f"/api/v1/admin/orders/{order_id}/cancel", outsider),
        ("post", f"/api/v1/tech/orders/{order_id}/accept", tech),
    ):
        body = {"reason": "测试"} if method == "post" else None
        r = getattr(client, method)(url, json=body, headers=headers)
        assert r.status_code == 404, (url, r.json)
        assert r.json["error"] == "not_found"


def test_staff_filing_with_another_organisations_room_or_type(client, world, make):
    other = make.org()
    foreign_room = make.room(make.building(make.community(other)))
    foreign_subtype = make.subtype(make.order_type(other))
    body = {
        "subtype_id": world.subtype.id,
        "room_id": world.room.id,
        "description": "厨房水管漏水",
        "contact_phone": "13800000001",
    }
    headers = world.headers(world.techs[0])
    for field, value, message in (
        ("room_id", foreign_room.id, "房间不存在"),
        ("subtype_id", foreign_subtype.id, "报修类型不存在或已停用"),
    ):
        r = client.post("/api/v1/tech/orders", json={**body, field: value}, headers=headers)
        assert r.status_code == 422, r.json
        assert r.json["error"] == "validation_error"
        assert r.json["errors"] == {field: [message]}
