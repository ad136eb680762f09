"""数据字典 through the real HTTP API: the lists, the organisation's own items, the system
values protected, one organisation never seeing another's, bad input 422 (never 500), every
change audited, and the choices the apps get and send back (cancel reasons)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.dictionary.rules import LIST_NAMES

DICTIONARY = "/api/v1/admin/dictionary"
CANCEL = f"{DICTIONARY}/cancel_reasons"
APPS = "/api/v1/catalog/dictionary"


def item(list_json, code):
    return next(i for i in list_json["items"] if i["code"] == code)


def test_every_list_is_served_with_its_kind_and_counts(client, admin_headers):
    r = client.get(DICTIONARY, headers=admin_headers)
    assert r.status_code == 200, r.json
    names = [entry["name"] for entry in r.json["items"]]
    assert tuple(names) == LIST_NAMES
    uses = next(e for e in r.json["items"] if e["name"] == "room_uses")
    assert (uses["kind"], uses["kind_label"], uses["item_count"]) == ("closed", "系统固定", 4)
    cancel = next(e for e in r.json["items"] if e["name"] == "cancel_reasons")
    assert cancel["kind"] == "open" and cancel["for_apps"] is True

    detail = client.get(f"{DICTIONARY}/room_uses", headers=admin_headers).json
    assert [(i["code"], i["label"], i["system"]) for i in detail["items"]] == [
        ("residence", "住宅", True),
        ("shop", "商铺", True),
        ("parking", "车位", True),
        ("garage", "车库", True),
    ]


def test_an_admin_adds_relabels_reorders_disables_and_deletes_own_items(
    client, admin_headers, db_session, org
):
    r = client.post(
        CANCEL, json={"code": "water_off", "label": " 小区停水 "}, headers=admin_headers
    )
    assert r.status_code == 201, r.json
    assert r.json["label"] == "小区停水" and r.json["system"] is False and r.json["enabled"]
    listed = client.get(CANCEL, headers=admin_headers).json
    assert [i["code"] for i in listed["items"]][-1] == "water_off"

    r = client.patch(
        f"{CANCEL}/items/water_off", json={"label": "停水停电", "sort": 1}, headers=admin_headers
    )
    assert r.status_code == 200, r.json
    listed = client.get(CANCEL, headers=admin_headers).json
    assert listed["items"][0]["code"] == "water_off" and listed["items"][0]["label"] == "停水停电"

    r = client.patch(f"{CANCEL}/items/water_off", json={"enabled": False}, headers=admin_headers)
    assert r.status_code == 200 and r.json["enabled"] is False
    assert client.delete(f"{CANCEL}/items/water_off", headers=admin_headers).status_code == 204
    assert "water_off" not in [
        i["code"] for i in client.get(CANCEL, headers=admin_headers).json["items"]
    ]
    kinds = db_session.scalars(
        select(AuditEntry.summary).where(
            AuditEntry.org_id == org.id, AuditEntry.kind == "dictionary_changed"
        )
    ).all()
    assert len(kinds) == 4
    assert any("新增 小区停水（water_off）" in s for s in kinds)
    assert any("删除 停水停电（water_off）" in s for s in kinds)


def test_system_values_are_relabelled_and_disabled_never_deleted_or_recoded(client, admin_headers):
    r = client.patch(
        f"{CANCEL}/items/self_repaired", json={"label": "自己修好了"}, headers=admin_headers
    )
    assert r.status_code == 200, r.json
    assert (r.json["label"], r.json["default_label"], r.json["system"]) == (
        "自己修好了",
        "已自行修好",
        True,
    )
    r = client.patch(
        f"{CANCEL}/items/self_repaired", json={"enabled": False}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json["enabled"] is False

    r = client.delete(f"{CANCEL}/items/self_repaired", headers=admin_headers)
    assert r.status_code == 409 and "系统预置项不能删除" in r.json["message"]
    r = client.patch(f"{CANCEL}/items/self_repaired", json={"code": "fixed"}, headers=admin_headers)
    assert r.status_code == 422 and "编码不能修改" in r.json["errors"]["code"][0]
    # The same code sent back is no change.
    r = client.patch(
        f"{CANCEL}/items/self_repaired",
        json={"code": "self_repaired", "label": "已修好"},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json["label"] == "已修好"

    # Closed lists: relabel and reorder only.
    uses = f"{DICTIONARY}/room_uses"
    r = client.patch(f"{uses}/items/shop", json={"label": "商业", "sort": 5}, headers=admin_headers)
    assert r.status_code == 200 and r.json["label"] == "商业"
    assert client.get(uses, headers=admin_headers).json["items"][0]["code"] == "shop"
    r = client.patch(f"{uses}/items/shop", json={"enabled": False}, headers=admin_headers)
    assert r.status_code == 422 and "不能停用" in r.json["errors"]["enabled"][0]
    r = client.post(uses, json={"code": "office", "label": "办公"}, headers=admin_headers)
    assert r.status_code == 409 and "不能新增" in r.json["message"]
    # An own code may not take a system value's.
    r = client.post(CANCEL, json={"code": "duplicate", "label": "重复"}, headers=admin_headers)
    assert r.status_code == 409 and r.json["errors"]["code"]


def test_dispatchers_read_and_only_admins_write(client, make, org):
    desk = make.headers(make.dispatcher(org))
    assert client.get(CANCEL, headers=desk).status_code == 200
    assert client.post(CANCEL, json={"code": "x1", "label": "x"}, headers=desk).status_code == 403
    r = client.patch(f"{CANCEL}/items/other", json={"label": "x"}, headers=desk)
    assert r.status_code == 403
    tenant = make.headers(make.tenant(org))
    assert client.get(DICTIONARY, headers=tenant).status_code == 403


def test_one_organisation_never_sees_or_changes_anothers_items(client, admin_headers, make):
    other = make.org()
    other_admin = make.headers(make.admin(other))
    r = client.post(CANCEL, json={"code": "mine", "label": "本机构的"}, headers=admin_headers)
    assert r.status_code == 201
    r = client.patch(f"{CANCEL}/items/other", json={"label": "别家的名称"}, headers=admin_headers)
    assert r.status_code == 200

    theirs = client.get(CANCEL, headers=other_admin).json
    assert "mine" not in [i["code"] for i in theirs["items"]]
    assert item(theirs, "other")["label"] == "其他原因"
    assert (
        client.patch(f"{CANCEL}/items/mine", json={"label": "x"}, headers=other_admin).status_code
        == 404
    )
    assert client.delete(f"{CANCEL}/items/mine", headers=other_admin).status_code == 404
    # The same code is theirs to take.
    r = client.post(CANCEL, json={"code": "mine", "label": "他们的"}, headers=other_admin)
    assert r.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"code": "ok_code"},
        {"label": "无编码"},
        {"code": "", "label": "x"},
        {"code": "Upper", "label": "x"},
        {"code": "1abc", "label": "x"},
        {"code": "a" * 33, "label": "x"},
        {"code": "has space", "label": "x"},
        {"code": "ok_code", "label": ""},
        {"code": "ok_code", "label": "长" * 51},
        {"code": "ok_code", "label": "x", "sort": -1},
        {"code": "ok_code", "label": "x", "sort": 10000},
        {"code": "ok_code", "label": "x", "sort": "1"},
        {"code": "ok_code", "label": "x", "enabled": "maybe"},
        {"code": 12, "label": "x"},
        {"code": "ok_code", "label": "x", "extra": 1},
    ],
)
def test_bad_input_is_422(client, admin_headers, body):
    r = client.post(CANCEL, json=body, headers=admin_headers)
    assert r.status_code == 422, (body, r.status_code, r.json)


def test_unknown_lists_and_codes_are_404(client, admin_headers):
    assert client.get(f"{DICTIONARY}/nope", headers=admin_headers).status_code == 404
    r = client.post(f"{DICTIONARY}/nope", json={"code": "a", "label": "b"}, headers=admin_headers)
    assert r.status_code == 404
    r = client.patch(f"{CANCEL}/items/nope", json={"label": "b"}, headers=admin_headers)
    assert r.status_code == 404
    r = client.patch(f"{CANCEL}/items/other", json={"label": ""}, headers=admin_headers)
    assert r.status_code == 422
    r = client.patch(f"{CANCEL}/items/other", json={"sort": None}, headers=admin_headers)
    assert r.status_code == 422


def test_apps_get_the_enabled_reasons_and_cancel_with_a_code(client, world):
    admin = world.make.headers(world.make.admin(world.org))
    client.post(CANCEL, json={"code": "water_off", "label": "小区停水"}, headers=admin)
    client.patch(f"{CANCEL}/items/duplicate", json={"enabled": False}, headers=admin)

    r = client.get(f"{APPS}/cancel_reasons", headers=world.headers(world.tenant))
    assert r.status_code == 200, r.json
    codes = [i["code"] for i in r.json["items"]]
    assert "water_off" in codes and "duplicate" not in codes and r.json["title"] == "取消原因"
    assert client.get(f"{APPS}/reject_reasons", headers=world.headers(world.techs[0])).json["items"]
    # Lists the apps do not show are not served to them.
    r = client.get(f"{APPS}/id_types", headers=world.headers(world.tenant))
    assert r.status_code == 404

    oid = world.file(client)["id"]
    cancel = f"/api/v1/tenant/orders/{oid}/cancel"
    tenant = world.headers(world.tenant)
    r = client.post(cancel, json={"reason_code": "duplicate"}, headers=tenant)
    assert r.status_code == 422 and "reason_code" in r.json["errors"]
    r = client.post(cancel, json={"reason_code": "someone_elses"}, headers=tenant)
    assert r.status_code == 422
    r = client.post(cancel, json={"reason_code": "water_off", "reason": "明天再约"}, headers=tenant)
    assert r.status_code == 200, r.json
    assert r.json["timeline"][-1]["reason"] == "小区停水：明天再约"


def test_the_desk_cancels_with_a_code_alone(client, world):
    oid = world.file(client)["id"]
    r = client.post(
        f"/api/v1/admin/orders/{oid}/cancel",
        json={"reason_code": "wrong_details"},
        headers=world.headers(world.dispatcher),
    )
    assert r.status_code == 200, r.json
    assert r.json["timeline"][-1]["reason"] == "报修信息填写有误"


def test_technicians_reject_hold_and_transfer_with_codes(client, world):
    tech, other = world.techs[0], world.techs[1]
    oid = world.file(client)["id"]
    admin = world.make.headers(world.make.admin(world.org))
    client.patch(
        f"{DICTIONARY}/reject_reasons/items/too_busy", json={"enabled": False}, headers=admin
    )
    desk = world.headers(world.dispatcher)
    path = f"/api/v1/tech/orders/{oid}"
    assert (
        client.post(
            f"/api/v1/admin/orders/{oid}/assign", json={"staff_id": tech.id}, headers=desk
        ).status_code
        == 200
    )
    r = client.post(f"{path}/reject", json={"reason_code": "too_busy"}, headers=world.headers(tech))
    assert r.status_code == 422 and "reason_code" in r.json["errors"]
    r = client.post(f"{path}/reject", json={"reason_code": "off_duty"}, headers=world.headers(tech))
    assert r.status_code == 200, r.json
    assert r.json["timeline"][-1]["reason"] == "休息或请假"

    r = client.post(f"{path}/grab", headers=world.headers(tech))
    assert r.status_code == 200, r.json
    r = client.post(
        f"{path}/hold",
        json={"reason_code": "waiting_parts", "reason": "等水龙头到货"},
        headers=world.headers(tech),
    )
    assert r.status_code == 200, r.json
    assert r.json["timeline"][-1]["reason"] == "等待备件：等水龙头到货"
    client.post(f"{path}/resume", headers=world.headers(tech))
    r = client.post(
        f"{path}/transfer",
        json={"staff_id": other.id, "reason_code": "closer"},
        headers=world.headers(tech),
    )
    assert r.status_code == 200, r.json
    assert r.json["timeline"][-1]["reason"] == "对方离得更近"
