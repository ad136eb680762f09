"""Console: buildings, units and rooms — CRUD, validation, roles and organisation isolation."""

from __future__ import annotations

import pytest

BUILDINGS = "/api/v1/admin/buildings"
UNITS = "/api/v1/admin/units"
ROOMS = "/api/v1/admin/rooms"


@pytest.fixture
def community(make, org):
    return make.community(org, name="阳光花园")


@pytest.fixture
def building(make, community):
    return make.building(community, name="1栋")


# Buildings


def test_building_crud(client, admin_headers, community):
    r = client.post(
        BUILDINGS,
        json={"community_id": community.id, "name": " 2栋 ", "floors": 18},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    created = r.json
    assert created["name"] == "2栋" and created["floors"] == 18
    assert created["community_id"] == community.id
    assert created["community_name"] == "阳光花园"
    assert created["created_at"].endswith("+08:00")

    r = client.get(BUILDINGS, query_string={"community_id": community.id}, headers=admin_headers)
    assert r.status_code == 200
    assert [b["id"] for b in r.json["items"]] == [created["id"]] and r.json["total"] == 1

    url = f"{BUILDINGS}/{created['id']}"
    r = client.patch(url, json={"name": "2号楼", "floors": None}, headers=admin_headers)
    assert r.status_code == 200, r.json
    assert r.json["name"] == "2号楼" and r.json["floors"] is None
    assert client.get(url, headers=admin_headers).json["name"] == "2号楼"

    assert client.delete(url, headers=admin_headers).status_code == 204
    r = client.get(url, headers=admin_headers)
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_building_list_filters(client, make, org, admin_headers, community):
    other_community = make.community(org)
    make.building(community, name="A座")
    make.building(community, name="B座")
    make.building(other_community, name="A座")
    r = client.get(BUILDINGS, query_string={"q": "A"}, headers=admin_headers)
    assert r.json["total"] == 2
    r = client.get(
        BUILDINGS, query_string={"q": "A", "community_id": community.id}, headers=admin_headers
    )
    assert r.json["total"] == 1 and r.json["items"][0]["community_id"] == community.id
    r = client.get(BUILDINGS, query_string={"page_size": 1, "page": 3}, headers=admin_headers)
    assert r.json["total"] == 3 and len(r.json["items"]) == 1


def test_building_name_unique_per_community(client, make, org, admin_headers, community):
    make.building(community, name="1栋")
    r = client.post(
        BUILDINGS, json={"community_id": community.id, "name": "1栋"}, headers=admin_headers
    )
    assert r.status_code == 409
    assert r.json["error"] == "conflict" and "name" in r.json["errors"]

    other = make.community(org)
    r = client.post(
        BUILDINGS, json={"community_id": other.id, "name": "1栋"}, headers=admin_headers
    )
    assert r.status_code == 201

    second = make.building(community, name="2栋")
    r = client.patch(f"{BUILDINGS}/{second.id}", json={"name": "1栋"}, headers=admin_headers)
    assert r.status_code == 409 and "name" in r.json["errors"]
    # Keeping its own name is no conflict.
    r = client.patch(f"{BUILDINGS}/{second.id}", json={"name": "2栋"}, headers=admin_headers)
    assert r.status_code == 200


OWN = "own"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "1栋"}, "community_id"),
        ({"community_id": 999_999_999, "name": "1栋"}, "community_id"),
        ({"community_id": "x", "name": "1栋"}, "community_id"),
        ({"community_id": None, "name": "1栋"}, "community_id"),
        ({"community_id": OWN}, "name"),
        ({"community_id": OWN, "name": "  "}, "name"),
        ({"community_id": OWN, "name": "x" * 51}, "name"),
        ({"community_id": OWN, "name": "1栋", "floors": 0}, "floors"),
        ({"community_id": OWN, "name": "1栋", "floors": 301}, "floors"),
        ({"community_id": OWN, "name": "1栋", "floors": 1.5}, "floors"),
        ({"community_id": OWN, "name": "1栋", "floors": "3"}, "floors"),
        ({"community_id": OWN, "name": "1栋", "wings": 2}, "wings"),
    ],
)
def test_building_validation_errors(client, admin_headers, community, body, field):
    if body.get("community_id") == OWN:
        body = {**body, "community_id": community.id}
    r = client.post(BUILDINGS, json=body, headers=admin_headers)
    assert r.status_code == 422, r.json
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


def test_building_cannot_reference_other_orgs_community(client, make, admin_headers):
    theirs = make.community(make.org())
    r = client.post(
        BUILDINGS, json={"community_id": theirs.id, "name": "1栋"}, headers=admin_headers
    )
    assert r.status_code == 422 and "community_id" in r.json["errors"]


def test_building_cannot_move_to_another_community(client, make, org, admin_headers, building):
    other = make.community(org)
    r = client.patch(
        f"{BUILDINGS}/{building.id}", json={"community_id": other.id}, headers=admin_headers
    )
    assert r.status_code == 422 and "community_id" in r.json["errors"]


def test_building_delete_in_use(client, make, admin_headers, building):
    make.unit(building)
    r = client.delete(f"{BUILDINGS}/{building.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"


def test_building_delete_with_room_in_use(client, make, admin_headers, building):
    make.room(building)
    r = client.delete(f"{BUILDINGS}/{building.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"


# Units


def test_unit_crud(client, admin_headers, building):
    r = client.post(
        UNITS, json={"building_id": building.id, "name": "1单元"}, headers=admin_headers
    )
    assert r.status_code == 201, r.json
    created = r.json
    assert created["building_id"] == building.id and created["name"] == "1单元"

    r = client.get(UNITS, query_string={"building_id": building.id}, headers=admin_headers)
    assert r.status_code == 200 and r.json["total"] == 1

    url = f"{UNITS}/{created['id']}"
    r = client.patch(url, json={"name": "一单元"}, headers=admin_headers)
    assert r.status_code == 200 and r.json["name"] == "一单元"
    assert client.get(url, headers=admin_headers).json["name"] == "一单元"
    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=admin_headers).status_code == 404


def test_unit_list_filter(client, make, community, building, admin_headers):
    other = make.building(community)
    make.unit(building)
    make.unit(building)
    make.unit(other)
    r = client.get(UNITS, headers=admin_headers)
    assert r.json["total"] == 3
    r = client.get(UNITS, query_string={"building_id": other.id}, headers=admin_headers)
    assert r.json["total"] == 1


def test_unit_name_unique_per_building(client, make, community, building, admin_headers):
    make.unit(building, name="1单元")
    r = client.post(
        UNITS, json={"building_id": building.id, "name": "1单元"}, headers=admin_headers
    )
    assert r.status_code == 409 and r.json["error"] == "conflict" and "name" in r.json["errors"]
    other = make.building(community)
    r = client.post(UNITS, json={"building_id": other.id, "name": "1单元"}, headers=admin_headers)
    assert r.status_code == 201
    r = client.patch(
        f"{UNITS}/{make.unit(building).id}", json={"name": "1单元"}, headers=admin_headers
    )
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "1单元"}, "building_id"),
        ({"building_id": 999_999_999, "name": "1单元"}, "building_id"),
        ({"building_id": OWN, "name": ""}, "name"),
        ({"building_id": OWN, "name": "x" * 51}, "name"),
        ({"building_id": OWN}, "name"),
    ],
)
def test_unit_validation_errors(client, admin_headers, building, body, field):
    if body.get("building_id") == OWN:
        body = {**body, "building_id": building.id}
    r = client.post(UNITS, json=body, headers=admin_headers)
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


def test_unit_cannot_reference_other_orgs_building_or_move(
    client, make, org, admin_headers, building
):
    theirs = make.building(make.community(make.org()))
    r = client.post(UNITS, json={"building_id": theirs.id, "name": "1单元"}, headers=admin_headers)
    assert r.status_code == 422 and "building_id" in r.json["errors"]
    unit = make.unit(building)
    r = client.patch(f"{UNITS}/{unit.id}", json={"building_id": theirs.id}, headers=admin_headers)
    assert r.status_code == 422 and "building_id" in r.json["errors"]


def test_unit_delete_in_use(client, make, admin_headers, building):
    unit = make.unit(building)
    make.room(building, unit_id=unit.id)
    r = client.delete(f"{UNITS}/{unit.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"


# Rooms


def test_room_crud(client, make, admin_headers, community, building):
    unit = make.unit(building, name="1单元")
    body = {
        "building_id": building.id,
        "unit_id": unit.id,
        "code": "1-101",
        "floor": 1,
        "building_area": "88.5",
        "charge_area": 86,
        "layout": "三室两厅",
        "orientation": "south",
    }
    r = client.post(ROOMS, json=body, headers=admin_headers)
    assert r.status_code == 201, r.json
    room = r.json
    assert room["community_id"] == community.id
    assert room["community_name"] == "阳光花园"
    assert room["building_name"] == "1栋" and room["unit_name"] == "1单元"
    assert room["building_area"] == "88.50" and room["charge_area"] == "86.00"
    assert room["layout"] == "三室两厅" and room["orientation"] == "south"
    assert room["created_at"].endswith("+08:00")

    url = f"{ROOMS}/{room['id']}"
    r = client.get(url, headers=admin_headers)
    assert r.status_code == 200 and r.json["code"] == "1-101"

    r = client.patch(
        url,
        json={"unit_id": None, "charge_area": None, "orientation": None, "floor": -1},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.json
    assert r.json["unit_id"] is None and r.json["unit_name"] is None
    assert r.json["charge_area"] is None and r.json["orientation"] is None
    assert r.json["floor"] == -1 and r.json["building_area"] == "88.50"

    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=admin_headers).status_code == 404


def test_room_minimal_body(client, admin_headers, building):
    r = client.post(
        ROOMS, json={"building_id": building.id, "code": "101", "floor": 1}, headers=admin_headers
    )
    assert r.status_code == 201, r.json
    assert r.json["unit_id"] is None and r.json["unit_name"] is None
    assert r.json["building_area"] is None and r.json["layout"] == ""


def test_room_community_comes_from_building(client, admin_headers, building):
    r = client.post(
        ROOMS,
        json={"building_id": building.id, "code": "101", "floor": 1, "community_id": 1},
        headers=admin_headers,
    )
    assert r.status_code == 422 and "community_id" in r.json["errors"]


def test_room_list_filters(client, make, org, admin_headers, community, building):
    unit = make.unit(building)
    other_building = make.building(community)
    other_community = make.community(org)
    far_building = make.building(other_community)
    make.room(building, code="A101", unit_id=unit.id)
    make.room(building, code="A102")
    make.room(other_building, code="B101")
    make.room(far_building, code="A101")

    def total(**query):
        r = client.get(ROOMS, query_string=query, headers=admin_headers)
        assert r.status_code == 200, r.json
        return r.json["total"]

    assert total() == 4
    assert total(community_id=community.id) == 3
    assert total(building_id=building.id) == 2
    assert total(unit_id=unit.id) == 1
    assert total(q="a10") == 3
    assert total(q="A101", community_id=other_community.id) == 1
    r = client.get(ROOMS, query_string={"building_id": building.id}, headers=admin_headers)
    assert [i["code"] for i in r.json["items"]] == ["A101", "A102"]


def test_room_code_unique_per_community(client, make, org, admin_headers, community, building):
    make.room(building, code="101")
    other_building = make.building(community)
    r = client.post(
        ROOMS,
        json={"building_id": other_building.id, "code": "101", "floor": 1},
        headers=admin_headers,
    )
    assert r.status_code == 409 and r.json["error"] == "conflict" and "code" in r.json["errors"]

    elsewhere = make.building(make.community(org))
    r = client.post(
        ROOMS,
        json={"building_id": elsewhere.id, "code": "101", "floor": 1},
        headers=admin_headers,
    )
    assert r.status_code == 201
    # Moving the room into a community that already has its code is a conflict too.
    r = client.patch(
        f"{ROOMS}/{r.json['id']}", json={"building_id": other_building.id}, headers=admin_headers
    )
    assert r.status_code == 409 and "code" in r.json["errors"]
    room = make.room(building, code="102")
    r = client.patch(f"{ROOMS}/{room.id}", json={"code": "101"}, headers=admin_headers)
    assert r.status_code == 409


def test_room_moves_with_its_building(client, make, org, admin_headers, building):
    room = make.room(building, code="901")
    target_community = make.community(org, name="新小区")
    target = make.building(target_community, name="9栋")
    r = client.patch(f"{ROOMS}/{room.id}", json={"building_id": target.id}, headers=admin_headers)
    assert r.status_code == 200, r.json
    assert r.json["community_id"] == target_community.id
    assert r.json["community_name"] == "新小区" and r.json["building_name"] == "9栋"


def test_room_unit_must_belong_to_building(client, make, community, admin_headers, building):
    foreign_unit = make.unit(make.building(community))
    r = client.post(
        ROOMS,
        json={"building_id": building.id, "unit_id": foreign_unit.id, "code": "1", "floor": 1},
        headers=admin_headers,
    )
    assert r.status_code == 422 and "unit_id" in r.json["errors"]

    own_unit = make.unit(building)
    room = make.room(building, unit_id=own_unit.id)
    r = client.patch(f"{ROOMS}/{room.id}", json={"unit_id": foreign_unit.id}, headers=admin_headers)
    assert r.status_code == 422 and "unit_id" in r.json["errors"]
    # Moving to another building while keeping a unit of the old one is refused too.
    r = client.patch(
        f"{ROOMS}/{room.id}", json={"building_id": foreign_unit.building_id}, headers=admin_headers
    )
    assert r.status_code == 422 and "unit_id" in r.json["errors"]
    r = client.patch(
        f"{ROOMS}/{room.id}",
        json={"building_id": foreign_unit.building_id, "unit_id": foreign_unit.id},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json["unit_id"] == foreign_unit.id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"building_id": None}, "building_id"),
        ({"building_id": 999_999_999}, "building_id"),
        ({"unit_id": 999_999_999}, "unit_id"),
        ({"code": None}, "code"),
        ({"code": "  "}, "code"),
        ({"code": "x" * 51}, "code"),
        ({"floor": None}, "floor"),
        ({"floor": "一"}, "floor"),
        ({"floor": 1.5}, "floor"),
        ({"floor": -11}, "floor"),
        ({"floor": 301}, "floor"),
        ({"building_area": "88.555"}, "building_area"),
        ({"building_area": 88.555}, "building_area"),
        ({"building_area": "0"}, "building_area"),
        ({"building_area": "-1.00"}, "building_area"),
        ({"building_area": "100000000.00"}, "building_area"),
        ({"building_area": "abc"}, "building_area"),
        ({"building_area": "NaN"}, "building_area"),
        ({"building_area": "Infinity"}, "building_area"),
        ({"charge_area": "1.001"}, "charge_area"),
        ({"layout": None}, "layout"),
        ({"layout": "x" * 51}, "layout"),
        ({"orientation": "up"}, "orientation"),
        ({"balcony": True}, "balcony"),
    ],
)
def test_room_validation_errors(client, admin_headers, building, changes, field):
    body = {"building_id": building.id, "code": "101", "floor": 1, **changes}
    r = client.post(ROOMS, json=body, headers=admin_headers)
    assert r.status_code == 422, r.json
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


def test_room_required_fields(client, admin_headers):
    r = client.post(ROOMS, json={}, headers=admin_headers)
    assert r.status_code == 422
    assert {"building_id", "code", "floor"} <= set(r.json["errors"])


def test_room_area_bounds_accepted(client, admin_headers, building):
    r = client.post(
        ROOMS,
        json={
            "building_id": building.id,
            "code": "1",
            "floor": 300,
            "building_area": "99999999.99",
            "charge_area": "0.01",
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    assert r.json["building_area"] == "99999999.99" and r.json["charge_area"] == "0.01"
    r = client.patch(
        f"{ROOMS}/{r.json['id']}",
        json={"charge_area": "12.300", "floor": -10},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json["charge_area"] == "12.30"


def test_room_patch_validation(client, make, admin_headers, building):
    room = make.room(building)
    r = client.patch(f"{ROOMS}/{room.id}", json={"building_area": "1.234"}, headers=admin_headers)
    assert r.status_code == 422 and "building_area" in r.json["errors"]
    r = client.patch(f"{ROOMS}/{room.id}", json={"floor": None}, headers=admin_headers)
    assert r.status_code == 422 and "floor" in r.json["errors"]


def test_room_delete_in_use(client, make, org, admin_headers, building):
    room = make.room(building)
    make.holds(make.customer(org), room)
    r = client.delete(f"{ROOMS}/{room.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"


# Isolation and roles


def test_other_organisation_is_invisible(client, make, admin_headers):
    other = make.org()
    their_building = make.building(make.community(other))
    their_unit = make.unit(their_building)
    their_room = make.room(their_building, unit_id=their_unit.id)
    for url in (
        f"{BUILDINGS}/{their_building.id}",
        f"{UNITS}/{their_unit.id}",
        f"{ROOMS}/{their_room.id}",
    ):
        assert client.get(url, headers=admin_headers).status_code == 404
        assert (
            client.patch(
                url,
                json={"name": "x"} if "rooms" not in url else {"floor": 2},
                headers=admin_headers,
            ).status_code
            == 404
        )
        assert client.delete(url, headers=admin_headers).status_code == 404
    for url in (BUILDINGS, UNITS, ROOMS):
        assert client.get(url, headers=admin_headers).json["total"] == 0
    assert (
        client.get(
            ROOMS, query_string={"building_id": their_building.id}, headers=admin_headers
        ).json["total"]
        == 0
    )


def test_room_cannot_reference_other_orgs_tree(client, make, admin_headers, building):
    their_building = make.building(make.community(make.org()))
    their_unit = make.unit(their_building)
    r = client.post(
        ROOMS,
        json={"building_id": their_building.id, "code": "1", "floor": 1},
        headers=admin_headers,
    )
    assert r.status_code == 422 and "building_id" in r.json["errors"]
    r = client.post(
        ROOMS,
        json={"building_id": building.id, "unit_id": their_unit.id, "code": "1", "floor": 1},
        headers=admin_headers,
    )
    assert r.status_code == 422 and "unit_id" in r.json["errors"]


@pytest.mark.parametrize("url", [BUILDINGS, UNITS, ROOMS])
def test_roles(client, make, org, building, url):
    dispatcher = make.headers(make.dispatcher(org))
    tenant = make.headers(make.tenant(org))
    assert client.get(url, headers=dispatcher).status_code == 200
    body = {
        BUILDINGS: {"community_id": building.community_id, "name": "新楼"},
        UNITS: {"building_id": building.id, "name": "新单元"},
        ROOMS: {"building_id": building.id, "code": "N1", "floor": 1},
    }[url]
    r = client.post(url, json=body, headers=dispatcher)
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert client.get(url, headers=tenant).status_code == 403
    assert client.get(url).status_code == 401


def test_dispatcher_reads_but_cannot_change_items(client, make, org, building):
    dispatcher = make.headers(make.dispatcher(org))
    unit = make.unit(building)
    room = make.room(building)
    for url in (f"{BUILDINGS}/{building.id}", f"{UNITS}/{unit.id}", f"{ROOMS}/{room.id}"):
        assert client.get(url, headers=dispatcher).status_code == 200
        assert client.patch(url, json={}, headers=dispatcher).status_code == 403
        assert client.delete(url, headers=dispatcher).status_code == 403
