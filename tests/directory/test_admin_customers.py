"""Console: customers, contacts and room relations — CRUD, personal data, roles, isolation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from server.models import Contact, CustomerRoom

CUSTOMERS = "/api/v1/admin/customers"
CONTACTS = "/api/v1/admin/contacts"
CUSTOMER_ROOMS = "/api/v1/admin/customer-rooms"
RESIDENT_ID = "11010519491231002X"
OTHER_RESIDENT_ID = "440524188001010014"
CREDIT_CODE = "91350100M000100Y43"


@pytest.fixture
def room(make, org):
    return make.room(make.building(make.community(org, name="阳光花园"), name="1栋"), code="101")


@pytest.fixture
def customer(make, org):
    return make.customer(org, name="张三", phone="13800000001", id_number=RESIDENT_ID)


# Customers


def test_customer_crud(client, admin_headers, room):
    body = {
        "kind": "person",
        "name": " 张三 ",
        "phone": "+86 138-0000-0001",
        "id_number": "11010519491231002x",
        "remark": "业主",
        "contacts": [
            {"name": "张三", "phone": "13800000001", "relation": "self"},
            {"name": "李四", "phone": "13800000003", "relation": "family"},
        ],
    }
    r = client.post(CUSTOMERS, json=body, headers=admin_headers)
    assert r.status_code == 201, r.json
    created = r.json
    assert created["name"] == "张三" and created["phone"] == "13800000001"
    assert created["id_number"] == RESIDENT_ID
    assert [c["phone"] for c in created["contacts"]] == ["13800000001", "13800000003"]
    assert created["rooms"] == [] and created["created_at"].endswith("+08:00")

    url = f"{CUSTOMERS}/{created['id']}"
    r = client.patch(
        url, json={"name": "张三丰", "remark": "", "phone": None}, headers=admin_headers
    )
    assert r.status_code == 200, r.json
    assert r.json["name"] == "张三丰" and r.json["phone"] is None and r.json["remark"] == ""
    assert len(r.json["contacts"]) == 2

    r = client.get(url, headers=admin_headers)
    assert r.status_code == 200 and r.json["name"] == "张三丰"

    assert client.delete(url, headers=admin_headers).status_code == 204
    r = client.get(url, headers=admin_headers)
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_company_customer(client, admin_headers):
    r = client.post(
        CUSTOMERS,
        json={"kind": "company", "name": "某某科技有限公司", "id_number": CREDIT_CODE.lower()},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    assert r.json["id_number"] == CREDIT_CODE and r.json["phone"] is None
    assert r.json["remark"] == "" and r.json["contacts"] == []


def test_list_masks_personal_data_and_detail_does_not(client, make, org, admin_headers, customer):
    make.contact(customer, phone="13800000003", name="李四", relation="family")
    r = client.get(CUSTOMERS, headers=admin_headers)
    assert r.status_code == 200
    assert r.json["total"] == 1
    item = r.json["items"][0]
    assert item["phone"] == "138****0001"
    assert item["id_number"] == "1101**********002X"
    assert item["contacts"] == [
        {
            "id": item["contacts"][0]["id"],
            "name": "李四",
            "phone": "138****0003",
            "relation": "family",
        }
    ]
    assert "13800000001" not in r.get_data(as_text=True)
    assert RESIDENT_ID not in r.get_data(as_text=True)

    r = client.get(f"{CUSTOMERS}/{customer.id}", headers=admin_headers)
    assert r.json["phone"] == "13800000001" and r.json["id_number"] == RESIDENT_ID
    assert r.json["contacts"][0]["phone"] == "13800000003"


def test_list_filters(client, make, org, admin_headers):
    person = make.customer(org, kind="person", name="王五", phone="13900000009")
    company = make.customer(org, kind="company", name="大成公司")
    make.contact(company, phone="13711112222")
    make.customer(org, kind="person", name="赵六")

    def ids(**query):
        r = client.get(CUSTOMERS, query_string=query, headers=admin_headers)
        assert r.status_code == 200, r.json
        return [i["id"] for i in r.json["items"]]

    assert len(ids()) == 3
    assert ids(kind="company") == [company.id]
    assert ids(q="王") == [person.id]
    assert ids(q="1111") == [company.id]
    assert ids(q="13900000009") == [person.id]
    assert ids(q="13711112222", kind="person") == []
    assert len(ids(kind="person", page_size=1)) == 1
    r = client.get(CUSTOMERS, query_string={"kind": "robot"}, headers=admin_headers)
    assert r.status_code == 422 and "kind" in r.json["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "张三"}, "kind"),
        ({"kind": "alien", "name": "张三"}, "kind"),
        ({"kind": "person"}, "name"),
        ({"kind": "person", "name": " "}, "name"),
        ({"kind": "person", "name": "x" * 101}, "name"),
        ({"kind": "person", "name": "张三", "phone": "12345"}, "phone"),
        ({"kind": "person", "name": "张三", "phone": "02012345678"}, "phone"),
        ({"kind": "person", "name": "张三", "remark": "x" * 501}, "remark"),
        ({"kind": "person", "name": "张三", "id_number": "110105194912310029"}, "id_number"),
        ({"kind": "person", "name": "张三", "id_number": "11010519491331002X"}, "id_number"),
        ({"kind": "person", "name": "张三", "id_number": "1101051949123100"}, "id_number"),
        ({"kind": "person", "name": "张三", "id_number": "11010519491231002Y"}, "id_number"),
        ({"kind": "person", "name": "张三", "id_number": CREDIT_CODE}, "id_number"),
        ({"kind": "company", "name": "公司", "id_number": "91350100M000100Y4"}, "id_number"),
        ({"kind": "company", "name": "公司", "id_number": "91350100M000100Y4-"}, "id_number"),
        ({"kind": "person", "name": "张三", "contacts": {}}, "contacts"),
        ({"kind": "person", "name": "张三", "contacts": [{"name": "李四"}]}, "contacts.0.phone"),
        (
            {
                "kind": "person",
                "name": "张三",
                "contacts": [{"name": "李四", "phone": "13800000003", "relation": "friend"}],
            },
            "contacts.0.relation",
        ),
        ({"kind": "person", "name": "张三", "rooms": []}, "rooms"),
        ({"kind": "person", "name": "张三", "gender": "m"}, "gender"),
    ],
)
def test_customer_validation_errors(client, admin_headers, body, field):
    r = client.post(CUSTOMERS, json=body, headers=admin_headers)
    assert r.status_code == 422, r.json
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json
    assert all(isinstance(t, str) and t for t in r.json["errors"][field])


def test_id_number_messages_are_chinese(client, admin_headers):
    r = client.post(
        CUSTOMERS,
        json={"kind": "person", "name": "张三", "id_number": "110105194912310029"},
        headers=admin_headers,
    )
    assert r.json["errors"]["id_number"] == ["身份证号校验位不正确"]


def test_duplicate_contact_phones_in_create(client, admin_headers):
    contact = {"name": "甲", "phone": "13800000003", "relation": "family"}
    r = client.post(
        CUSTOMERS,
        json={"kind": "person", "name": "张三", "contacts": [contact, {**contact, "name": "乙"}]},
        headers=admin_headers,
    )
    assert r.status_code == 409 and r.json["error"] == "conflict"
    assert "contacts.1.phone" in r.json["errors"]


def test_patch_checks_id_number_against_kind(client, make, org, admin_headers, customer):
    company = make.customer(org, kind="company", id_number=CREDIT_CODE)
    # A credit code is no resident ID: switching kind alone is refused.
    r = client.patch(f"{CUSTOMERS}/{company.id}", json={"kind": "person"}, headers=admin_headers)
    assert r.status_code == 422 and "id_number" in r.json["errors"]
    url = f"{CUSTOMERS}/{customer.id}"
    r = client.patch(url, json={"id_number": "110105194912310029"}, headers=admin_headers)
    assert r.status_code == 422 and "id_number" in r.json["errors"]
    r = client.patch(url, json={"id_number": CREDIT_CODE}, headers=admin_headers)
    assert r.status_code == 422 and "id_number" in r.json["errors"]
    r = client.patch(url, json={"kind": "company", "id_number": CREDIT_CODE}, headers=admin_headers)
    assert r.status_code == 200 and r.json["kind"] == "company"
    r = client.patch(url, json={"kind": "person", "id_number": ""}, headers=admin_headers)
    assert r.status_code == 200 and r.json["id_number"] is None
    r = client.patch(url, json={"id_number": OTHER_RESIDENT_ID}, headers=admin_headers)
    assert r.status_code == 200 and r.json["id_number"] == OTHER_RESIDENT_ID
    r = client.patch(url, json={"name": None}, headers=admin_headers)
    assert r.status_code == 422 and "name" in r.json["errors"]
    r = client.patch(url, json={"contacts": []}, headers=admin_headers)
    assert r.status_code == 422 and "contacts" in r.json["errors"]


def test_delete_customer_cascades(client, make, org, admin_headers, customer, room, db_session):
    contact = make.contact(customer)
    link = make.holds(customer, room)
    assert client.delete(f"{CUSTOMERS}/{customer.id}", headers=admin_headers).status_code == 204
    assert db_session.scalar(select(func.count()).where(Contact.id == contact.id)) == 0
    assert db_session.scalar(select(func.count()).where(CustomerRoom.id == link.id)) == 0
    # The room is free to delete now.
    r = client.delete(f"/api/v1/admin/rooms/{room.id}", headers=admin_headers)
    assert r.status_code == 204


# Contacts


def test_contact_crud(client, admin_headers, customer):
    r = client.post(
        f"{CUSTOMERS}/{customer.id}/contacts",
        json={"name": "李四", "phone": "138 0000 0003", "relation": "family"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    contact = r.json
    assert contact["phone"] == "13800000003" and contact["customer_id"] == customer.id

    url = f"{CONTACTS}/{contact['id']}"
    r = client.patch(url, json={"relation": "other", "phone": "13800000004"}, headers=admin_headers)
    assert r.status_code == 200 and r.json["relation"] == "other"
    assert r.json["phone"] == "13800000004"
    assert client.get(url, headers=admin_headers).json["name"] == "李四"
    r = client.get(f"{CUSTOMERS}/{customer.id}", headers=admin_headers)
    assert [c["id"] for c in r.json["contacts"]] == [contact["id"]]

    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=admin_headers).status_code == 404
    assert client.get(f"{CUSTOMERS}/{customer.id}", headers=admin_headers).json["contacts"] == []


def test_contact_phone_unique_per_customer(client, make, org, admin_headers, customer):
    make.contact(customer, phone="13800000003")
    url = f"{CUSTOMERS}/{customer.id}/contacts"
    r = client.post(
        url,
        json={"name": "甲", "phone": "13800000003", "relation": "family"},
        headers=admin_headers,
    )
    assert r.status_code == 409 and r.json["error"] == "conflict" and "phone" in r.json["errors"]

    second = make.contact(customer, phone="13800000004")
    r = client.patch(
        f"{CONTACTS}/{second.id}", json={"phone": "13800000003"}, headers=admin_headers
    )
    assert r.status_code == 409 and "phone" in r.json["errors"]
    r = client.patch(
        f"{CONTACTS}/{second.id}", json={"phone": "13800000004"}, headers=admin_headers
    )
    assert r.status_code == 200

    # Another customer may list the same person.
    other = make.customer(org)
    r = client.post(
        f"{CUSTOMERS}/{other.id}/contacts",
        json={"name": "甲", "phone": "13800000003", "relation": "employee"},
        headers=admin_headers,
    )
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "13800000003", "relation": "self"}, "name"),
        ({"name": "", "phone": "13800000003", "relation": "self"}, "name"),
        ({"name": "x" * 51, "phone": "13800000003", "relation": "self"}, "name"),
        ({"name": "甲", "relation": "self"}, "phone"),
        ({"name": "甲", "phone": None, "relation": "self"}, "phone"),
        ({"name": "甲", "phone": "1380000000", "relation": "self"}, "phone"),
        ({"name": "甲", "phone": "13800000003"}, "relation"),
        ({"name": "甲", "phone": "13800000003", "relation": "owner"}, "relation"),
        (
            {"name": "甲", "phone": "13800000003", "relation": "self", "customer_id": 1},
            "customer_id",
        ),
    ],
)
def test_contact_validation_errors(client, admin_headers, customer, body, field):
    r = client.post(f"{CUSTOMERS}/{customer.id}/contacts", json=body, headers=admin_headers)
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


def test_contact_patch_validation(client, make, admin_headers, customer):
    contact = make.contact(customer)
    for changes, field in (
        ({"phone": "abc"}, "phone"),
        ({"relation": "boss"}, "relation"),
        ({"name": None}, "name"),
    ):
        r = client.patch(f"{CONTACTS}/{contact.id}", json=changes, headers=admin_headers)
        assert r.status_code == 422 and field in r.json["errors"], r.json


def test_contact_on_missing_customer(client, admin_headers):
    r = client.post(
        f"{CUSTOMERS}/999999999/contacts",
        json={"name": "甲", "phone": "13800000003", "relation": "self"},
        headers=admin_headers,
    )
    assert r.status_code == 404


# Room relations


def test_customer_room_crud(client, admin_headers, customer, room):
    r = client.post(
        f"{CUSTOMERS}/{customer.id}/rooms",
        json={"room_id": room.id, "relation": "owner", "start_date": "2024-01-01"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    link = r.json
    assert link["customer_id"] == customer.id and link["room_id"] == room.id
    assert link["end_date"] is None and link["start_date"] == "2024-01-01"
    assert link["room"]["code"] == "101"
    assert link["room"]["label"] == "阳光花园 1栋 101"

    r = client.get(f"{CUSTOMERS}/{customer.id}", headers=admin_headers)
    assert [x["id"] for x in r.json["rooms"]] == [link["id"]]
    assert r.json["rooms"][0]["room"]["community_name"] == "阳光花园"

    url = f"{CUSTOMER_ROOMS}/{link['id']}"
    r = client.patch(url, json={"end_date": "2024-12-31"}, headers=admin_headers)
    assert r.status_code == 200 and r.json["end_date"] == "2024-12-31"
    r = client.patch(url, json={"end_date": None, "relation": "resident"}, headers=admin_headers)
    assert r.status_code == 200 and r.json["end_date"] is None
    assert client.get(url, headers=admin_headers).json["relation"] == "resident"

    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=admin_headers).status_code == 404
    assert client.get(f"{CUSTOMERS}/{customer.id}", headers=admin_headers).json["rooms"] == []


def test_customer_room_period(client, make, admin_headers, customer, room):
    url = f"{CUSTOMERS}/{customer.id}/rooms"
    r = client.post(
        url,
        json={
            "room_id": room.id,
            "relation": "tenant",
            "start_date": "2024-05-01",
            "end_date": "2024-04-30",
        },
        headers=admin_headers,
    )
    assert r.status_code == 422 and "end_date" in r.json["errors"]
    r = client.post(
        url,
        json={
            "room_id": room.id,
            "relation": "tenant",
            "start_date": "2024-05-01",
            "end_date": "2024-05-01",
        },
        headers=admin_headers,
    )
    assert r.status_code == 201
    link = make.holds(customer, room, start_date=date(2024, 1, 1), end_date=date(2024, 3, 1))
    r = client.patch(
        f"{CUSTOMER_ROOMS}/{link.id}", json={"end_date": "2023-12-31"}, headers=admin_headers
    )
    assert r.status_code == 422 and "end_date" in r.json["errors"]
    r = client.patch(
        f"{CUSTOMER_ROOMS}/{link.id}", json={"start_date": "2024-03-02"}, headers=admin_headers
    )
    assert r.status_code == 422 and "end_date" in r.json["errors"]


def test_customer_room_duplicate(client, make, admin_headers, customer, room):
    make.holds(customer, room, relation="owner", start_date=date(2024, 1, 1))
    url = f"{CUSTOMERS}/{customer.id}/rooms"
    body = {"room_id": room.id, "relation": "owner", "start_date": "2024-01-01"}
    r = client.post(url, json=body, headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "conflict"
    assert "room_id" in r.json["errors"]
    # Another relation, or another start, is a different record.
    assert (
        client.post(url, json={**body, "relation": "resident"}, headers=admin_headers).status_code
        == 201
    )
    r = client.post(url, json={**body, "start_date": "2025-01-01"}, headers=admin_headers)
    assert r.status_code == 201
    r = client.patch(
        f"{CUSTOMER_ROOMS}/{r.json['id']}", json={"start_date": "2024-01-01"}, headers=admin_headers
    )
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"room_id": None}, "room_id"),
        ({"room_id": "abc"}, "room_id"),
        ({"room_id": 999_999_999}, "room_id"),
        ({"relation": "landlord"}, "relation"),
        ({"relation": None}, "relation"),
        ({"start_date": None}, "start_date"),
        ({"start_date": "2024-02-30"}, "start_date"),
        ({"start_date": "01/02/2024"}, "start_date"),
        ({"end_date": "tomorrow"}, "end_date"),
        ({"share": 50}, "share"),
    ],
)
def test_customer_room_validation_errors(client, admin_headers, customer, room, changes, field):
    body = {"room_id": room.id, "relation": "owner", "start_date": "2024-01-01", **changes}
    r = client.post(f"{CUSTOMERS}/{customer.id}/rooms", json=body, headers=admin_headers)
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


def test_customer_room_required_fields(client, admin_headers, customer):
    r = client.post(f"{CUSTOMERS}/{customer.id}/rooms", json={}, headers=admin_headers)
    assert r.status_code == 422
    assert {"room_id", "relation", "start_date"} <= set(r.json["errors"])


# Isolation


def test_other_organisation_is_invisible(client, make, admin_headers):
    other = make.org()
    theirs = make.customer(other, phone="13800000001")
    their_contact = make.contact(theirs)
    their_room = make.room(make.building(make.community(other)))
    their_link = make.holds(theirs, their_room)

    url = f"{CUSTOMERS}/{theirs.id}"
    assert client.get(url, headers=admin_headers).status_code == 404
    assert client.patch(url, json={"name": "x"}, headers=admin_headers).status_code == 404
    assert client.delete(url, headers=admin_headers).status_code == 404
    r = client.post(
        f"{url}/contacts",
        json={"name": "x", "phone": "13800000009", "relation": "other"},
        headers=admin_headers,
    )
    assert r.status_code == 404
    r = client.post(
        f"{url}/rooms",
        json={"room_id": their_room.id, "relation": "owner", "start_date": "2024-01-01"},
        headers=admin_headers,
    )
    assert r.status_code == 404

    url = f"{CONTACTS}/{their_contact.id}"
    assert client.get(url, headers=admin_headers).status_code == 404
    assert client.patch(url, json={"name": "x"}, headers=admin_headers).status_code == 404
    assert client.delete(url, headers=admin_headers).status_code == 404

    url = f"{CUSTOMER_ROOMS}/{their_link.id}"
    assert client.get(url, headers=admin_headers).status_code == 404
    r = client.patch(url, json={"end_date": "2030-01-01"}, headers=admin_headers)
    assert r.status_code == 404
    assert client.delete(url, headers=admin_headers).status_code == 404

    r = client.get(CUSTOMERS, headers=admin_headers)
    assert r.json["total"] == 0
    r = client.get(CUSTOMERS, query_string={"q": "13800000001"}, headers=admin_headers)
    assert r.json["total"] == 0


def test_cannot_link_other_orgs_room(client, make, admin_headers, customer, room):
    their_room = make.room(make.building(make.community(make.org())))
    r = client.post(
        f"{CUSTOMERS}/{customer.id}/rooms",
        json={"room_id": their_room.id, "relation": "owner", "start_date": "2024-01-01"},
        headers=admin_headers,
    )
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert "room_id" in r.json["errors"]
    link = make.holds(customer, room)
    r = client.patch(
        f"{CUSTOMER_ROOMS}/{link.id}", json={"room_id": their_room.id}, headers=admin_headers
    )
    assert r.status_code == 422 and "room_id" in r.json["errors"]


# Roles


def test_roles(client, make, org, customer, room):
    dispatcher = make.headers(make.dispatcher(org))
    tenant = make.headers(make.tenant(org))

    assert client.get(CUSTOMERS, headers=dispatcher).status_code == 200
    assert client.get(f"{CUSTOMERS}/{customer.id}", headers=dispatcher).status_code == 200
    # The desk registers residents: dispatchers write customers, contacts and relations.
    r = client.post(CUSTOMERS, json={"kind": "person", "name": "新住户"}, headers=dispatcher)
    assert r.status_code == 201
    r = client.post(
        f"{CUSTOMERS}/{customer.id}/contacts",
        json={"name": "甲", "phone": "13800000007", "relation": "family"},
        headers=dispatcher,
    )
    assert r.status_code == 201
    contact_id = r.json["id"]
    r = client.post(
        f"{CUSTOMERS}/{customer.id}/rooms",
        json={"room_id": room.id, "relation": "owner", "start_date": "2024-01-01"},
        headers=dispatcher,
    )
    assert r.status_code == 201
    link_id = r.json["id"]

    for method, url, body in (
        ("get", CUSTOMERS, None),
        ("post", CUSTOMERS, {"kind": "person", "name": "x"}),
        ("get", f"{CUSTOMERS}/{customer.id}", None),
        ("patch", f"{CUSTOMERS}/{customer.id}", {"name": "x"}),
        ("delete", f"{CUSTOMERS}/{customer.id}", None),
        (
            "post",
            f"{CUSTOMERS}/{customer.id}/contacts",
            {"name": "x", "phone": "13800000008", "relation": "self"},
        ),
        ("patch", f"{CONTACTS}/{contact_id}", {"name": "x"}),
        ("delete", f"{CONTACTS}/{contact_id}", None),
        (
            "post",
            f"{CUSTOMERS}/{customer.id}/rooms",
            {"room_id": room.id, "relation": "tenant", "start_date": "2024-01-01"},
        ),
        ("patch", f"{CUSTOMER_ROOMS}/{link_id}", {"end_date": "2030-01-01"}),
        ("delete", f"{CUSTOMER_ROOMS}/{link_id}", None),
    ):
        r = getattr(client, method)(url, json=body, headers=tenant)
        assert r.status_code == 403 and r.json["error"] == "forbidden", (method, url)
        r = getattr(client, method)(url, json=body)
        assert r.status_code == 401 and r.json["error"] == "unauthorized", (method, url)

    assert client.delete(f"{CONTACTS}/{contact_id}", headers=dispatcher).status_code == 204
    assert client.delete(f"{CUSTOMER_ROOMS}/{link_id}", headers=dispatcher).status_code == 204
    assert client.delete(f"{CUSTOMERS}/{customer.id}", headers=dispatcher).status_code == 204


# What the desk records is what the tenant sees


def test_linked_contact_phone_opens_the_room_to_the_tenant(client, make, org, admin_headers, room):
    phone = "13800000005"
    tenant_headers = make.headers(make.tenant(org, phone=phone))
    assert client.get("/api/v1/tenant/rooms", headers=tenant_headers).json["items"] == []

    r = client.post(
        CUSTOMERS,
        json={
            "kind": "person",
            "name": "王五",
            "contacts": [{"name": "王五", "phone": phone, "relation": "self"}],
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    customer_id = r.json["id"]
    start = (date.today() - timedelta(days=1)).isoformat()
    r = client.post(
        f"{CUSTOMERS}/{customer_id}/rooms",
        json={"room_id": room.id, "relation": "tenant", "start_date": start},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    link_id = r.json["id"]

    r = client.get("/api/v1/tenant/rooms", headers=tenant_headers)
    assert r.status_code == 200
    assert [(i["room"]["id"], i["customer_id"], i["relation"]) for i in r.json["items"]] == [
        (room.id, customer_id, "tenant")
    ]

    # Ending the relation closes the room again.
    r = client.patch(f"{CUSTOMER_ROOMS}/{link_id}", json={"end_date": start}, headers=admin_headers)
    assert r.status_code == 200
    assert client.get("/api/v1/tenant/rooms", headers=tenant_headers).json["items"] == []


def test_tenant_of_another_org_with_the_same_phone_sees_nothing(client, make, org, room):
    phone = "13800000006"
    customer = make.customer(org)
    make.contact(customer, phone=phone)
    make.holds(customer, room)
    stranger = make.headers(make.tenant(make.org(), phone=phone))
    assert client.get("/api/v1/tenant/rooms", headers=stranger).json["items"] == []
    own = make.headers(make.tenant(org, phone=phone))
    assert len(client.get("/api/v1/tenant/rooms", headers=own).json["items"]) == 1


def test_person_with_a_phone_becomes_their_own_contact(client, make):
    org = make.org()
    headers = make.headers(make.admin(org))
    r = client.post(
        "/api/v1/admin/customers",
        json={"kind": "person", "name": "孙八", "phone": "13800000088"},
        headers=headers,
    )
    assert r.status_code == 201, r.json
    detail = client.get(f"/api/v1/admin/customers/{r.json['id']}", headers=headers).json
    assert [(c["phone"], c["relation"]) for c in detail["contacts"]] == [("13800000088", "self")]
