"""全能搜索: each query kind finds its rows, ranked; personal data masked; one organisation only;
every statement reads indexes (no sequential scan of the big tables)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from server.search import omni
from server.search.rules import QueryKind, classify

SEARCH = "/api/v1/admin/search"
RESIDENT_ID = "11010519491231002X"
CREDIT_CODE = "91350100M000100Y43"


class Town:
    """Two organisations with look-alike rows: whatever the first finds, the second must not."""

    def __init__(self, make):
        self.org = make.org()
        community = make.community(self.org, name="阳光花园")
        building = make.building(community, name="3栋")
        self.room = make.room(building, code="3-1001")
        self.room_1001 = make.room(building, code="1001")
        self.room_10011 = make.room(building, code="10011")
        self.zhang = make.customer(
            self.org, name="张三丰", phone="13912345678", id_number=RESIDENT_ID
        )
        make.contact(self.zhang, phone="13912345678", name="张三丰")
        make.holds(self.zhang, self.room)
        self.zhang_exact = make.customer(self.org, name="张三")
        self.zhang_wuji = make.customer(self.org, name="小张三")
        # Reached only through a family member's phone.
        self.li = make.customer(self.org, name="李四", phone=None)
        make.contact(self.li, phone="13655555678", name="李小四", relation="family")
        self.company = make.customer(
            self.org, kind="company", name="万家物业", id_number=CREDIT_CODE
        )
        self.dispatcher = make.dispatcher(self.org)
        self.headers = make.headers(self.dispatcher)

        self.other = make.org()
        other_building = make.building(make.community(self.other, name="阳光花园"), name="3栋")
        self.other_room = make.room(other_building, code="3-1001")
        self.other_customer = make.customer(
            self.other, name="张三丰", phone="13912345678", id_number=RESIDENT_ID
        )
        make.contact(self.other_customer, phone="13912345678")


@pytest.fixture
def town(make):
    return Town(make)


def search(client, headers, q, **args):
    r = client.get(SEARCH, query_string={"q": q, **args}, headers=headers)
    assert r.status_code == 200, r.json
    return r.json


def ids(group):
    return [hit[KEYS[group["label"]]]["id"] for hit in group["items"]]


KEYS = {"房屋": "room", "客户": "customer", "工单": "order", "车辆": "vehicle"}


def test_classify():
    assert classify(" 5678 ").kind == QueryKind.PHONE_TAIL
    assert classify("139 1234 5678").value == "13912345678"
    assert classify("+86 139-1234-5678").kind == QueryKind.PHONE
    assert classify("bx20261122-0001").value == "BX20261122-0001"
    assert classify("20261122-0001").value == "BX20261122-0001"
    assert classify("11010519491231002x").kind == QueryKind.ID_NUMBER
    assert classify(CREDIT_CODE).kind == QueryKind.ID_NUMBER
    assert classify("张三").kind == QueryKind.TEXT
    assert classify("12345").kind == QueryKind.TEXT  # neither a phone nor its tail


def test_room_code_ranked_exact_prefix_contains(client, town):
    found = search(client, town.headers, "1001")
    assert found["query_kind"] == "phone_tail"
    rooms = found["rooms"]
    assert ids(rooms) == [town.room_1001.id, town.room_10011.id, town.room.id]
    assert [h["match"] for h in rooms["items"]] == ["exact", "prefix", "contains"]
    assert rooms["total"] == 3 and rooms["total_exact"] is True
    assert rooms["items"][2]["room"]["label"] == "阳光花园 3栋 3-1001"
    assert rooms["items"][0]["link"] == f"/console/search/rooms/{town.room_1001.id}"
    # Another organisation's 3-1001 is never there.
    assert town.other_room.id not in ids(found["rooms"])


def test_customer_name_ranked(client, town):
    found = search(client, town.headers, "张三")
    # Two characters: equal, then prefix (no substring: 小张三 needs three).
    assert ids(found["customers"]) == [town.zhang_exact.id, town.zhang.id]
    assert [h["match"] for h in found["customers"]["items"]] == ["exact", "prefix"]
    found = search(client, town.headers, "张三丰")
    # Equal first, then what is similar enough (张三 shares most of its trigrams).
    assert ids(found["customers"])[0] == town.zhang.id
    assert [h["match"] for h in found["customers"]["items"]][1:] == ["similar"]
    found = search(client, town.headers, "三丰")
    assert found["customers"]["total"] == 0
    found = search(client, town.headers, "小张三")
    assert ids(found["customers"])[0] == town.zhang_wuji.id
    found = search(client, town.headers, "万家")
    assert ids(found["customers"]) == [town.company.id]
    # Substring and similarity from three characters on.
    found = search(client, town.headers, "家物业")
    assert ids(found["customers"]) == [town.company.id]
    assert found["customers"]["items"][0]["match"] == "contains"
    assert town.other_customer.id not in ids(search(client, town.headers, "张三丰")["customers"])


def test_full_phone_finds_customers_and_orders_masked(client, town, world, make):
    found = search(client, town.headers, "139 1234 5678")
    assert found["query_kind"] == "phone"
    hits = found["customers"]["items"]
    assert [h["customer"]["id"] for h in hits] == [town.zhang.id]
    assert hits[0]["match"] == "exact" and hits[0]["matched_field"] == "phone"
    assert hits[0]["customer"]["phone"] == "139****5678"
    assert hits[0]["customer"]["id_number"] == "1101**********002X"
    assert hits[0]["customer"]["contacts"][0]["phone"] == "139****5678"
    assert "13912345678" not in str(found["customers"])
    assert RESIDENT_ID not in str(found["customers"])
    # A family member's phone finds the customer they act for.
    found = search(client, town.headers, "13655555678")
    assert ids(found["customers"]) == [town.li.id]
    assert found["customers"]["items"][0]["matched_field"] == "contact_phone"


def test_phone_tail_finds_customers_by_their_or_a_contacts_last_digits(client, town):
    found = search(client, town.headers, "5678")
    assert set(ids(found["customers"])) == {town.zhang.id, town.li.id}
    assert {h["match"] for h in found["customers"]["items"]} == {"tail"}
    assert town.other_customer.id not in ids(found["customers"])
    # A page cut short still counts them all (customers and their contacts together).
    found = search(client, town.headers, "5678", limit=1)
    assert found["customers"]["total"] == 2 and len(found["customers"]["items"]) == 1


def test_id_number_finds_the_customer_masked(client, town):
    found = search(client, town.headers, RESIDENT_ID.lower())
    assert found["query_kind"] == "id_number"
    assert ids(found["customers"]) == [town.zhang.id]
    assert found["customers"]["items"][0]["customer"]["id_number"] == "1101**********002X"
    found = search(client, town.headers, CREDIT_CODE)
    assert ids(found["customers"]) == [town.company.id]
    assert CREDIT_CODE not in str(found["customers"])


def test_orders_by_number_and_contact_phone(client, world, desk_headers):
    first = world.file(client)
    second = world.file(client, description="楼道灯不亮")
    found = search(client, desk_headers, first["number"])
    assert found["query_kind"] == "order_number"
    hits = found["orders"]["items"]
    assert hits[0]["order"]["id"] == first["id"] and hits[0]["match"] == "exact"
    assert hits[0]["link"] == f"/console/orders/{first['id']}"
    assert hits[0]["order"]["status_label"] == "待接单"
    assert hits[0]["order"]["room"]["code"] == "101"
    # The day's prefix finds both, newest first.
    found = search(client, desk_headers, first["number"][:10].lower())
    assert ids(found["orders"])[:2] == [second["id"], first["id"]]
    assert {h["match"] for h in found["orders"]["items"]} == {"prefix"}
    # By the contact's phone, whole or its last four digits; masked in the answer.
    found = search(client, desk_headers, "13800000001")
    assert set(ids(found["orders"])) >= {first["id"], second["id"]}
    assert found["orders"]["items"][0]["order"]["contact_phone"] == "138****0001"
    assert "13800000001" not in str(found["orders"])
    found = search(client, desk_headers, "0001")
    assert set(ids(found["orders"])) >= {first["id"], second["id"]}


@pytest.fixture
def desk_headers(world):
    return world.headers(world.dispatcher)


def test_another_organisations_orders_never_appear(client, world, make):
    order = world.file(client)
    outsider = make.dispatcher(make.org())
    found = search(client, make.headers(outsider), order["number"])
    assert found["orders"]["total"] == 0
    found = search(client, make.headers(outsider), "13800000001")
    assert found["orders"]["total"] == 0 and found["customers"]["total"] == 0


def test_limit_and_capped_counts(client, town, make):
    building = make.building(make.community(town.org))
    for n in range(7):
        make.room(building, code=f"77{n:02d}")
    found = search(client, town.headers, "77", limit=3)
    assert found["rooms"]["total"] == 7 and len(found["rooms"]["items"]) == 3
    assert found["rooms"]["total_exact"] is True


def test_counts_beyond_the_cap_say_so(client, town, make, monkeypatch):
    monkeypatch.setattr(omni, "COUNT_LIMIT", 5)
    building = make.building(make.community(town.org))
    for n in range(7):
        make.room(building, code=f"88{n:02d}")
    found = search(client, town.headers, "88", limit=3)
    assert found["rooms"]["total"] == 5 and found["rooms"]["total_exact"] is False


@pytest.mark.parametrize(
    ("q", "where"),
    [
        ("", "q"),
        ("   ", "q"),
        ("x" * 51, "q"),
    ],
)
def test_bad_queries_are_refused_in_chinese(client, town, q, where):
    r = client.get(SEARCH, query_string={"q": q}, headers=town.headers)
    assert r.status_code == 422
    assert r.json["error"] == "validation_error"
    assert where in r.json["errors"]
    assert any("长度" in m for m in r.json["errors"][where]), r.json


def test_missing_query_and_bad_limit(client, town):
    r = client.get(SEARCH, headers=town.headers)
    assert r.status_code == 422 and r.json["errors"]["q"] == ["必填项"]
    r = client.get(SEARCH, query_string={"q": "张", "limit": 21}, headers=town.headers)
    assert r.status_code == 422 and "limit" in r.json["errors"]


def test_desk_roles_only(client, world):
    r = client.get(SEARCH, query_string={"q": "101"}, headers=world.headers(world.tenant))
    assert r.status_code == 403
    r = client.get(SEARCH, query_string={"q": "101"}, headers=world.headers(world.techs[0]))
    assert r.status_code == 403
    assert client.get(SEARCH, query_string={"q": "101"}).status_code == 401


QUERIES = {
    "phone": "13912345678",
    "phone_tail": "5678",
    "order_number": "BX20261122-0001",
    "order_prefix": "BX20261122",
    "id_number": RESIDENT_ID,
    "text_short": "张三",
    "text": "张三丰",
    "room": "3-1001",
    "pinyin_initials": "zsf",
    "pinyin_full": "zhangsan",
    "plate": "粤B12345",
    "plate_prefix": "粤B",
    "plate_fragment": "B1234",
}
BIG_TABLES = ("rooms", "customers", "contacts", "orders", "vehicles")


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_kind_is_index_backed(db_session, town, name):
    """With sequential scans priced out, no statement of any query kind scans a big table."""
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    for stmt in omni.statements(org_id=town.org.id, q=QUERIES[name]):
        sql = str(
            stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        )
        sql = sql.replace("%%", "%")  # pyformat's escaping; run as it stands
        plan = "\n".join(row[0] for row in db_session.execute(text(f"EXPLAIN {sql}")))
        for table in BIG_TABLES:
            assert f"Seq Scan on {table}" not in plan, plan
        assert "Index" in plan, plan
