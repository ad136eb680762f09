"""The desk's parking API: spaces, owned / rented relations over time, vehicles — through HTTP
on PostgreSQL: flows, validation, history, organisation isolation, idempotency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from server.parking.models import SpaceHolding, Vehicle

SPACES = "/api/v1/admin/parking-spaces"
HOLDINGS = "/api/v1/admin/parking-space-holdings"
VEHICLES = "/api/v1/admin/vehicles"
CUSTOMERS = "/api/v1/admin/customers"


def local_today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def community(make, org):
    return make.community(org, name="阳光花园")


@pytest.fixture
def owner(make, org):
    return make.customer(org, name="张三", phone="13800000001")


@pytest.fixture
def renter(make, org):
    return make.customer(org, name="李四", phone="13800000002")


@pytest.fixture
def space(client, admin_headers, community):
    r = client.post(
        SPACES,
        json={
            "community_id": community.id,
            "number": "b2-015",
            "kind": "underground",
            "area": "地下二层 B 区",
            "location": "3 栋电梯旁",
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    return r.json


def assign(client, headers, space_id, **body):
    return client.post(f"{SPACES}/{space_id}/holdings", json=body, headers=headers)


# Spaces


def test_space_create_update_and_list(client, admin_headers, community, space):
    assert space["number"] == "B2-015" and space["kind"] == "underground"
    assert space["kind_label"] == "地下" and space["status"] == "active"
    assert space["community_name"] == "阳光花园" and space["current"] is None
    assert space["holdings"] == [] and space["vehicles"] == []

    r = client.post(
        SPACES,
        json={"community_id": community.id, "number": "B2-015", "kind": "ground"},
        headers=admin_headers,
    )
    assert r.status_code == 409 and r.json["error"] == "conflict"
    assert r.json["errors"] == {"number": ["该小区已有此编号的车位"]}

    r = client.patch(
        f"{SPACES}/{space['id']}",
        json={"kind": "mechanical", "status": "disabled"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.json
    assert r.json["kind"] == "mechanical" and r.json["status"] == "disabled"

    r = client.get(SPACES, query_string={"community_id": community.id}, headers=admin_headers)
    assert r.status_code == 200
    assert r.json["total"] == 1 and r.json["items"][0]["number"] == "B2-015"
    r = client.get(SPACES, query_string={"q": "B2-0", "kind": "ground"}, headers=admin_headers)
    assert r.json["total"] == 0


def test_space_validation(client, admin_headers, community, make):
    other = make.community(make.org())
    r = client.post(
        SPACES,
        json={"community_id": other.id, "number": "A1", "kind": "ground"},
        headers=admin_headers,
    )
    assert r.status_code == 422 and r.json["errors"] == {"community_id": ["小区不存在"]}
    r = client.post(
        SPACES,
        json={"community_id": community.id, "number": "A 1!", "kind": "roof"},
        headers=admin_headers,
    )
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"number", "kind"}


# Relations: owned and rented, history, overlap


def test_rent_end_and_history(client, admin_headers, space, owner, renter):
    today = local_today()
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=renter.id,
        kind="rented",
        start_date=(today - timedelta(days=100)).isoformat(),
        end_date=(today + timedelta(days=265)).isoformat(),
        remind_days=15,
        contract_number="ZL-2026-001",
    )
    assert r.status_code == 201, r.json
    rent = r.json
    assert rent["kind_label"] == "租用" and rent["remind_days"] == 15
    assert rent["customer"] == {"id": renter.id, "name": "李四", "phone": "138****0002"}
    assert rent["space"]["number"] == "B2-015" and rent["ended_at"] is None

    r = client.get(SPACES, query_string={"occupied": "true"}, headers=admin_headers)
    [row] = r.json["items"]
    assert row["current"]["id"] == rent["id"]
    assert row["current"]["end_date"] == (today + timedelta(days=265)).isoformat()
    r = client.get(SPACES, query_string={"customer_id": renter.id}, headers=admin_headers)
    assert [s["id"] for s in r.json["items"]] == [space["id"]]
    r = client.get(SPACES, query_string={"customer_id": owner.id}, headers=admin_headers)
    assert r.json["total"] == 0

    # Someone else over the same period: refused, saying who holds it.
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="owned",
        start_date=today.isoformat(),
    )
    assert r.status_code == 409 and r.json["error"] == "space_occupied"
    assert "李四" in r.json["message"] and "租用" in r.json["message"]

    # End the rental yesterday: kept as history, the space is free today.
    r = client.post(
        f"{HOLDINGS}/{rent['id']}/end",
        json={"end_date": (today - timedelta(days=1)).isoformat(), "reason": "退租"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.json
    assert r.json["end_date"] == (today - timedelta(days=1)).isoformat()
    assert r.json["ended_at"] is not None and r.json["end_reason"] == "退租"
    r = client.post(
        f"{HOLDINGS}/{rent['id']}/end", json={"end_date": today.isoformat()}, headers=admin_headers
    )
    assert r.status_code == 409

    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="owned",
        start_date=today.isoformat(),
    )
    assert r.status_code == 201, r.json
    assert r.json["end_date"] is None and r.json["remind_days"] == 0

    r = client.get(f"{SPACES}/{space['id']}", headers=admin_headers)
    assert r.json["current"]["customer"]["name"] == "张三"
    assert [(h["customer"]["name"], h["kind"]) for h in r.json["holdings"]] == [
        ("张三", "owned"),
        ("李四", "rented"),
    ]
    # The renter's relation is still there: who held B2-015 a month ago has one answer.
    r = client.get(f"{HOLDINGS}/{rent['id']}", headers=admin_headers)
    assert r.status_code == 200 and r.json["customer"]["name"] == "李四"


def test_relation_validation(client, admin_headers, space, owner, make):
    today = local_today()
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="rented",
        start_date=today.isoformat(),
    )
    assert r.status_code == 422
    assert r.json["errors"] == {"end_date": ["租用车位须填写合同结束日期"]}
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="rented",
        start_date=today.isoformat(),
        end_date=(today - timedelta(days=1)).isoformat(),
    )
    assert r.status_code == 422 and "end_date" in r.json["errors"]
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="leased",
        start_date=today.isoformat(),
        remind_days=400,
    )
    assert r.status_code == 422 and set(r.json["errors"]) == {"kind", "remind_days"}
    stranger = make.customer(make.org(), name="外人")
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=stranger.id,
        kind="owned",
        start_date=today.isoformat(),
    )
    assert r.status_code == 422 and r.json["errors"] == {"customer_id": ["客户不存在"]}

    r = client.patch(f"{SPACES}/{space['id']}", json={"status": "disabled"}, headers=admin_headers)
    assert r.status_code == 200
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="owned",
        start_date=today.isoformat(),
    )
    assert r.status_code == 409 and r.json["message"] == "该车位已停用，不能分配"


def test_overlaps_are_refused_and_adjacent_periods_are_not(
    client, admin_headers, space, owner, renter
):
    start = local_today() + timedelta(days=10)
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=renter.id,
        kind="rented",
        start_date=start.isoformat(),
        end_date=(start + timedelta(days=29)).isoformat(),
    )
    assert r.status_code == 201
    rent_id = r.json["id"]
    for begin, end in [
        (start - timedelta(days=5), start),  # meets its first day
        (start + timedelta(days=29), start + timedelta(days=40)),  # meets its last day
        (start + timedelta(days=3), start + timedelta(days=4)),  # inside
        (start - timedelta(days=1), None),  # open-ended, from before
    ]:
        body = {
            "customer_id": owner.id,
            "kind": "rented" if end else "owned",
            "start_date": begin.isoformat(),
            "end_date": end.isoformat() if end else None,
        }
        r = assign(client, admin_headers, space["id"], **body)
        assert r.status_code == 409 and r.json["error"] == "space_occupied", (begin, end)
    # The day after: fine. And the days before it: fine.
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="rented",
        start_date=(start + timedelta(days=30)).isoformat(),
        end_date=(start + timedelta(days=60)).isoformat(),
    )
    assert r.status_code == 201, r.json
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="rented",
        start_date=(start - timedelta(days=9)).isoformat(),
        end_date=(start - timedelta(days=1)).isoformat(),
    )
    assert r.status_code == 201, r.json
    # Renewing the first rental into the next one: refused; the earlier end is fine.
    r = client.patch(
        f"{HOLDINGS}/{rent_id}",
        json={"end_date": (start + timedelta(days=35)).isoformat()},
        headers=admin_headers,
    )
    assert r.status_code == 409 and r.json["error"] == "space_occupied"
    r = client.post(
        f"{HOLDINGS}/{rent_id}/end",
        json={"end_date": (start + timedelta(days=40)).isoformat()},
        headers=admin_headers,
    )
    assert r.status_code == 422 and "end_date" in r.json["errors"]


def test_assign_is_idempotent(client, admin_headers, space, owner, db_session):
    body = {"customer_id": owner.id, "kind": "owned", "start_date": local_today().isoformat()}
    headers = {**admin_headers, "Idempotency-Key": "assign-1"}
    first = client.post(f"{SPACES}/{space['id']}/holdings", json=body, headers=headers)
    again = client.post(f"{SPACES}/{space['id']}/holdings", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    holdings = select(func.count()).where(SpaceHolding.space_id == space["id"])
    assert db_session.scalar(holdings) == 1


def test_customer_with_parking_history_is_not_deleted(client, admin_headers, space, owner):
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="owned",
        start_date=local_today().isoformat(),
    )
    assert r.status_code == 201
    r = client.delete(f"{CUSTOMERS}/{owner.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"


# Vehicles


def test_vehicle_register_update_remove(client, admin_headers, space, owner, renter):
    r = client.post(
        VEHICLES,
        json={
            "plate": "粤b·12345",
            "model": "比亚迪 汉",
            "colour": "白色",
            "customer_id": owner.id,
            "space_id": space["id"],
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    car = r.json
    assert car["plate"] == "粤B12345" and car["plate_kind"] == "ordinary"
    assert car["plate_kind_label"] == "普通"
    assert car["customer"]["phone"] == "138****0001" and car["space"]["number"] == "B2-015"

    r = client.post(
        VEHICLES, json={"plate": "粤B 12345", "customer_id": renter.id}, headers=admin_headers
    )
    assert r.status_code == 409 and r.json["error"] == "plate_taken"
    assert r.json["errors"] == {"plate": ["车牌号 粤B12345 已登记"]}

    r = client.patch(
        f"{VEHICLES}/{car['id']}",
        json={"plate": "粤BD12345", "space_id": None},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.json
    assert r.json["plate"] == "粤BD12345" and r.json["plate_kind"] == "new_energy"
    assert r.json["space"] is None

    r = client.get(f"{SPACES}/{space['id']}", headers=admin_headers)
    assert r.json["vehicles"] == []

    today = local_today().isoformat()
    r = client.post(
        f"{VEHICLES}/{car['id']}/remove",
        json={"end_date": today, "reason": "已出售"},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json["removed_on"] == today
    assert r.json["remove_reason"] == "已出售"
    # Removed: kept as history, the plate may be registered again (by its new owner).
    r = client.post(
        VEHICLES, json={"plate": "粤BD12345", "customer_id": renter.id}, headers=admin_headers
    )
    assert r.status_code == 201, r.json
    r = client.get(VEHICLES, query_string={"q": "bd123"}, headers=admin_headers)
    assert [v["customer"]["name"] for v in r.json["items"]] == ["李四"]
    r = client.get(
        VEHICLES, query_string={"q": "BD123", "include_removed": "true"}, headers=admin_headers
    )
    assert [v["customer"]["name"] for v in r.json["items"]] == ["李四", "张三"]
    r = client.patch(f"{VEHICLES}/{car['id']}", json={"colour": "黑色"}, headers=admin_headers)
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("plate", "reason"),
    [
        ("AB12345", "车牌号应以省份简称开头，如 粤B12345"),
        ("粤BI2345", "车牌号中不能含字母 I 或 O"),
        ("粤B1234", "车牌号应为 7 位（普通）或 8 位（新能源）"),
        ("粤BX12345", "新能源车牌格式不正确：小型车第三位为 D/F 等，大型车末位为 D/F"),
        ("", "请填写车牌号"),
    ],
)
def test_vehicle_plate_refusals(client, admin_headers, owner, plate, reason):
    r = client.post(VEHICLES, json={"plate": plate, "customer_id": owner.id}, headers=admin_headers)
    assert r.status_code == 422 and r.json["errors"] == {"plate": [reason]}


def test_vehicle_filters_by_customer_and_space(client, admin_headers, space, owner, renter):
    for plate, customer, space_id in [
        ("京A11111", owner, space["id"]),
        ("京A22222", owner, None),
        ("京A33333", renter, None),
    ]:
        r = client.post(
            VEHICLES,
            json={"plate": plate, "customer_id": customer.id, "space_id": space_id},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.json
    r = client.get(VEHICLES, query_string={"customer_id": owner.id}, headers=admin_headers)
    assert [v["plate"] for v in r.json["items"]] == ["京A22222", "京A11111"]
    r = client.get(VEHICLES, query_string={"space_id": space["id"]}, headers=admin_headers)
    assert [v["plate"] for v in r.json["items"]] == ["京A11111"]
    r = client.get(
        VEHICLES,
        query_string={"community_id": space["community_id"], "page_size": 1, "page": 1},
        headers=admin_headers,
    )
    assert r.json["total"] == 1 and r.json["page_size"] == 1
    r = client.get(f"{SPACES}/{space['id']}", headers=admin_headers)
    assert [v["plate"] for v in r.json["vehicles"]] == ["京A11111"]


# Organisations and roles


def test_another_organisation_sees_nothing(client, admin_headers, space, owner, make, db_session):
    r = assign(
        client,
        admin_headers,
        space["id"],
        customer_id=owner.id,
        kind="owned",
        start_date=local_today().isoformat(),
    )
    holding_id = r.json["id"]
    r = client.post(
        VEHICLES, json={"plate": "粤B12345", "customer_id": owner.id}, headers=admin_headers
    )
    vehicle_id = r.json["id"]

    other = make.org()
    stranger = make.headers(make.admin(other))
    assert client.get(SPACES, headers=stranger).json["total"] == 0
    assert client.get(VEHICLES, headers=stranger).json["total"] == 0
    for method, url in [
        ("get", f"{SPACES}/{space['id']}"),
        ("patch", f"{SPACES}/{space['id']}"),
        ("get", f"{HOLDINGS}/{holding_id}"),
        ("patch", f"{HOLDINGS}/{holding_id}"),
        ("get", f"{VEHICLES}/{vehicle_id}"),
        ("patch", f"{VEHICLES}/{vehicle_id}"),
    ]:
        r = getattr(client, method)(url, json={} if method == "patch" else None, headers=stranger)
        assert r.status_code == 404 and r.json["error"] == "not_found", url
    today = local_today().isoformat()
    r = client.post(f"{HOLDINGS}/{holding_id}/end", json={"end_date": today}, headers=stranger)
    assert r.status_code == 404
    r = client.post(f"{VEHICLES}/{vehicle_id}/remove", json={"end_date": today}, headers=stranger)
    assert r.status_code == 404
    r = assign(client, stranger, space["id"], customer_id=owner.id, kind="owned", start_date=today)
    assert r.status_code == 404
    # The same plate is another organisation's business: it registers it for its customer.
    their_customer = make.customer(other, name="王五")
    r = client.post(
        VEHICLES, json={"plate": "粤B12345", "customer_id": their_customer.id}, headers=stranger
    )
    assert r.status_code == 201
    plates = select(func.count()).where(
        Vehicle.plate == "粤B12345", Vehicle.org_id.in_([owner.org_id, other.id])
    )
    assert db_session.scalar(plates) == 2


def test_tenants_and_technicians_are_refused(client, make, org, space):
    for user in (make.tenant(org, phone="13800000009"),):
        headers = make.headers(user)
        assert client.get(SPACES, headers=headers).status_code == 403
        assert client.get(VEHICLES, headers=headers).status_code == 403
    assert client.get(VEHICLES).status_code == 401
