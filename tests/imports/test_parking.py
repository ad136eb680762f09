"""Batch import of parking (车位, 车位关系, 车辆) through the real HTTP API: every rejection
reason, the rows written, idempotent re-upload, a renewed rental, masked exports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, update

from server.parking.models import ParkingSpace, SpaceHolding, Vehicle
from tests.imports.helpers import csv_bytes, import_file, xlsx_bytes

ID_1 = "110101199003071233"
ID_2 = "11010519491231002X"


def _count(db_session, model, org):
    return db_session.scalar(select(func.count()).select_from(model).where(model.org_id == org.id))


def _errors(job):
    return {(e["sheet"], e["row"], e["column"], e["message"]) for e in job["errors"]}


def _base():
    return {
        "communities": [["YG", "阳光花园", ""]],
        "customers": [
            ["个人", "张三", "身份证", ID_1, "13800138000", None, None, None],
            ["个人", "王五", None, ID_2, "13900139000", None, None, None],
            ["个人", "赵六", None, None, "13700137000", None, None, None],
        ],
        "parking_spaces": [
            ["YG", "b2-015", "地下二层 B 区", "地下", "1 栋电梯口旁", None, None],
            ["YG", "B2-016", None, "地下", None, "正常", None],
            ["YG", "G-001", None, "地上", None, "停用", "维修中"],
        ],
        "space_holdings": [
            [ID_1, None, "YG", "B2-015", "产权", "2024-08-01", None, None, None],
            [None, "13700137000", "YG", "B2-016", "租用", "2025-01-01", "2025-12-31", "ZY-1", 15],
        ],
        "vehicles": [
            ["浙a·12345", ID_1, None, "比亚迪 汉", "白色", "YG", "B2-015", None],
            ["浙AD12345", None, "13700137000", None, None, None, None, "新能源"],
        ],
    }


def test_a_dry_run_reports_every_bad_parking_row(client, app, admin_headers, db_session, org):
    sheets = _base()
    sheets["parking_spaces"] += [
        ["YG", "B2-015", None, "地下", None, None, None],  # row 5: duplicate number
        ["YG", "B2-017", None, "屋顶", None, None, None],  # row 6: unknown kind
    ]
    sheets["space_holdings"] += [
        [ID_2, None, "YG", "B2-015", "租用", "2025-01-01", "2025-06-30", None, None],  # taken
        [ID_2, None, "YG", "B2-099", "产权", "2025-01-01", None, None, None],  # no such space
        [ID_2, None, "YG", "G-001", "产权", "2025-01-01", None, None, None],  # disabled
        [ID_2, None, "YG", "B2-016", "租用", "2026-01-01", None, None, None],  # no contract end
        [ID_2, None, "YG", "B2-016", "租用", "2025-06-01", "2026-05-31", None, None],  # overlaps
    ]
    sheets["vehicles"] += [
        ["浙A1234", ID_2, None, None, None, None, None, None],  # row 4: bad plate
        ["浙A12345", ID_2, None, None, None, None, None, None],  # row 5: duplicate plate
        ["浙B12345", ID_2, None, None, None, None, "B2-016", None],  # row 6: space, no community
        ["浙C12345", ID_2, None, None, None, "YG", "B9-999", None],  # row 7: no such space
        ["浙D12345", None, "13600136000", None, None, None, None, None],  # row 8: no customer
    ]
    job = import_file(
        client,
        app,
        admin_headers,
        kind="workbook",
        data=xlsx_bytes(sheets),
        name="parking.xlsx",
        dry_run=True,
    )
    assert job["status"] == "done" and job["dry_run"] is True
    expected = {
        ("车位", 5, "车位编号", "与第 2 行重复"),
        ("车位", 6, "车位类型", "应为以下之一：地上、地下、机械"),
        ("车位关系", 4, "开始日期", "该车位在此期间已有产权关系（2024-08-01 起）"),
        ("车位关系", 5, "车位编号", "车位不存在（请先导入车位）"),
        ("车位关系", 6, "车位编号", "该车位已停用，不能分配"),
        ("车位关系", 7, "结束日期", "租用车位须填写合同结束日期"),
        ("车位关系", 8, "开始日期", "该车位在此期间已有租用关系（2025-01-01 起）"),
        ("车辆", 4, "车牌号", "车牌号应为 7 位（普通）或 8 位（新能源）"),
        ("车辆", 5, "车牌号", "与第 2 行重复"),
        ("车辆", 6, "小区编码", "填写车位编号时须填写小区编码"),
        ("车辆", 7, "车位编号", "车位不存在（请先导入车位）"),
        ("车辆", 8, "客户手机号", "客户不存在（按证件号码或手机号查找）"),
    }
    assert _errors(job) == expected
    assert job["counts"]["parking_spaces"]["created"] == 3
    for model in (ParkingSpace, SpaceHolding, Vehicle):
        assert _count(db_session, model, org) == 0


def test_parking_is_imported_once_and_renewed_by_its_natural_keys(
    client, app, admin_headers, db_session, org
):
    sheets = _base()
    job = import_file(
        client, app, admin_headers, kind="workbook", data=xlsx_bytes(sheets), name="p.xlsx"
    )
    assert job["status"] == "done", job["errors"]
    for kind, created in (("parking_spaces", 3), ("space_holdings", 2), ("vehicles", 2)):
        assert job["counts"][kind] == {"created": created, "updated": 0, "unchanged": 0}
    space = db_session.scalars(
        select(ParkingSpace).where(ParkingSpace.org_id == org.id, ParkingSpace.number == "B2-015")
    ).one()
    assert (space.area, space.kind, space.status) == ("地下二层 B 区", "underground", "active")
    disabled = db_session.scalars(
        select(ParkingSpace).where(ParkingSpace.org_id == org.id, ParkingSpace.number == "G-001")
    ).one()
    assert (disabled.kind, disabled.status, disabled.remark) == ("ground", "disabled", "维修中")
    holdings = db_session.scalars(
        select(SpaceHolding).where(SpaceHolding.org_id == org.id).order_by(SpaceHolding.id)
    ).all()
    assert [
        (h.kind, h.start_date, h.end_date, h.remind_days, h.contract_number) for h in holdings
    ] == [
        ("owned", date(2024, 8, 1), None, 0, ""),
        ("rented", date(2025, 1, 1), date(2025, 12, 31), 15, "ZY-1"),
    ]
    vehicles = db_session.scalars(
        select(Vehicle).where(Vehicle.org_id == org.id).order_by(Vehicle.id)
    ).all()
    assert [(v.plate, v.plate_kind, v.space_id, v.customer.name) for v in vehicles] == [
        ("浙A12345", "ordinary", space.id, "张三"),
        ("浙AD12345", "new_energy", None, "赵六"),
    ]
    # The same rows again (as CSV, other bytes): nothing changes.
    for kind in ("parking_spaces", "space_holdings", "vehicles"):
        again = import_file(
            client, app, admin_headers, kind=kind, data=csv_bytes(kind, sheets[kind])
        )
        unchanged = len(sheets[kind])
        assert again["counts"][kind] == {"created": 0, "updated": 0, "unchanged": unchanged}
    # A renewed rental (new contract end) is an update, to be reminded again.
    rental = holdings[1]
    db_session.execute(
        update(SpaceHolding)
        .where(SpaceHolding.id == rental.id)
        .values(reminded_at=datetime(2025, 12, 1))
    )
    db_session.flush()
    sheets["space_holdings"][1][6] = "2026-12-31"
    sheets["vehicles"][1][4] = "绿色"
    job = import_file(
        client, app, admin_headers, kind="workbook", data=xlsx_bytes(sheets), name="p2.xlsx"
    )
    assert job["status"] == "done", job["errors"]
    assert job["counts"]["space_holdings"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert job["counts"]["vehicles"] == {"created": 0, "updated": 1, "unchanged": 1}
    db_session.expire_all()
    renewed = db_session.get(SpaceHolding, rental.id)
    assert renewed.end_date == date(2026, 12, 31) and renewed.reminded_at is None
    assert _count(db_session, SpaceHolding, org) == 2
    assert _count(db_session, Vehicle, org) == 2
    # Exports mask the owners' phones and ID numbers.
    r = client.get("/api/v1/admin/exports/vehicles", headers=admin_headers)
    text = r.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("车牌号*,客户证件号码,客户手机号")
    assert "浙A12345" in text and "1101**********1233" in text and ID_1 not in text
    assert "137****7000" in text and "13700137000" not in text
    r = client.get("/api/v1/admin/exports/space_holdings", headers=admin_headers)
    body = r.data.decode("utf-8-sig")
    assert "租用" in body and "2026-12-31" in body and "13700137000" not in body
    r = client.get("/api/v1/admin/exports/parking_spaces", headers=admin_headers)
    assert "B2-015,地下二层 B 区,地下" in r.data.decode("utf-8-sig")
