"""全能搜索 by plate (whole or a fragment, ranked; the owner and the space shown) and by the
pinyin of a customer's name ("zs" finds 张三), kept by every writer of a name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.directory.models import Customer
from server.parking.models import ParkingSpace, Vehicle
from tests.imports.helpers import csv_bytes, import_file
from tests.search.test_search import ids, search


class Lot:
    """Two organisations with the same plates; vehicles with and without a space."""

    def __init__(self, make, db_session):
        self.db_session = db_session
        self.org = make.org()
        community = make.community(self.org, name="阳光花园")
        self.owner = make.customer(self.org, name="张三", phone="13912340001")
        self.space = ParkingSpace(
            org_id=self.org.id,
            community_id=community.id,
            number="B2-015",
            area="地下二层",
            kind="underground",
        )
        db_session.add(self.space)
        db_session.flush()
        self.exact = self.vehicle(self.org, "粤B12345", self.owner, self.space)
        self.prefix = self.vehicle(self.org, "粤B123456", self.owner, None)  # a new-energy plate
        self.contains = self.vehicle(self.org, "京AB1234", self.owner, None)
        self.removed = self.vehicle(self.org, "粤B12340", self.owner, None)
        self.removed.removed_at = datetime.now(UTC)
        self.headers = make.headers(make.dispatcher(self.org))

        self.other = make.org()
        self.other_vehicle = self.vehicle(
            self.other, "粤B12345", make.customer(self.other, name="张三"), None
        )
        db_session.flush()

    def vehicle(self, org, plate, owner, space):
        v = Vehicle(
            org_id=org.id,
            plate=plate,
            plate_kind="ordinary" if len(plate) == 7 else "new_energy",
            customer_id=owner.id,
            space_id=space.id if space else None,
            model="比亚迪 秦",
            colour="白色",
        )
        self.db_session.add(v)
        self.db_session.flush()
        return v


@pytest.fixture
def lot(make, db_session):
    return Lot(make, db_session)


def test_a_whole_plate_ranks_exact_first_with_owner_and_space(client, lot):
    found = search(client, lot.headers, "粤b·12345")
    assert found["query_kind"] == "text"
    vehicles = found["vehicles"]
    assert ids(vehicles) == [lot.exact.id, lot.prefix.id]
    assert [h["match"] for h in vehicles["items"]] == ["exact", "prefix"]
    hit = vehicles["items"][0]
    assert hit["vehicle"]["plate"] == "粤B12345"
    assert hit["vehicle"]["customer"] == {
        "id": lot.owner.id,
        "name": "张三",
        "phone": "139****0001",
    }
    assert hit["vehicle"]["space"]["number"] == "B2-015"
    assert hit["vehicle"]["space"]["community_name"] == "阳光花园"
    assert hit["link"] == "/console/parking?plate=%E7%B2%A4B12345"
    assert vehicles["items"][1]["vehicle"]["space"] is None
    # Removed vehicles and another organisation's are never found.
    assert lot.removed.id not in ids(vehicles) and lot.other_vehicle.id not in ids(vehicles)


def test_fragments_prefix_and_contains(client, lot):
    found = search(client, lot.headers, "粤B")
    assert ids(found["vehicles"]) == [lot.exact.id, lot.prefix.id]
    assert {h["match"] for h in found["vehicles"]["items"]} == {"prefix"}
    found = search(client, lot.headers, "B1234")
    assert ids(found["vehicles"]) == [lot.contains.id, lot.exact.id, lot.prefix.id]
    assert {h["match"] for h in found["vehicles"]["items"]} == {"contains"}
    # Four digits are also a phone's tail: plates containing them are listed too.
    found = search(client, lot.headers, "1234")
    assert found["query_kind"] == "phone_tail"
    assert set(ids(found["vehicles"])) == {lot.exact.id, lot.prefix.id, lot.contains.id}
    # A name is no plate.
    assert search(client, lot.headers, "张三")["vehicles"]["total"] == 0


@pytest.fixture
def people(make):
    org = make.org()
    zhang = make.customer(org, name="张三")
    zhang_sanfeng = make.customer(org, name="张三丰")
    zhou = make.customer(org, name="周山")
    li = make.customer(org, name="李四")
    other = make.org()
    make.customer(other, name="张三")
    return (
        org,
        {"zhang": zhang, "zsf": zhang_sanfeng, "zhou": zhou, "li": li},
        make.headers(make.dispatcher(org)),
    )


def test_pinyin_initials_and_full_pinyin_find_names(client, people):
    _org, c, headers = people
    found = search(client, headers, "zs")
    assert found["query_kind"] == "text"
    assert ids(found["customers"]) == [*sorted([c["zhang"].id, c["zhou"].id]), c["zsf"].id]
    assert [h["match"] for h in found["customers"]["items"]] == ["exact", "exact", "prefix"]
    assert {h["matched_field"] for h in found["customers"]["items"]} == {"pinyin"}
    assert found["customers"]["items"][0]["matched_field_label"] == "姓名拼音"
    found = search(client, headers, "ZhangSan")
    assert ids(found["customers"]) == [c["zhang"].id, c["zsf"].id]
    found = search(client, headers, "zhang san")
    assert ids(found["customers"]) == [c["zhang"].id, c["zsf"].id]
    assert search(client, headers, "ls")["customers"]["total"] == 1
    # One letter is too little to look for.
    assert search(client, headers, "z")["customers"]["total"] == 0


def test_every_writer_keeps_the_pinyin(client, make, db_session):
    org = make.org()
    admin = make.headers(make.admin(org))
    r = client.post(
        "/api/v1/admin/customers",
        json={"kind": "person", "name": "王小明", "phone": "13912340002"},
        headers=admin,
    )
    assert r.status_code == 201, r.json
    customer = db_session.get(Customer, r.json["id"])
    assert (customer.name_initials, customer.name_pinyin) == ("wxm", "wangxiaoming")
    r = client.patch(
        f"/api/v1/admin/customers/{customer.id}", json={"name": "刘德华"}, headers=admin
    )
    assert r.status_code == 200, r.json
    db_session.refresh(customer)
    assert (customer.name_initials, customer.name_pinyin) == ("ldh", "liudehua")


def test_the_batch_import_writes_the_pinyin_on_insert_and_update(
    client, app, admin_headers, db_session, org
):
    rows = [["个人", "张三", None, None, "13800138000", None, None, None]]
    job = import_file(
        client, app, admin_headers, kind="customers", data=csv_bytes("customers", rows)
    )
    assert job["status"] == "done", job["errors"]
    customer = db_session.scalar(select(Customer).where(Customer.org_id == org.id))
    assert (customer.name_initials, customer.name_pinyin) == ("zs", "zhangsan")
    found = search(client, admin_headers, "zs")
    assert ids(found["customers"]) == [customer.id]

    rows[0][1] = "李四"  # the same phone: the same customer, renamed
    job = import_file(
        client, app, admin_headers, kind="customers", data=csv_bytes("customers", rows)
    )
    assert job["counts"]["customers"]["updated"] == 1, job
    db_session.expire_all()
    customer = db_session.get(Customer, customer.id)
    assert (customer.name, customer.name_initials, customer.name_pinyin) == ("李四", "ls", "lisi")
