"""Notices (通知公告) and the staff bulletin (公告板) through the HTTP API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from server.notices import fanout, publishing
from server.notices.models import NoticeRecipient
from server.notifications.models import Notification
from tests.notices.conftest import ADMIN, TECH, TENANT, fan_out


def _notifications(db_session, notice_id):
    return list(
        db_session.execute(
            select(Notification.user_id, Notification.kind, Notification.urgent).where(
                Notification.dedupe_key == f"notice:{notice_id}"
            )
        )
    )


def test_a_notice_to_the_organisation_reaches_every_related_tenant_once(
    client, world, board, db_session
):
    notice = board.publish()
    assert notice["status"] == "published" and notice["recipients"] == 0
    assert notice["id"] in board.tenant_list(world.tenant)
    assert notice["id"] in board.tenant_list(world.neighbour)
    sent = _notifications(db_session, notice["id"])
    assert sorted(u for u, _, _ in sent) == sorted([world.tenant.id, world.neighbour.id])
    assert {(k, urgent) for _, k, urgent in sent} == {("notice", False)}
    # A second run of the fan-out (a retried job) writes nothing more.
    assert fan_out(board.app) == []
    db_session.expire_all()
    n = db_session.scalar(
        select(func.count())
        .select_from(NoticeRecipient)
        .where(NoticeRecipient.notice_id == notice["id"])
    )
    assert n == 2


def test_reading_is_counted_once_and_the_desk_sees_who_has_not_read(
    client, world, board, db_session
):
    notice = board.publish()
    tenant = world.headers(world.tenant)
    first = client.post(f"{TENANT}/{notice['id']}/read", headers=tenant)
    assert first.status_code == 200 and first.json["read_at"] is not None
    again = client.post(f"{TENANT}/{notice['id']}/read", headers=tenant)
    assert again.json["read_at"] == first.json["read_at"]
    inbox = client.get("/api/v1/me/notifications", headers=tenant)
    assert inbox.status_code == 200
    ours = [n for n in inbox.json["items"] if n["data"].get("notice_id") == str(notice["id"])]
    assert ours and all(n["read_at"] is not None for n in ours)

    stats = client.get(f"{ADMIN}/{notice['id']}", headers=board.desk).json
    assert (stats["recipients"], stats["read"], stats["unread"]) == (2, 1, 1)
    unread = client.get(f"{ADMIN}/{notice['id']}/unread", headers=board.desk).json
    assert unread["total"] == 1
    (row,) = unread["items"]
    assert row["user_id"] == world.neighbour.id
    assert row["phone"] == "138****0002" and row["room"] == "102"
    unread_only = client.get(TENANT + "?unread=true", headers=tenant).json
    assert notice["id"] not in [n["id"] for n in unread_only["items"]]


def test_urgent_notices_push_as_urgent(client, world, board, db_session):
    notice = board.publish(urgent=True, title="紧急停电")
    sent = _notifications(db_session, notice["id"])
    assert {(k, urgent) for _, k, urgent in sent} == {("notice_urgent", True)}


def test_targets_reach_only_their_rooms(client, world, make, board):
    other_building = make.building(world.room.community, name="2栋")
    by_room = board.publish(scope="rooms", target_ids=[world.room.id])
    by_building = board.publish(scope="buildings", target_ids=[other_building.id])
    by_community = board.publish(scope="communities", target_ids=[world.room.community_id])
    assert set(board.tenant_list(world.tenant)) >= {by_room["id"], by_community["id"]}
    assert by_building["id"] not in board.tenant_list(world.tenant)
    assert by_room["id"] not in board.tenant_list(world.neighbour)
    assert by_community["id"] in board.tenant_list(world.neighbour)


def test_organisations_never_see_each_other(client, world, make, board):
    notice = board.publish()
    stranger_org = make.org()
    stranger_desk = make.headers(make.dispatcher(stranger_org))
    assert client.get(f"{ADMIN}/{notice['id']}", headers=stranger_desk).status_code == 404
    assert client.get(f"{ADMIN}/{notice['id']}/unread", headers=stranger_desk).status_code == 404
    r = client.post(f"{ADMIN}/{notice['id']}/withdraw", headers=stranger_desk)
    assert r.status_code == 404
    assert client.get(ADMIN, headers=stranger_desk).json["total"] == 0
    # Their rooms are not ours to target.
    community = make.community(stranger_org)
    r = client.post(
        ADMIN,
        json={"title": "t", "body": "b", "scope": "communities", "target_ids": [community.id]},
        headers=board.desk,
    )
    assert r.status_code == 422 and "target_ids" in r.json["errors"]
    # Their tenant with the same phone sees nothing of ours.
    twin = make.tenant(stranger_org, phone="13800000001")
    assert board.tenant_list(twin) == []
    r = client.get(f"{TENANT}/{notice['id']}", headers=make.headers(twin))
    assert r.status_code == 404


def test_reach_is_decided_on_the_publish_date(client, world, make, board):
    today = datetime.now(UTC).astimezone().date()
    moved_out = make.customer(world.org, name="王五")
    make.contact(moved_out, phone="13800000005")
    make.holds(moved_out, world.room, relation="tenant", end_date=today - timedelta(days=1))
    moving_in = make.customer(world.org, name="赵六")
    make.contact(moving_in, phone="13800000006")
    make.holds(moving_in, world.room, relation="tenant", start_date=today + timedelta(days=30))
    gone = make.tenant(world.org, phone="13800000005")
    later = make.tenant(world.org, phone="13800000006")
    notice = board.publish(scope="rooms", target_ids=[world.room.id])
    assert notice["id"] in board.tenant_list(world.tenant)
    assert board.tenant_list(gone) == []
    assert board.tenant_list(later) == []
    r = client.post(f"{TENANT}/{notice['id']}/read", headers=make.headers(gone))
    assert r.status_code == 404


def test_withdrawn_notices_disappear(client, world, board):
    notice = board.publish()
    r = client.post(f"{ADMIN}/{notice['id']}/withdraw", headers=board.desk)
    assert r.status_code == 200 and r.json["status"] == "withdrawn"
    assert board.tenant_list(world.tenant) == []
    assert (
        client.get(f"{TENANT}/{notice['id']}", headers=world.headers(world.tenant)).status_code
        == 404
    )
    again = client.post(f"{ADMIN}/{notice['id']}/withdraw", headers=board.desk)
    assert again.status_code == 409 and again.json["error"] == "invalid_transition"


def test_expired_notices_disappear(client, world, board, db_session):
    notice = board.publish(expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    assert notice["id"] in board.tenant_list(world.tenant)
    row = db_session.get(publishing.Notice, notice["id"])
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.flush()
    assert board.tenant_list(world.tenant) == []


def test_scheduled_notices_are_published_once_by_the_tick(client, world, board, db_session):
    at = datetime.now(UTC) + timedelta(hours=2)
    notice = board.publish(publish_at=at.isoformat())
    assert notice["status"] == "scheduled" and notice["published_at"] is None
    assert board.tenant_list(world.tenant) == []
    assert publishing.publish_due(db_session, now=datetime.now(UTC)) == 0
    later = at + timedelta(minutes=1)
    assert publishing.publish_due(db_session, now=later) == 1
    assert publishing.publish_due(db_session, now=later) == 0
    db_session.flush()
    fan_out(board.app)
    assert notice["id"] in board.tenant_list(world.tenant)
    assert len(_notifications(db_session, notice["id"])) == 2


def test_a_withdrawn_scheduled_notice_is_never_published(client, world, board, db_session):
    at = datetime.now(UTC) + timedelta(hours=2)
    notice = board.publish(publish_at=at.isoformat())
    client.post(f"{ADMIN}/{notice['id']}/withdraw", headers=board.desk)
    assert publishing.publish_due(db_session, now=at + timedelta(minutes=1)) == 0


def test_staff_notices_reach_their_departments_in_the_app(client, world, make, board):
    notice = board.publish(scope="departments", target_ids=[world.department.id], audience="staff")
    for tech in world.techs:
        r = client.get(TECH, headers=world.headers(tech))
        assert [n["id"] for n in r.json["items"]] == [notice["id"]]
    assert client.get(TECH, headers=world.headers(world.outsider)).json["total"] == 0
    everyone = board.publish(scope="all_staff", audience="staff")
    assert (
        client.get(TECH, headers=world.headers(world.outsider)).json["items"][0]["id"]
        == (everyone["id"])
    )
    # Staff notices are not tenants' and tenants' are not staff's.
    assert board.tenant_list(world.tenant) == []
    r = client.post(f"{TECH}/{notice['id']}/read", headers=world.headers(world.techs[0]))
    assert r.status_code == 200 and r.json["read_at"] is not None
    assert client.get(TECH, headers=world.headers(world.tenant)).status_code == 403


def test_bad_input_is_refused_in_zh(client, world, board):
    cases = [
        ({"scope": "departments", "target_ids": [1]}, "scope"),  # a tenant notice to departments
        ({"scope": "rooms"}, "target_ids"),
        ({"scope": "org", "target_ids": [world.room.id]}, "target_ids"),
        ({"title": ""}, "title"),
        ({"audience": "staff", "scope": "all_staff", "urgent": True}, "urgent"),
        (
            {
                "publish_at": "2030-01-02T00:00:00+08:00",
                "expires_at": "2030-01-01T00:00:00+08:00",
            },
            "expires_at",
        ),
    ]
    for body, field in cases:
        r = board.publish(expect=422, **body)
        assert r["error"] == "validation_error" and field in r["errors"], (body, r)


def test_the_fan_out_in_parts_writes_each_row_once(client, world, make, board, db_session, app):
    rooms = [make.room(world.building) for _ in range(5)]
    for i, room in enumerate(rooms):
        customer = make.customer(world.org)
        make.contact(customer, phone=f"1390000000{i}")
        make.holds(customer, room)
        make.tenant(world.org, phone=f"1390000000{i}")
    notice = board.publish(fan=False)
    assert fanout.split(db_session, notice_id=notice["id"], per_part=2) == 4  # 7 rooms
    now = datetime.now(UTC)
    first_room = min(r.id for r in [world.room, world.other_room, *rooms])
    last_room = max(r.id for r in [world.room, world.other_room, *rooms])
    assert (
        fanout.write_part(
            db_session, notice_id=notice["id"], first=first_room, last=last_room, now=now
        )
        == 7
    )
    # The parts (and a repeated whole) write nothing more.
    assert fan_out(app)
    assert (
        fanout.write_part(
            db_session, notice_id=notice["id"], first=first_room, last=last_room, now=now
        )
        == 0
    )
    assert len(_notifications(db_session, notice["id"])) == 7
    assert date.today()  # keep the import honest
