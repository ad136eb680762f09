"""Batch import (批量导入) through the real HTTP API on PostgreSQL: templates, every rejection
reason, all-or-nothing, idempotent re-upload, GBK CSV, progress, organisation isolation."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.directory.models import Contact, Customer, CustomerRoom, Room
from tests.imports.helpers import IMPORTS, csv_bytes, import_file, upload, xlsx_bytes

TEMPLATES = f"{IMPORTS}/templates"
ID_1 = "110101199003071233"  # valid checksum
ID_2 = "11010519491231002X"  # valid checksum, X check character


def tree(code="YG"):
    return {
        "communities": [[code, "阳光花园", "文三路 1 号"]],
        "buildings": [[code, "1栋", 18], [code, "2栋", None]],
        "units": [[code, "1栋", "1单元"], [code, "1栋", "2单元"]],
        "rooms": [
            [
                code,
                "1栋",
                "1单元",
                "1-1-101",
                1,
                "88.50",
                "86.00",
                "三室两厅",
                "南北",
                "住宅",
                "2024-06-30",
                "2024-08-01",
            ],
            [code, "1栋", "2单元", "1-2-101", 1, 120, None, "", "南", "商铺", None, None],
            [code, "2栋", None, "2-0-101", -1, None, None, None, None, "车位", None, None],
        ],
    }


def people():
    return {
        "customers": [
            ["个人", "张三", "身份证", ID_1, "13800138000", "李四", "0571-88886666", "老业主"],
            ["个人", "王五", None, ID_2, "+86 139 0013 9000", None, None, None],
            [
                "企业",
                "杭州物业有限公司",
                "统一社会信用代码",
                "91330100MA2AXXXX1Y",
                "13700137000",
                None,
                None,
                None,
            ],
        ],
        "contacts": [[ID_1, None, "张小三", "13600136000", "家属"]],
        "customer_rooms": [
            [ID_1, None, "YG", "1-1-101", "业主", "2024-08-01", None],
            [None, "13900139000", "YG", "1-2-101", "租户", "2025-01-01", "2025-12-31"],
        ],
    }


def count(db_session, model, org):
    return db_session.scalar(select(func.count()).select_from(model).where(model.org_id == org.id))


def test_templates_download_fill_and_import(client, app, admin_headers, db_session, org):
    for kind in (
        "communities",
        "buildings",
        "units",
        "rooms",
        "customers",
        "contacts",
        "customer_rooms",
        "parking_spaces",
        "space_holdings",
        "vehicles",
    ):
        r = client.get(f"{TEMPLATES}/{kind}.csv", headers=admin_headers)
        assert r.status_code == 200 and r.mimetype == "text/csv"
        lines = r.data.decode("utf-8-sig").splitlines()
        assert len(lines) == 2 and "*" in lines[0]  # Chinese headers (required ones starred)
    r = client.get(f"{TEMPLATES}/workbook.xlsx", headers=admin_headers)
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="workbook.xlsx"'
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == [
        "小区",
        "楼栋",
        "单元",
        "房间",
        "客户",
        "联系人",
        "客户房屋关系",
        "车位",
        "车位关系",
        "车辆",
    ]
    # Fill in: keep the example row, add a second room.
    rooms = book["房间"]
    rooms.append(["YGHY", "1栋", "1单元", "1-1-102", 1, "90", None, "两室", "东", "住宅"])
    out = io.BytesIO()
    book.save(out)
    job = import_file(
        client, app, admin_headers, kind="workbook", data=out.getvalue(), name="onboard.xlsx"
    )
    assert job["status"] == "done", job
    assert job["error_count"] == 0 and job["errors"] == []
    assert job["counts"]["rooms"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert job["counts"]["customer_rooms"]["created"] == 1
    for kind in ("parking_spaces", "space_holdings", "vehicles"):
        assert job["counts"][kind] == {"created": 1, "updated": 0, "unchanged": 0}, kind
    listed = client.get("/api/v1/admin/rooms", headers=admin_headers).json
    assert {room["code"] for room in listed["items"]} == {"1-1-101", "1-1-102"}
    room = db_session.scalars(
        select(Room).where(Room.org_id == org.id, Room.code == "1-1-101")
    ).one()
    assert str(room.building_area) == "88.50" and room.orientation == "north_south"
    assert room.use == "residence" and room.delivered_on == date(2024, 6, 30)
    assert room.moved_in_on == date(2024, 8, 1)
    customer = db_session.scalars(select(Customer).where(Customer.org_id == org.id)).one()
    assert customer.id_number == ID_1 and customer.id_type == "id_card"
    assert customer.emergency_name == "李四" and customer.emergency_phone == "13900139000"
    # The person is their own contact (they can log in) besides the family member.
    phones = set(
        db_session.scalars(select(Contact.phone).where(Contact.customer_id == customer.id))
    )
    assert phones == {"13800138000", "13700137000"}


def _errors(job):
    return {(e["sheet"], e["row"], e["column"], e["message"]) for e in job["errors"]}


def test_a_dry_run_reports_every_bad_row_and_writes_nothing(
    client, app, admin_headers, db_session, org
):
    sheets = tree()
    sheets["rooms"] += [
        ["YG", "1栋", "1单元", "1-1-101", 2, None, None, None, None, None, None, None],  # dup
        ["YG", "9栋", None, "9-101", 1, None, None, None, None, None, None, None],
        ["XX", "1栋", None, "X-1", 1, None, None, None, None, None, None, None],
        ["YG", "1栋", "9单元", "1-9-101", 1, None, None, None, None, None, None, None],
        ["YG", "1栋", None, "1-0-1", "一楼", "-5", None, None, "上", "别墅", "2024-13-01", None],
        ["YG", "1栋", None, None, 1, None, None, None, None, None, None, None],
    ]
    sheets.update(people())
    sheets["customers"] += [
        ["个人", "赵六", "身份证", "110101199003071234", "13500135000", None, None, None],
        ["个人", "钱七", None, None, "1350013500", None, "12345", None],
        ["企业", "某公司", "护照", "91330100MA2AXXXX1Y", "13400134000", None, None, None],
        ["个人", "张三丰", None, ID_1, "13300133000", None, None, None],
    ]
    sheets["customer_rooms"] += [
        [ID_1, None, "YG", "1-1-101", "业主", "2025-01-01", None],  # overlaps the open one
        [ID_1, None, "YG", "1-1-999", "业主", "2025-01-01", None],
        ["110101199001010000", None, "YG", "1-1-101", "住户", "2025-01-01", None],
        [None, None, "YG", "1-1-101", "住户", "2025-01-01", None],
        [ID_2, None, "YG", "1-2-101", "住户", "2025-03-01", "2025-02-01"],
    ]
    data = xlsx_bytes(sheets)
    job = import_file(
        client, app, admin_headers, kind="workbook", data=data, name="bad.xlsx", dry_run=True
    )
    assert job["status"] == "done" and job["dry_run"] is True
    errors = _errors(job)
    expected = {
        ("房间", 5, "房间编码", "与第 2 行重复"),
        ("房间", 6, "楼栋", "楼栋不存在（请先导入楼栋）"),
        ("房间", 7, "小区编码", "小区编码不存在"),
        ("房间", 8, "单元", "单元不存在（请先导入单元）"),
        ("房间", 9, "楼层", "应为整数"),
        ("房间", 9, "建筑面积", "应为大于 0 的数字，最多两位小数"),
        ("房间", 9, "朝向", "应为以下之一：东、南、西、北、东南、西南、东北、西北、南北、东西"),
        ("房间", 9, "用途", "应为以下之一：住宅、商铺、车位、车库"),
        ("房间", 9, "交付日期", "日期格式应为 YYYY-MM-DD"),
        ("房间", 10, "房间编码", "必填"),
        ("客户", 5, "证件号码", "身份证号校验位不正确"),
        ("客户", 6, "手机号", "手机号格式不正确（应为 11 位中国大陆手机号）"),
        ("客户", 6, "紧急联系电话", "电话格式不正确"),
        ("客户", 7, "证件类型", "企业客户的证件类型应为统一社会信用代码"),
        ("客户", 8, "证件号码", "与第 2 行重复"),
        ("客户房屋关系", 4, "开始日期", "与该客户在此房间的业主关系日期重叠（2024-08-01 起）"),
        ("客户房屋关系", 5, "房间编码", "房间不存在"),
        ("客户房屋关系", 6, "客户证件号码", "客户不存在（按证件号码或手机号查找）"),
        ("客户房屋关系", 7, "客户证件号码", "证件号码与手机号至少填写一个"),
        ("客户房屋关系", 8, "结束日期", "结束日期不能早于开始日期"),
    }
    assert expected <= errors, expected - errors
    assert job["error_count"] == len(errors) == len(expected)
    # What a real run would have written is reported, but nothing is.
    assert job["counts"]["rooms"]["created"] == 3
    for model in (Room, Customer, CustomerRoom):
        assert count(db_session, model, org) == 0
    r = client.get("/api/v1/admin/communities", headers=admin_headers)
    assert r.json["total"] == 0


def test_a_real_run_is_all_or_nothing(client, app, admin_headers, db_session, org):
    sheets = tree()
    sheets["rooms"].append(
        ["YG", "3栋", None, "3-101", 1, None, None, None, None, None, None, None]
    )
    job = import_file(
        client, app, admin_headers, kind="workbook", data=xlsx_bytes(sheets), name="x.xlsx"
    )
    assert job["status"] == "rejected"
    assert job["message"] == "共 1 行有误，未导入任何数据"
    assert _errors(job) == {("房间", 5, "楼栋", "楼栋不存在（请先导入楼栋）")}
    assert client.get("/api/v1/admin/communities", headers=admin_headers).json["total"] == 0
    assert count(db_session, Room, org) == 0
    # Fixed, the same file goes in whole.
    sheets["rooms"].pop()
    job = import_file(
        client, app, admin_headers, kind="workbook", data=xlsx_bytes(sheets), name="x.xlsx"
    )
    assert job["status"] == "done" and job["message"] == "导入完成"
    assert count(db_session, Room, org) == 3


def test_the_same_file_twice_changes_nothing_the_second_time(
    client, app, admin_headers, db_session, org
):
    sheets = {**tree(), **people()}
    data = xlsx_bytes(sheets)
    first = import_file(client, app, admin_headers, kind="workbook", data=data, name="a.xlsx")
    assert first["status"] == "done", first["errors"]
    assert first["counts"]["customers"] == {"created": 3, "updated": 0, "unchanged": 0}
    stamps = dict(db_session.execute(select(Room.code, Room.updated_at)).all())
    before = {m: count(db_session, m, org) for m in (Room, Customer, Contact, CustomerRoom)}
    second = import_file(client, app, admin_headers, kind="workbook", data=data, name="a.xlsx")
    assert second["status"] == "done" and second["duplicate_of_id"] == first["id"]
    assert "未做任何修改" in second["message"]
    # Another file with the same rows (re-saved, so other bytes): every row unchanged.
    third = import_file(
        client, app, admin_headers, kind="rooms", data=csv_bytes("rooms", sheets["rooms"])
    )
    assert third["status"] == "done" and third["duplicate_of_id"] is None
    assert third["counts"] == {"rooms": {"created": 0, "updated": 0, "unchanged": 3}}
    customers = import_file(
        client,
        app,
        admin_headers,
        kind="customers",
        data=csv_bytes("customers", sheets["customers"]),
    )
    assert customers["counts"]["customers"] == {"created": 0, "updated": 0, "unchanged": 3}
    relations = import_file(
        client,
        app,
        admin_headers,
        kind="customer_rooms",
        data=csv_bytes("customer_rooms", sheets["customer_rooms"]),
    )
    assert relations["counts"]["customer_rooms"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert {m: count(db_session, m, org) for m in before} == before
    db_session.expire_all()
    assert dict(db_session.execute(select(Room.code, Room.updated_at)).all()) == stamps
    # A changed row is an update (by its natural key), not a second room.
    sheets["rooms"][0][5] = "89.00"
    changed = import_file(
        client, app, admin_headers, kind="rooms", data=csv_bytes("rooms", sheets["rooms"])
    )
    assert changed["counts"]["rooms"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert count(db_session, Room, org) == 3


def test_gbk_csv_is_read(client, app, admin_headers, db_session, org):
    data = csv_bytes("communities", [["YG", "阳光花园", "西湖区文三路"]], encoding="gbk")
    with_bom = csv_bytes("communities", [["HT", "海棠苑", ""]], encoding="utf-8-sig")
    plain = csv_bytes("communities", [["LH", "莲花小区", ""]], encoding="utf-8")
    for body in (data, with_bom, plain):
        job = import_file(client, app, admin_headers, kind="communities", data=body)
        assert job["status"] == "done", job["errors"]
    names = {
        c["code"]: c["name"]
        for c in client.get("/api/v1/admin/communities", headers=admin_headers).json["items"]
    }
    assert names == {"YG": "阳光花园", "HT": "海棠苑", "LH": "莲花小区"}


def test_progress_is_readable_while_the_job_runs(client, app, admin_headers):
    rooms = [
        ["YG", "1栋", None, f"1-{n}", 1, None, None, None, None, None, None, None]
        for n in range(10)
    ]
    sheets = {
        "communities": [["YG", "阳光花园", ""]],
        "buildings": [["YG", "1栋", 18]],
        "rooms": rooms,
    }
    seen = []

    def look(_done):
        job = client.get(f"{IMPORTS}/{job_id}", headers=admin_headers).json
        seen.append((job["status"], job["rows_done"], job["rows_total"]))

    r = upload(client, admin_headers, kind="workbook", data=xlsx_bytes(sheets), name="p.xlsx")
    job_id = r.json["id"]
    assert r.json["status"] == "queued" and r.json["rows_done"] == 0
    from server.imports import loading
    from tests.imports.helpers import run_job

    original = loading.PROGRESS_EVERY
    loading.PROGRESS_EVERY = 0
    try:
        run_job(app, job_id, batch_rows=3, on_batch=look)
    finally:
        loading.PROGRESS_EVERY = original
    assert all(status == "running" and total == 12 for status, _, total in seen)
    assert [done for _, done, _ in seen] == [1, 2, 5, 8, 11, 12]
    job = client.get(f"{IMPORTS}/{job_id}", headers=admin_headers).json
    assert (job["status"], job["rows_done"], job["rows_total"]) == ("done", 12, 12)


def test_organisations_are_isolated(client, app, make, admin_headers, org):
    other = make.org()
    other_headers = make.headers(make.admin(other))
    make.community(other, code="THEIRS")
    data = csv_bytes("buildings", [["THEIRS", "1栋", 3]])
    job = import_file(client, app, admin_headers, kind="buildings", data=data)
    assert job["status"] == "rejected"
    assert _errors(job) == {("楼栋", 2, "小区编码", "小区编码不存在")}
    r = client.get(f"{IMPORTS}/{job['id']}", headers=other_headers)
    assert r.status_code == 404 and r.json["error"] == "not_found"
    assert client.get(IMPORTS, headers=other_headers).json["total"] == 0
    assert client.get(IMPORTS, headers=admin_headers).json["total"] == 1


def test_only_admins_import(client, make, org):
    desk = make.headers(make.dispatcher(org))
    r = upload(client, desk, kind="rooms", data=csv_bytes("rooms", []))
    assert r.status_code == 403
    assert client.get(f"{TEMPLATES}/rooms.csv", headers=desk).status_code == 403
    assert client.get("/api/v1/admin/exports/customers", headers=desk).status_code == 403


def test_refused_uploads(client, app, admin_headers, settings):
    folder = settings.upload_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.iterdir())
    r = upload(client, admin_headers, kind="rooms", data=b"")
    assert r.status_code == 422 and r.json["error"] == "import_file_rejected"
    r = upload(client, admin_headers, kind="workbook", data=csv_bytes("rooms", []))
    assert r.status_code == 422 and r.json["errors"]["kind"]
    # Nothing of the refused files is left on disk.
    assert set(folder.iterdir()) == before
    job = import_file(
        client, app, admin_headers, kind="rooms", data=b"PK\x03\x04garbage", name="x.xlsx"
    )
    assert job["status"] == "failed" and "XLSX" in job["message"]
    job = import_file(
        client, app, admin_headers, kind="rooms", data="小区编码,楼栋,面积\n".encode()
    )
    assert job["status"] == "rejected"
    assert job["errors"][0]["message"] == "缺少必需的列：房间编码*、楼层*"
    assert job["errors"][1]["message"] == "无法识别的表头：面积"


def test_idempotency_key_answers_the_first_job(client, admin_headers):
    data = csv_bytes("communities", [["YG", "阳光花园", ""]])
    first = upload(client, admin_headers, kind="communities", data=data, key="k-1")
    again = upload(client, admin_headers, kind="communities", data=data, key="k-1")
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == first.json["id"]
    other = upload(client, admin_headers, kind="communities", data=data + b"\r\n", key="k-1")
    assert other.status_code == 409 and other.json["error"] == "idempotency_conflict"
    assert client.get(IMPORTS, headers=admin_headers).json["total"] == 1


def test_exports_mask_personal_data(client, app, admin_headers):
    sheets = {**tree(), **people()}
    job = import_file(
        client, app, admin_headers, kind="workbook", data=xlsx_bytes(sheets), name="a.xlsx"
    )
    assert job["status"] == "done"
    r = client.get("/api/v1/admin/exports/customers", headers=admin_headers)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    text = r.data.decode("utf-8-sig")
    assert "138****8000" in text and "1101**********1233" in text
    assert "13800138000" not in text and ID_1 not in text
    assert text.splitlines()[0].startswith("客户类型*,客户名称*")
    r = client.get(
        "/api/v1/admin/exports/rooms", query_string={"format": "xlsx"}, headers=admin_headers
    )
    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    assert len(rows) == 4 and rows[1][3] == "1-1-101" and rows[1][8] == "南北"
    r = client.get("/api/v1/admin/exports/customer_rooms", headers=admin_headers)
    body = r.data.decode("utf-8-sig")
    assert "业主" in body and ID_1 not in body and "139****9000" in body


def test_unmasked_exports_need_the_permission_and_are_logged(
    client, app, make, org, admin_headers, db_session
):
    sheets = {**tree(), **people()}
    job = import_file(
        client, app, admin_headers, kind="workbook", data=xlsx_bytes(sheets), name="a.xlsx"
    )
    assert job["status"] == "done"
    # The admin preset holds personal_data.view: whole phones and ID numbers, re-importable.
    for fmt in ("csv", "xlsx"):
        r = client.get(
            "/api/v1/admin/exports/customers",
            query_string={"format": fmt, "unmasked": "true"},
            headers=admin_headers,
        )
        assert r.status_code == 200
        r.get_data()  # the CSV streams: read it whole before the next request
    r = client.get(
        "/api/v1/admin/exports/customers", query_string={"unmasked": "true"}, headers=admin_headers
    )
    text = r.data.decode("utf-8-sig")
    assert "13800138000" in text and ID_1 in text and "138****8000" not in text
    again = import_file(
        client, app, admin_headers, kind="customers", data=r.data, name="customers.csv"
    )
    assert again["status"] == "done" and again["error_count"] == 0, again
    # A role with imports but without personal_data.view: masked yes, whole no (403).
    role = client.post(
        "/api/v1/admin/roles",
        json={"name": "导入专员", "permissions": ["imports.act"]},
        headers=admin_headers,
    ).json
    clerk = make.staff(org, roles=())
    client.put(
        f"/api/v1/admin/staff/{clerk.id}/roles",
        json={"role_ids": [role["id"]]},
        headers=admin_headers,
    )
    headers = make.headers(clerk.user)
    masked = client.get("/api/v1/admin/exports/customers", headers=headers)
    assert masked.status_code == 200 and "138****8000" in masked.get_data().decode("utf-8-sig")
    for fmt in ("csv", "xlsx"):
        refused = client.get(
            "/api/v1/admin/exports/customers",
            query_string={"format": fmt, "unmasked": "true"},
            headers=headers,
        )
        assert refused.status_code == 403 and refused.json["error"] == "forbidden"
    logged = db_session.scalars(
        select(AuditEntry.data).where(AuditEntry.org_id == org.id, AuditEntry.kind == "export")
    ).all()
    assert sum(1 for d in logged if d.get("unmasked") is True) == 3, logged
    assert sum(1 for d in logged if d.get("unmasked") is False) == 1
