"""日志管理 through the real HTTP API: a row per recorded kind, none when the operation is
refused or rolled back, rows the database will not change, personal data masked, admins only,
each organisation its own log."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from server.audit import log as audit_log
from server.audit.models import AuditEntry
from server.kernel.roles import Role
from tests.audit.conftest import new_rows
from tests.factories import PASSWORD

AUDIT = "/api/v1/admin/audit-log"
LOGIN = "/api/v1/auth/login"
WX_LOGIN = "/api/v1/auth/wechat/login"
ADMIN = "/api/v1/admin"
UA = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) MicroMessenger/8.0 miniProgram"}


def rows(db_session, **where):
    return new_rows(db_session, **where)


def entries(client, headers, **query):
    r = client.get(AUDIT, query_string=query, headers=headers)
    assert r.status_code == 200, r.json
    return r.json


FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
FULL_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def assert_nothing_unmasked(db_session):
    """No full phone or ID number anywhere in the log, in any column."""
    found = db_session.execute(text("SELECT row_to_json(a)::text FROM audit_log a")).scalars()
    for line in found:
        assert not FULL_PHONE.search(line), line
        assert not FULL_ID.search(line), line


# --- logins -------------------------------------------------------------------------------


def test_password_logins_succeeded_and_failed(client, make, org, admin_headers, db_session):
    staff = make.staff(org, phone="13900000077")
    ok = client.post(LOGIN, json={"phone": "13900000077", "password": PASSWORD}, headers=UA)
    assert ok.status_code == 200
    bad = client.post(
        LOGIN, json={"phone": "13900000077", "password": "wrong-pass", "org": org.code}
    )
    assert bad.status_code == 401
    unknown = client.post(LOGIN, json={"phone": "13700000000", "password": "whatever"})
    assert unknown.status_code == 401

    [success] = rows(db_session, kind="login_succeeded")
    assert (success.org_id, success.actor_user_id, success.actor_role) == (
        org.id,
        staff.user_id,
        "technician",
    )
    assert success.client_address == "127.0.0.1" and "iPhone" in success.user_agent
    assert success.device == "iOS 微信小程序"
    assert success.data["phone"] == "139****0077"
    failed = rows(db_session, kind="login_failed")
    assert len(failed) == 2
    mine, stranger = failed
    assert mine.org_id == org.id and mine.actor_user_id is None
    assert mine.data["phone"] == "139****0077" and "手机号或密码错误" in mine.summary
    assert stranger.org_id is None  # a phone of no organisation: nobody's log
    # The admin sees their organisation's rows, the failure among them.
    page = entries(client, admin_headers, kind="login_failed")
    assert [item["data"]["phone"] for item in page["items"]] == ["139****0077"]
    assert page["items"][0]["kind_label"] == "登录失败"
    assert_nothing_unmasked(db_session)


def test_a_deactivated_account_failing_to_log_in_is_recorded(client, make, org, db_session):
    staff = make.staff(org, phone="13900000078")
    staff.user.is_active = False
    make.session.flush()
    r = client.post(LOGIN, json={"phone": "13900000078", "password": PASSWORD})
    assert r.status_code == 403
    [row] = rows(db_session, kind="login_failed")
    assert row.org_id == org.id and "停用" in row.summary


def test_wechat_logins(client, make, org, fake_wechat, db_session):
    r = client.post(WX_LOGIN, json={"code": fake_wechat.login_code(openid="oA"), "org": org.code})
    assert r.status_code == 200
    [ok] = rows(db_session, kind="login_succeeded")
    assert ok.org_id == org.id and ok.data["channel"] == "wechat"
    assert ok.actor_user_id == r.json["user"]["id"] and ok.actor_role == "tenant"
    fake_wechat.fail_next("/sns/jscode2session", 40029)
    r = client.post(WX_LOGIN, json={"code": fake_wechat.login_code(), "org": org.code})
    assert r.status_code == 400
    [failed] = rows(db_session, kind="login_failed")
    assert failed.org_id == org.id and failed.data["channel"] == "wechat"
    assert "openid" not in str(failed.data)


def test_console_sign_in_succeeded_and_failed(client, make, org, db_session):
    admin = make.admin(org)
    tenant = make.tenant(org)
    form = {"phone": admin.phone, "password": "nope-nope", "org": org.code}
    assert client.post("/console/login", data=form).status_code == 200
    form = {"phone": tenant.phone, "password": PASSWORD, "org": org.code}
    assert client.post("/console/login", data=form).status_code == 200  # not a desk role
    form = {"phone": admin.phone, "password": PASSWORD, "org": org.code}
    assert client.post("/console/login", data=form).status_code == 303
    [ok] = rows(db_session, kind="login_succeeded")
    assert ok.actor_user_id == admin.id and ok.data["channel"] == "console"
    assert ok.actor_role == "admin"
    failed = rows(db_session, kind="login_failed")
    assert [row.data["channel"] for row in failed] == ["console", "console"]
    assert "有控制台权限的员工" in failed[1].summary
    assert_nothing_unmasked(db_session)


# --- key operations -----------------------------------------------------------------------


def test_staff_role_change_and_deactivation(client, make, org, db_session):
    admin = make.admin(org)
    headers = make.headers(admin)
    staff = make.staff(org)
    r = client.patch(f"{ADMIN}/staff/{staff.id}", json={"roles": ["dispatcher"]}, headers=headers)
    assert r.status_code == 200, r.json
    r = client.patch(f"{ADMIN}/staff/{staff.id}", json={"name": "改个名"}, headers=headers)
    assert r.status_code == 200  # no role or access change: not a key operation
    assert client.delete(f"{ADMIN}/staff/{staff.id}", headers=headers).status_code == 204
    [changed] = rows(db_session, kind="staff_changed")
    assert changed.target_type == "staff" and changed.target_id == staff.id
    assert changed.actor_user_id == admin.id and changed.actor_role == "admin"
    assert changed.data["roles_before"] == ["technician"]
    assert changed.data["roles_after"] == ["dispatcher"]
    assert "维修师傅 → 调度员" in changed.summary
    [gone] = rows(db_session, kind="staff_deactivated")
    assert gone.target_id == staff.id
    # Refused (one's own account): no row.
    me = make.staff(org, roles=(Role.ADMIN,))
    r = client.delete(f"{ADMIN}/staff/{me.id}", headers=make.headers(me.user))
    assert r.status_code == 409
    assert len(rows(db_session, kind="staff_deactivated")) == 1


def test_desk_assignment_and_reassignment(client, world, db_session):
    filed = world.file(client)
    desk = world.headers(world.dispatcher)
    first, second = world.techs[0], world.techs[1]
    r = client.post(
        f"{ADMIN}/orders/{filed['id']}/assign", json={"staff_id": first.id}, headers=desk
    )
    assert r.status_code == 200, r.json
    r = client.post(
        f"{ADMIN}/orders/{filed['id']}/assign",
        json={"staff_id": second.id, "take_back": True},
        headers=desk,
    )
    assert r.status_code == 200, r.json
    # Refused: the technician is not eligible; nothing recorded.
    r = client.post(
        f"{ADMIN}/orders/{filed['id']}/assign",
        json={"staff_id": world.outsider.id, "take_back": True},
        headers=desk,
    )
    assert r.status_code == 422
    assigned = rows(db_session, kind="order_assigned")
    assert [(a.target_id, a.data["assignee_id"]) for a in assigned] == [
        (filed["id"], first.id),
        (filed["id"], second.id),
    ]
    assert assigned[0].actor_user_id == world.dispatcher.id
    assert assigned[0].actor_role == "dispatcher"
    assert "改派" in assigned[1].summary and filed["number"] in assigned[1].summary


def test_transfer_by_the_technician(client, world, db_session):
    filed = world.file(client)
    tech, other = world.techs[0], world.techs[1]
    r = client.post(f"/api/v1/tech/orders/{filed['id']}/grab", headers=world.headers(tech))
    assert r.status_code == 200, r.json
    r = client.post(
        f"/api/v1/tech/orders/{filed['id']}/transfer",
        json={"staff_id": other.id, "reason": "不在片区"},
        headers=world.headers(tech),
    )
    assert r.status_code == 200, r.json
    [row] = rows(db_session, kind="order_transferred")
    assert row.actor_user_id == tech.user_id and row.actor_role == "technician"
    assert row.data["reason"] == "不在片区" and row.target_id == filed["id"]


def test_deletes_are_recorded_and_a_refused_delete_leaves_none(
    client, make, org, admin_headers, db_session
):
    customer = make.customer(org, name="王五", phone="13600000001", id_number="11010519491231002X")
    make.contact(customer, phone="13600000002")
    community = make.community(org)
    building = make.building(community)
    free_room = make.room(building, code="909")
    held_room = make.room(building, code="910")
    make.holds(make.customer(org), held_room)
    free_id, customer_id = free_room.id, customer.id
    r = client.delete(f"{ADMIN}/rooms/{held_room.id}", headers=admin_headers)
    assert r.status_code == 409
    assert rows(db_session, kind="deleted") == []
    assert client.delete(f"{ADMIN}/rooms/{free_id}", headers=admin_headers).status_code == 204
    r = client.delete(f"{ADMIN}/customers/{customer_id}", headers=admin_headers)
    assert r.status_code == 204
    deleted = rows(db_session, kind="deleted")
    assert [(d.target_type, d.target_id) for d in deleted] == [
        ("room", free_id),
        ("customer", customer_id),
    ]
    assert deleted[1].data["phone"] == "136****0001" and "王五" in deleted[1].summary
    assert deleted[0].actor_role == "admin"
    assert_nothing_unmasked(db_session)


def test_exports_of_personal_data(client, world, db_session):
    world.file(client)
    desk = world.headers(world.dispatcher)
    r = client.get(f"{ADMIN}/orders", query_string={"format": "csv"}, headers=desk)
    assert r.status_code == 200
    r.get_data()
    r = client.get(
        f"{ADMIN}/orders", query_string={"format": "xlsx", "status": "pending"}, headers=desk
    )
    assert r.status_code == 200
    exports = rows(db_session, kind="export")
    assert [(e.data["what"], e.data["format"], e.data["rows"]) for e in exports] == [
        ("工单列表", "csv", 1),
        ("工单列表", "xlsx", 1),
    ]
    assert exports[1].data["filters"]["statuses"] == "['pending']"
    assert exports[0].actor_user_id == world.dispatcher.id
    # A plain list is not an export.
    assert client.get(f"{ADMIN}/orders", headers=desk).status_code == 200
    assert len(rows(db_session, kind="export")) == 2


# --- the log itself -----------------------------------------------------------------------


def test_the_database_refuses_to_change_or_delete_a_row(db_session, make, org):
    entry = audit_log.record(
        db_session,
        org_id=org.id,
        at=datetime.now(UTC),
        kind="export",
        summary="测试",
    )
    for statement in (
        "UPDATE audit_log SET summary = 'rewritten' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ):
        nested = db_session.begin_nested()
        with pytest.raises(DBAPIError, match="immutable"):
            db_session.execute(text(statement), {"id": entry.id})
        nested.rollback()
    assert db_session.scalar(select(AuditEntry.summary).where(AuditEntry.id == entry.id)) == "测试"


def test_a_rolled_back_operation_leaves_no_row(app, make, org):
    db = app.extensions["baoxiu"].db
    unit = db.unit_of_work()
    audit_log.record(unit.session, org_id=org.id, at=datetime.now(UTC), kind="export", summary="x")
    unit.rollback()
    unit.close()
    check = db.unit_of_work()
    try:
        assert (
            check.session.scalar(select(AuditEntry.id).where(AuditEntry.org_id == org.id)) is None
        )
    finally:
        check.close()


def test_data_is_masked_whatever_the_caller_passes(db_session, org):
    entry = audit_log.record(
        db_session,
        org_id=org.id,
        at=datetime.now(UTC),
        kind="deleted",
        summary="删除 13812345678 身份证 110105194912310021",
        data={
            "phone": "13812345678",
            "id_number": "110105194912310021",
            "note": "联系 13912345678",
            "nested": [{"mobile": "13712345678"}],
            "password": "secret",
            "openid": "oXYZ",
        },
    )
    assert entry.summary == "删除 138****5678 身份证 110105********0021"
    assert entry.data == {
        "phone": "138****5678",
        "id_number": "1101**********0021",
        "note": "联系 139****5678",
        "nested": [{"mobile": "137****5678"}],
    }
    assert_nothing_unmasked(db_session)


def test_admins_only(client, make, org):
    for user in (make.dispatcher(org), make.staff(org).user, make.tenant(org)):
        r = client.get(AUDIT, headers=make.headers(user))
        assert r.status_code == 403, r.json
    assert client.get(AUDIT).status_code == 401


def test_each_organisation_sees_its_own_log(client, make, db_session):
    ours, theirs = make.org(), make.org()
    our_admin, their_admin = make.admin(ours), make.admin(theirs)
    now = datetime.now(UTC)
    audit_log.record(db_session, org_id=theirs.id, at=now, kind="export", summary="别家的导出")
    audit_log.record(db_session, org_id=ours.id, at=now, kind="export", summary="我们的导出")
    mine = entries(client, make.headers(our_admin))
    assert [item["summary"] for item in mine["items"]] == ["我们的导出"]
    theirs_page = entries(client, make.headers(their_admin), format="json")
    assert [item["summary"] for item in theirs_page["items"]] == ["别家的导出"]
    r = client.get(AUDIT, query_string={"format": "csv"}, headers=make.headers(our_admin))
    assert "别家" not in r.get_data(as_text=True)


def test_filters_paging_and_exports(client, make, org, db_session):
    admin = make.admin(org)
    headers = make.headers(admin)
    base = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    other = make.dispatcher(org)
    for i in range(5):
        audit_log.record(
            db_session,
            org_id=org.id,
            at=base + timedelta(days=i),
            kind="refund" if i % 2 else "order_assigned",
            summary=f"第{i}条",
            actor_user_id=other.id if i < 2 else admin.id,
            target_type="order",
            target_id=100 + i,
        )
    everything = entries(client, headers, page_size=2)
    assert everything["total"] == 5 and [i["summary"] for i in everything["items"]] == [
        "第4条",
        "第3条",
    ]
    assert entries(client, headers, kind="refund")["total"] == 2
    by_actor = entries(client, headers, actor_user_id=other.id)
    assert [i["summary"] for i in by_actor["items"]] == ["第1条", "第0条"]
    assert by_actor["items"][0]["actor_role"] == "dispatcher"
    assert by_actor["items"][0]["actor_role_label"] == "调度员"
    target = entries(client, headers, target_type="order", target_id=102)
    assert [i["summary"] for i in target["items"]] == ["第2条"]
    window = entries(
        client,
        headers,
        at_from="2026-11-02T10:00:00+08:00",
        at_to="2026-11-04T10:00:00+08:00",
    )
    assert [i["summary"] for i in window["items"]] == ["第2条", "第1条"]
    assert window["items"][0]["at"] == "2026-11-03T10:00:00+08:00"
    r = client.get(
        AUDIT,
        query_string={"at_from": "2026-11-04T00:00:00+08:00", "at_to": "2026-11-01T00:00:00+08:00"},
        headers=headers,
    )
    assert r.status_code == 422 and "at_to" in r.json["errors"]

    csv_answer = client.get(
        AUDIT, query_string={"format": "csv", "kind": "refund"}, headers=headers
    )
    assert csv_answer.status_code == 200
    raw = csv_answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:5] == ["时间", "操作人", "操作人ID", "角色", "类型"]
    assert [row[7] for row in table[1:]] == ["第3条", "第1条"]
    assert table[1][0] == "2026-11-04 10:00" and table[1][4] == "退款"
    xlsx_answer = client.get(AUDIT, query_string={"format": "xlsx"}, headers=headers)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_answer.get_data())).active
    assert sheet.max_row == 1 + 5 + 1  # the rows, and the CSV export recorded just before
    # Exporting the log is itself recorded.
    exported = rows(db_session, kind="export")
    assert [e.data["what"] for e in exported] == ["操作日志", "操作日志"]
