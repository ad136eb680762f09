"""Batch import written batch by batch (COPY into a temporary table, one INSERT … SELECT per
batch) inside one transaction: a bad row anywhere, even inside a batch that is otherwise good
or after batches already written, leaves nothing behind; each new customer gets its own self
contact from the batch that wrote it."""

from __future__ import annotations

from sqlalchemy import func, select

from server.directory.models import Building, Community, Contact, Customer, Room, Unit
from tests.imports.helpers import IMPORTS, csv_bytes, import_file, xlsx_bytes

ID_1 = "110101199003071233"
ID_2 = "11010519491231002X"


def _count(db_session, model, org):
    return db_session.scalar(select(func.count()).select_from(model).where(model.org_id == org.id))


def _room(code, unit="1单元", floor=1):
    return ["YG", "1栋", unit, code, floor, "88.50", None, None, None, "住宅", None, None]


def _sheets():
    return {
        "communities": [["YG", "阳光花园", ""]],
        "buildings": [["YG", "1栋", 18]],
        "units": [["YG", "1栋", "1单元"]],
        # Rows 2–8, in batches of three: [2 3 4] [5 6 7] [8].
        "rooms": [_room(f"1-1-{n:03d}") for n in range(1, 8)],
        "customers": [
            ["个人", f"业主{n}", None, None, f"1380013800{n}", None, None, None] for n in range(7)
        ],
    }


def test_a_bad_row_inside_a_batch_of_a_real_run_writes_nothing(
    client, app, admin_headers, db_session, org
):
    sheets = _sheets()
    sheets["rooms"][3] = _room("1-1-004", unit="9单元")  # row 5: first of the second batch
    sheets["customers"][4][4] = "1380013800"  # row 6: inside the second batch, after good rows
    job = import_file(
        client,
        app,
        admin_headers,
        kind="workbook",
        data=xlsx_bytes(sheets),
        name="batches.xlsx",
        batch_rows=3,
    )
    assert job["status"] == "rejected", job
    assert job["message"] == "共 2 行有误，未导入任何数据"
    assert {(e["sheet"], e["row"], e["column"]) for e in job["errors"]} == {
        ("房间", 5, "单元"),
        ("客户", 6, "手机号"),
    }
    # The good rows around them were checked and written batch by batch, then undone.
    assert job["counts"]["rooms"] == {"created": 6, "updated": 0, "unchanged": 0}
    assert job["counts"]["customers"] == {"created": 6, "updated": 0, "unchanged": 0}
    assert job["rows_done"] == 1 + 1 + 1 + 7 + 7
    for model in (Community, Building, Unit, Room, Customer, Contact):
        assert _count(db_session, model, org) == 0, model
    # The same file fixed goes in whole, across its batches.
    fixed = _sheets()
    job = import_file(
        client,
        app,
        admin_headers,
        kind="workbook",
        data=xlsx_bytes(fixed),
        name="batches.xlsx",
        batch_rows=3,
    )
    assert job["status"] == "done", job["errors"]
    assert job["counts"]["rooms"] == {"created": 7, "updated": 0, "unchanged": 0}
    assert _count(db_session, Room, org) == 7
    assert _count(db_session, Customer, org) == 7
    contacts = db_session.execute(
        select(Customer.phone, Contact.phone, Contact.relation)
        .join(Contact, Contact.customer_id == Customer.id)
        .where(Customer.org_id == org.id)
    ).all()
    assert sorted(contacts) == sorted((p, p, "self") for *_, p, _, _, _ in fixed["customers"])


def test_a_changed_row_in_a_later_batch_is_an_update(client, app, admin_headers, db_session, org):
    sheets = _sheets()
    job = import_file(
        client, app, admin_headers, kind="workbook", data=xlsx_bytes(sheets), name="a.xlsx"
    )
    assert job["status"] == "done", job["errors"]
    sheets["customers"][5][1] = "改名"
    sheets["rooms"][6][4] = 9
    customers = import_file(
        client,
        app,
        admin_headers,
        kind="customers",
        data=csv_bytes("customers", sheets["customers"]),
        batch_rows=2,
    )
    assert customers["counts"]["customers"] == {"created": 0, "updated": 1, "unchanged": 6}
    rooms = import_file(
        client,
        app,
        admin_headers,
        kind="rooms",
        data=csv_bytes("rooms", sheets["rooms"]),
        batch_rows=2,
    )
    assert rooms["counts"]["rooms"] == {"created": 0, "updated": 1, "unchanged": 6}
    db_session.expire_all()
    floor = select(Room.floor).where(Room.org_id == org.id, Room.code == "1-1-007")
    assert db_session.scalar(floor) == 9
    name = select(Customer.name).where(Customer.org_id == org.id, Customer.phone == "13800138005")
    assert db_session.scalar(name) == "改名"
    assert _count(db_session, Customer, org) == 7
    assert _count(db_session, Contact, org) == 7


def test_new_customers_sharing_a_phone_each_get_their_own_self_contact(
    client, app, admin_headers, db_session, org
):
    rows = [
        ["个人", "张三", "身份证", ID_1, "13800138000", None, None, None],
        ["个人", "张三家", None, None, "13800138000", None, None, None],  # found by phone
        ["个人", "王五", "身份证", ID_2, "13900139000", None, None, None],
    ]
    job = import_file(
        client, app, admin_headers, kind="customers", data=csv_bytes("customers", rows)
    )
    assert job["status"] == "done", job["errors"]
    found = db_session.execute(
        select(Customer.name, Contact.name, Contact.phone, Contact.relation)
        .join(Contact, Contact.customer_id == Customer.id)
        .where(Customer.org_id == org.id)
        .order_by(Customer.id)
    ).all()
    assert found == [
        ("张三", "张三", "13800138000", "self"),
        ("张三家", "张三家", "13800138000", "self"),
        ("王五", "王五", "13900139000", "self"),
    ]
    listed = client.get(f"{IMPORTS}/{job['id']}", headers=admin_headers).json
    assert listed["counts"]["customers"] == {"created": 3, "updated": 0, "unchanged": 0}


def test_text_with_tabs_newlines_and_backslashes_is_written_as_given(
    client, app, admin_headers, db_session, org
):
    remark = '第一行\n第二行\t制表\\N 反斜杠 "引号", 逗号'
    rows = [["个人", "张三", None, None, "13800138000", "李\\四", None, remark]]
    job = import_file(
        client,
        app,
        admin_headers,
        kind="customers",
        data=xlsx_bytes({"customers": rows}),
        name="c.xlsx",
    )
    assert job["status"] == "done", job["errors"]
    found = db_session.execute(
        select(Customer.remark, Customer.emergency_name).where(Customer.org_id == org.id)
    ).one()
    assert tuple(found) == (remark, "李\\四")
