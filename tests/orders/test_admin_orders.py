"""Console order board: every filter, paging, validation, isolation, roles, CSV/XLSX export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from schemas.common import LOCAL_TZ
from server.orders.export import HEADERS

ADMIN = "/api/v1/admin/orders"
TECH = "/api/v1/tech/orders"
TENANT = "/api/v1/tenant/orders"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def admin(world):
    return world.make.admin(world.org)


@pytest.fixture
def desk(world, admin):
    return world.headers(admin)


def ids(response):
    assert response.status_code == 200, response.json
    return {o["id"] for o in response.json["items"]}


def board(client, desk, **query):
    return client.get(ADMIN, query_string=query, headers=desk)


def post(client, world, who, path, body=None, expect=200):
    r = client.post(path, json=body or {}, headers=world.headers(who))
    assert r.status_code == expect, r.json
    return r.json


def set_column(db_session, order_id, column, value):
    db_session.execute(
        text(f"UPDATE orders SET {column} = :value WHERE id = :id"),
        {"value": value, "id": order_id},
    )
    db_session.flush()


def resident_of(world, room, phone):
    """A tenant login for another room (so orders can be filed there)."""
    make = world.make
    customer = make.customer(world.org)
    make.contact(customer, phone=phone)
    make.holds(customer, room)
    return make.tenant(world.org, phone=phone)


def file_as(client, world, tenant, room, **overrides):
    body = {"subtype_id": world.subtype.id, "room_id": room.id, "description": "门锁坏了"}
    body.update(overrides)
    r = client.post(TENANT, json=body, headers=world.headers(tenant))
    assert r.status_code == 201, r.json
    return r.json


def complete_and_rate(client, world, tech, order_id, score):
    post(client, world, tech, f"{TECH}/{order_id}/grab")
    post(client, world, tech, f"{TECH}/{order_id}/complete", {"result": "已修好"})
    post(client, world, world.tenant, f"{TENANT}/{order_id}/rating", {"score": score})


# Filters -----------------------------------------------------------------------------------


def test_status_filter_single_and_repeated(client, world, desk):
    pending = world.file(client)["id"]
    grabbed = world.file(client)["id"]
    post(client, world, world.techs[0], f"{TECH}/{grabbed}/grab")
    unpaid = world.file(client, subtype_id=world.paid_subtype.id)
    assert unpaid["status"] == "awaiting_payment"

    assert ids(board(client, desk, status="pending")) == {pending}
    assert ids(board(client, desk, status="in_progress")) == {grabbed}
    r = client.get(f"{ADMIN}?status=pending&status=awaiting_payment", headers=desk)
    assert ids(r) == {pending, unpaid["id"]}
    assert ids(board(client, desk)) == {pending, grabbed, unpaid["id"]}
    assert ids(board(client, desk, status="closed")) == set()


def test_type_and_subtype_filters(client, world, desk):
    other_type = world.make.order_type(world.org, name="门窗", department_id=world.department.id)
    other_subtype = world.make.subtype(other_type, name="门锁")
    plain = world.file(client)["id"]
    paid = world.file(client, subtype_id=world.paid_subtype.id)["id"]
    other = world.file(client, subtype_id=other_subtype.id)["id"]

    assert ids(board(client, desk, order_type_id=world.order_type.id)) == {plain, paid}
    assert ids(board(client, desk, order_type_id=other_type.id)) == {other}
    assert ids(board(client, desk, subtype_id=world.paid_subtype.id)) == {paid}
    assert ids(board(client, desk, subtype_id=world.subtype.id)) == {plain}


def test_community_building_and_room_filters(client, world, desk):
    make = world.make
    second_building = make.building(world.building.community, name="2栋")
    room_201 = make.room(second_building, code="201")
    elsewhere = make.community(world.org, name="绿洲小区")
    far_room = make.room(make.building(elsewhere, name="A座"), code="901")

    mine = world.file(client)["id"]
    neighbour = file_as(client, world, world.neighbour, world.other_room)["id"]
    next_door = file_as(client, world, resident_of(world, room_201, "13800000021"), room_201)["id"]
    far = file_as(client, world, resident_of(world, far_room, "13800000022"), far_room)["id"]

    community = world.building.community_id
    assert ids(board(client, desk, community_id=community)) == {mine, neighbour, next_door}
    assert ids(board(client, desk, community_id=elsewhere.id)) == {far}
    assert ids(board(client, desk, building_id=world.building.id)) == {mine, neighbour}
    assert ids(board(client, desk, building_id=second_building.id)) == {next_door}
    assert ids(board(client, desk, room_id=world.other_room.id)) == {neighbour}
    both = board(client, desk, community_id=community, building_id=second_building.id)
    assert ids(both) == {next_door}


def test_assignee_and_unassigned_filters(client, world, desk):
    first, second, _ = world.techs
    grabbed = world.file(client)["id"]
    assigned = world.file(client)["id"]
    waiting = world.file(client)["id"]
    post(client, world, first, f"{TECH}/{grabbed}/grab")
    post(client, world, world.dispatcher, f"{ADMIN}/{assigned}/assign", {"staff_id": second.id})

    assert ids(board(client, desk, assignee_id=first.id)) == {grabbed}
    assert ids(board(client, desk, assignee_id=second.id)) == {assigned}
    assert ids(board(client, desk, unassigned="true")) == {waiting}
    assert ids(board(client, desk, unassigned="false")) == {grabbed, assigned}


def test_created_date_range_uses_shanghai_days(client, world, desk, db_session):
    created = {
        # UTC instants around the local (UTC+8) midnights of 1 and 2 March.
        "feb28_late": datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC),  # 28 Feb 23:59:59
        "mar1_start": datetime(2026, 2, 28, 16, 0, 0, tzinfo=UTC),  # 1 Mar 00:00:00
        "mar1_late": datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC),  # 1 Mar 23:59:59
        "mar2_start": datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC),  # 2 Mar 00:00:00
    }
    order = {}
    for name, at in created.items():
        order[name] = world.file(client)["id"]
        set_column(db_session, order[name], "created_at", at)

    day = board(client, desk, created_from="2026-03-01", created_to="2026-03-01")
    assert ids(day) == {order["mar1_start"], order["mar1_late"]}
    since = board(client, desk, created_from="2026-03-01")
    assert ids(since) == {order["mar1_start"], order["mar1_late"], order["mar2_start"]}
    until = board(client, desk, created_to="2026-02-28")
    assert ids(until) == {order["feb28_late"]}
    assert ids(board(client, desk, created_from="2026-03-03")) == set()
    # Newest first.
    listed = [o["id"] for o in board(client, desk).json["items"]]
    assert listed == [order[n] for n in ("mar2_start", "mar1_late", "mar1_start", "feb28_late")]


def test_created_date_range_at_the_ends_of_the_calendar(client, world, desk):
    """9999-12-31 has no next day: as created_to it bounds nothing (it was a 500)."""
    filed = world.file(client)["id"]
    assert ids(board(client, desk, created_to="9999-12-31")) == {filed}
    assert ids(board(client, desk, created_from="0001-01-01", created_to="9999-12-31")) == {filed}
    assert ids(board(client, desk, created_from="9999-12-31", created_to="9999-12-31")) == set()
    export = board(client, desk, created_to="9999-12-31", format="csv")
    assert export.status_code == 200, export.data[:300]


def test_overdue_filter(client, world, desk, db_session):
    late = world.file(client)["id"]
    on_time = world.file(client)["id"]
    late_but_cancelled = world.file(client)["id"]
    past = datetime.now(UTC) - timedelta(hours=1)
    set_column(db_session, late, "due_at", past)
    set_column(db_session, late_but_cancelled, "due_at", past)
    post(
        client, world, world.dispatcher, f"{ADMIN}/{late_but_cancelled}/cancel", {"reason": "重复"}
    )

    overdue = board(client, desk, overdue="true")
    assert ids(overdue) == {late}
    assert overdue.json["items"][0]["overdue"] is True
    assert ids(board(client, desk, overdue="false")) == {on_time, late_but_cancelled}


def test_follow_up_filter(client, world, desk):
    unhappy = world.file(client)["id"]
    happy = world.file(client)["id"]
    untouched = world.file(client)["id"]
    complete_and_rate(client, world, world.techs[0], unhappy, score=1)
    complete_and_rate(client, world, world.techs[1], happy, score=5)

    assert ids(board(client, desk, follow_up="true")) == {unhappy}
    assert ids(board(client, desk, follow_up="false")) == {happy, untouched}


def test_priority_filter(client, world, desk):
    urgent = world.file(client, priority="urgent")["id"]
    normal = world.file(client)["id"]
    assert ids(board(client, desk, priority="urgent")) == {urgent}
    assert ids(board(client, desk, priority="normal")) == {normal}


def test_q_matches_number_and_phone(client, world, desk):
    first = world.file(client)
    second = world.file(client, contact_phone="13912345678", contact_name="王五")
    assert ids(board(client, desk, q=second["number"])) == {second["id"]}
    assert ids(board(client, desk, q=first["number"][-4:])) == {first["id"]}
    assert ids(board(client, desk, q="1234567")) == {second["id"]}
    assert ids(board(client, desk, q="13800000001")) == {first["id"]}
    assert ids(board(client, desk, q="王五")) == {second["id"]}
    assert ids(board(client, desk, q="没有这个人")) == set()


def test_pagination_totals(client, world, desk):
    filed = [world.file(client)["id"] for _ in range(5)]
    first = board(client, desk, page=1, page_size=2).json
    assert (first["total"], first["page"], first["page_size"]) == (5, 1, 2)
    assert [o["id"] for o in first["items"]] == filed[::-1][:2]
    last = board(client, desk, page=3, page_size=2).json
    assert last["total"] == 5 and [o["id"] for o in last["items"]] == [filed[0]]
    beyond = board(client, desk, page=4, page_size=2).json
    assert beyond["total"] == 5 and beyond["items"] == []
    filtered = board(client, desk, status="cancelled").json
    assert filtered["total"] == 0


def test_list_masks_phones(client, world, desk):
    world.file(client)
    item = board(client, desk).json["items"][0]
    assert item["contact_phone"] == "138****0001"
    assert item["status_label"] == "待接单"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"created_from": "2026-13-01"}, "created_from"),
        ({"created_to": "yesterday"}, "created_to"),
        ({"page_size": 101}, "page_size"),
        ({"page": 0}, "page"),
        ({"format": "pdf"}, "format"),
        ({"overdue": "maybe"}, "overdue"),
        ({"priority": "low"}, "priority"),
        ({"assignee_id": "abc"}, "assignee_id"),
    ],
)
def test_bad_filter_values_are_422(client, world, desk, query, field):
    r = board(client, desk, **query)
    assert r.status_code == 422, r.json
    assert r.json["error"] == "validation_error"
    assert field in str(r.json["errors"])


# Isolation and roles -----------------------------------------------------------------------


def test_another_organisation_sees_nothing(client, world, desk, make):
    mine = world.file(client)["id"]
    other = make.org()
    other_admin = make.headers(make.admin(other))
    assert board(client, other_admin).json["total"] == 0
    r = board(client, other_admin, format="csv")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows == [list(HEADERS)]
    assert client.get(f"{ADMIN}/{mine}", headers=other_admin).status_code == 404

    # Their ids in my filters match nothing of mine.
    other_type = make.order_type(other)
    other_community = make.community(other)
    other_tech = make.staff(other)
    assert ids(board(client, desk)) == {mine}
    for query in (
        {"order_type_id": other_type.id},
        {"subtype_id": make.subtype(other_type).id},
        {"community_id": other_community.id},
        {"building_id": make.building(other_community).id},
        {"assignee_id": other_tech.id},
    ):
        assert ids(board(client, desk, **query)) == set(), query


def test_roles(client, world):
    world.file(client)
    for who in (world.techs[0], world.tenant):
        r = client.get(ADMIN, headers=world.headers(who))
        assert r.status_code == 403 and r.json["error"] == "forbidden"
        r = client.get(ADMIN, query_string={"format": "csv"}, headers=world.headers(who))
        assert r.status_code == 403
    r = client.get(ADMIN)
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    assert client.get(ADMIN, query_string={"format": "xlsx"}).status_code == 401
    assert client.get(ADMIN, headers=world.headers(world.dispatcher)).status_code == 200


# Export ------------------------------------------------------------------------------------


def read_csv(response):
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    body = response.data[3:].decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


def read_xlsx(response):
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return sheet, rows


@pytest.fixture
def exported(client, world, db_session):
    """An unpaid order with a fee, an overdue urgent one, and a closed one with known times."""
    tech = world.techs[0]
    unpaid = world.file(client, subtype_id=world.paid_subtype.id)
    pending = world.file(client, priority="urgent", contact_phone="13912345678")
    finished = world.file(client, contact_name="赵六")
    post(client, world, world.dispatcher, f"{ADMIN}/{finished['id']}/assign", {"staff_id": tech.id})
    post(client, world, tech, f"{TECH}/{finished['id']}/accept")
    post(client, world, tech, f"{TECH}/{finished['id']}/complete", {"result": "换了阀门"})
    post(client, world, world.tenant, f"{TENANT}/{finished['id']}/rating", {"score": 2})
    set_column(db_session, finished["id"], "created_at", datetime(2026, 3, 1, 1, 30, tzinfo=UTC))
    set_column(db_session, finished["id"], "assigned_at", datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    set_column(db_session, finished["id"], "completed_at", datetime(2026, 3, 1, 16, 5, tzinfo=UTC))
    set_column(db_session, pending["id"], "due_at", datetime.now(UTC) - timedelta(minutes=1))
    return {"unpaid": unpaid, "pending": pending, "finished": finished, "tech": tech}


def test_csv_export_contents(client, world, desk, exported):
    r = board(client, desk, format="csv", page_size=1)
    assert r.content_type == "text/csv; charset=utf-8"
    disposition = r.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="orders-\d{8}-\d{4}\.csv"', disposition)
    stamp = datetime.now(UTC).astimezone(LOCAL_TZ).strftime("%Y%m%d")
    assert stamp in disposition
    assert r.headers["X-Total-Count"] == "3" and r.headers["X-Export-Truncated"] == "false"

    rows = read_csv(r)
    assert list(rows[0].keys()) == list(HEADERS)
    assert len(rows) == 3  # every match, not a page
    by_number = {row["工单号"]: row for row in rows}

    finished = by_number[exported["finished"]["number"]]
    tech_name = exported["tech"].user.name
    assert finished == {
        "工单号": exported["finished"]["number"],
        "状态": "已关闭",
        "紧急程度": "普通",
        "类型": "水电维修",
        "子类": "水管漏水",
        "小区": "阳光花园",
        "楼栋": "1栋",
        "房间": "101",
        "报修内容": "厨房水管漏水",
        "联系人": "赵六",
        "联系电话": "138****0001",
        "处理师傅": tech_name,
        "创建时间": "2026-03-01 09:30",
        "派单时间": "2026-03-01 10:00",
        "办结时间": "2026-03-02 00:05",
        "处理结果": "换了阀门",
        "超时": "否",
        "评分": "2",
        "需回访": "是",
        "重开次数": "0",
        "应付金额（元）": "0.00",
        "服务规格": "",
        "费用明细": "",
        "费用合计（元）": "0.00",
    }
    unpaid = by_number[exported["unpaid"]["number"]]
    assert unpaid["状态"] == "待支付" and unpaid["子类"] == "换锁"
    assert unpaid["应付金额（元）"] == "50.00"
    assert unpaid["处理师傅"] == "" and unpaid["派单时间"] == "" and unpaid["评分"] == ""
    pending = by_number[exported["pending"]["number"]]
    assert pending["联系电话"] == "139****5678"
    assert (pending["状态"], pending["紧急程度"], pending["超时"]) == ("待接单", "紧急", "是")
    # Nobody's full phone number leaves in an export.
    assert "13800000001" not in r.data.decode("utf-8-sig")
    assert "13912345678" not in r.data.decode("utf-8-sig")


def test_xlsx_export_contents(client, world, desk, exported):
    r = board(client, desk, format="xlsx")
    assert r.mimetype == XLSX
    disposition = r.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="orders-\d{8}-\d{4}\.xlsx"', disposition)

    sheet, rows = read_xlsx(r)
    assert rows[0] == list(HEADERS)
    assert sheet["A1"].font.b
    assert sheet.column_dimensions["I"].width >= 30  # 报修内容 is wide
    assert len(rows) == 4
    by_number = {row[0]: dict(zip(HEADERS, row, strict=True)) for row in rows[1:]}
    finished = by_number[exported["finished"]["number"]]
    assert finished["状态"] == "已关闭"
    assert finished["联系电话"] == "138****0001"
    assert finished["创建时间"] == datetime(2026, 3, 1, 9, 30)  # a real date, local time
    assert finished["办结时间"] == datetime(2026, 3, 2, 0, 5)
    assert finished["处理结果"] == "换了阀门"
    assert finished["评分"] == 2 and finished["需回访"] == "是" and finished["重开次数"] == 0
    assert finished["应付金额（元）"] == 0
    unpaid = by_number[exported["unpaid"]["number"]]
    assert unpaid["应付金额（元）"] == 50
    assert unpaid["处理师傅"] is None and unpaid["派单时间"] is None
    amount_column = HEADERS.index("应付金额（元）") + 1
    assert sheet.cell(row=2, column=amount_column).number_format == "0.00"


def test_export_respects_filters(client, world, desk, exported):
    rows = read_csv(board(client, desk, format="csv", status="awaiting_payment"))
    assert [row["工单号"] for row in rows] == [exported["unpaid"]["number"]]
    rows = read_csv(board(client, desk, format="csv", overdue="true"))
    assert [row["工单号"] for row in rows] == [exported["pending"]["number"]]
    r = board(client, desk, format="xlsx", assignee_id=exported["tech"].id)
    _, xrows = read_xlsx(r)
    assert [row[0] for row in xrows[1:]] == [exported["finished"]["number"]]
    r = board(client, desk, format="csv", status="cancelled")
    assert read_csv(r) == [] and r.headers["X-Total-Count"] == "0"


def test_export_escapes_formulas(client, world, desk):
    world.file(client, description='=HYPERLINK("http://evil","点我")', contact_name="@SUM(1)")
    world.file(client, description="+86 打不通", contact_name="-李")
    world.file(client, description="正常描述")
    rows = read_csv(board(client, desk, format="csv"))
    described = {row["报修内容"]: row["联系人"] for row in rows}
    assert described == {
        '\'=HYPERLINK("http://evil","点我")': "'@SUM(1)",
        "'+86 打不通": "'-李",
        "正常描述": "张三",
    }
    # In XLSX every text is a typed string cell: shown as written, never evaluated.
    sheet, xrows = read_xlsx(board(client, desk, format="xlsx"))
    column = HEADERS.index("报修内容")
    assert {row[column] for row in xrows[1:]} == {
        '=HYPERLINK("http://evil","点我")',
        "+86 打不通",
        "正常描述",
    }
    for cells in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in cells)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_is_capped_and_says_so(client, world, desk, monkeypatch, fmt):
    from server.orders import export as order_export

    filed = [world.file(client)["number"] for _ in range(3)]
    monkeypatch.setattr(order_export, "MAX_EXPORT_ROWS", 2)
    r = board(client, desk, format=fmt)
    assert r.headers["X-Total-Count"] == "3" and r.headers["X-Export-Truncated"] == "true"
    if fmt == "csv":
        numbers = [row["工单号"] for row in read_csv(r)]
    else:
        numbers = [row[0] for row in read_xlsx(r)[1][1:]]
    assert numbers == filed[::-1][:2]  # the newest


def test_export_is_documented(client):
    spec = client.get("/openapi.json").json
    content = spec["paths"]["/api/v1/admin/orders"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv", XLSX} <= set(content)


def test_the_total_is_exact_up_to_the_count_limit_then_estimated(client, world, desk, monkeypatch):
    from server.orders import lists

    filed = [world.file(client)["id"] for _ in range(4)]
    first = board(client, desk, page_size=2)
    assert first.json["total"] == 4 and first.json["total_exact"] is True
    assert {o["id"] for o in first.json["items"]} <= set(filed)

    monkeypatch.setattr(lists, "DESK_COUNT_LIMIT", 3)
    capped = board(client, desk, page_size=2).json
    # Past the limit the total is the planner's estimate, never below what was counted.
    assert capped["total_exact"] is False and capped["total"] >= 4
    assert len(capped["items"]) == 2
    # Paging itself stays exact: the pages still hold every order once.
    pages = [board(client, desk, page_size=2, page=p).json["items"] for p in (1, 2, 3)]
    assert sorted(o["id"] for page in pages for o in page) == sorted(filed)
    # A filter that matches fewer orders than the limit is counted exactly again.
    narrow = board(client, desk, q=world_number(client, desk, filed[0])).json
    assert narrow["total"] == 1 and narrow["total_exact"] is True


def world_number(client, desk, order_id):
    return client.get(f"{ADMIN}/{order_id}", headers=desk).json["number"]
