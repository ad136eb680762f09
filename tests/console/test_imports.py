"""批量导入 in the browser: upload a file for a dry run, follow it, read the error report."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask
from playwright.sync_api import expect

from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE
from server.imports import loading
from server.imports.rules import SHEETS
from tests.console.conftest import screenshot


def _rooms_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SHEETS["rooms"].headers)
    writer.writerow(["SUN", "1栋", None, "IMPORT-1", 3, "88.5", None, "两室", "南", "住宅"])
    writer.writerow(["SUN", "99栋", None, "IMPORT-2", 3, None, None, None, None, None])
    writer.writerow(["SUN", "1栋", None, "IMPORT-1", "三楼", None, None, None, None, None])
    return out.getvalue().encode("gbk")


def _run_queued(console_app: Flask, job_id: int) -> str:
    """What the worker does with the queued job (the console tests run no worker)."""
    wiring = console_app.extensions["baoxiu"]
    return loading.run_import(wiring.db, job_id=job_id, upload_dir=wiring.settings.upload_dir)


def test_upload_a_dry_run_and_read_its_report(
    desk: Any, console_url: str, console_app: Flask
) -> None:
    desk.goto(f"{console_url}/console/imports")
    expect(desk.get_by_role("heading", name="批量导入导出")).to_be_visible()
    desk.get_by_label("数据种类").select_option("rooms")
    desk.get_by_label("文件（XLSX，或 UTF-8 / GBK 编码的 CSV）").set_input_files(
        {"name": "rooms-gbk.csv", "mimeType": "text/csv", "buffer": _rooms_csv()}
    )
    expect(desk.get_by_label("仅校验（试运行：报告所有错误行，不写入任何数据）")).to_be_checked()
    desk.get_by_role("button", name="上传并开始").click()
    desk.wait_for_url(re.compile(r"/console/imports/\d+$"))
    job_id = int(desk.url.rsplit("/", 1)[1])
    expect(desk.locator("#import-status")).to_have_text("排队中")
    assert _run_queued(console_app, job_id) == "done"
    # The page polls by itself: the report appears without a reload.
    expect(desk.locator("#import-status")).to_have_text("完成")
    expect(desk.locator("#import-rows")).to_have_text("3 / 3 行")
    expect(desk.locator("#import-message")).to_have_text("共 2 行有误")
    errors = desk.locator("table.import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("楼栋不存在（请先导入楼栋）")
    assert errors.nth(0).locator("td").all_inner_texts() == [
        "房间",
        "3",
        "楼栋",
        "楼栋不存在（请先导入楼栋）",
    ]
    expect(desk.locator("table.import-errors")).to_contain_text("应为整数")
    expect(desk.locator("table.import-counts")).to_contain_text("房间")
    screenshot(desk, "import-dry-run-report")
    # The list shows the job, finished.
    desk.get_by_role("link", name="← 批量导入").click()
    row = desk.locator(f'tr[data-job="{job_id}"]')
    expect(row.locator(".status")).to_have_text("完成")
    expect(row).to_contain_text("试运行")
    screenshot(desk, "imports")


def test_a_refused_upload_says_why_beside_the_button(desk: Any, console_url: str) -> None:
    desk.goto(f"{console_url}/console/imports")
    desk.get_by_label("数据种类").select_option("workbook")
    desk.get_by_label("文件（XLSX，或 UTF-8 / GBK 编码的 CSV）").set_input_files(
        {"name": "rooms.csv", "mimeType": "text/csv", "buffer": _rooms_csv()}
    )
    desk.get_by_role("button", name="上传并开始").click()
    expect(desk.get_by_role("alert")).to_have_text("CSV 文件只能包含一种数据，请选择要导入的类型")


def test_templates_download_from_the_console(console_app: Flask) -> None:
    client = console_app.test_client()
    answer = client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert answer.status_code == 303
    r = client.get("/console/imports/templates/rooms.csv")
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('"rooms.csv"')
    assert r.data.decode("utf-8-sig").startswith("小区编码*,楼栋*,单元,房间编码*")
    r = client.get("/console/imports/exports/customers?format=csv")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert "13800000001" not in r.data.decode("utf-8-sig")
    assert "138****0001" in r.data.decode("utf-8-sig")


def test_parking_templates_download_from_the_console(console_app: Flask) -> None:
    client = console_app.test_client()
    answer = client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert answer.status_code == 303
    page = client.get("/console/imports").data.decode()
    for title in ("车位", "车位关系", "车辆"):
        assert f"<th>{title}</th>" in page or f">{title}<" in page, title
    r = client.get("/console/imports/templates/vehicles.csv")
    assert r.status_code == 200
    assert r.data.decode("utf-8-sig").startswith("车牌号*,客户证件号码,客户手机号,品牌车型")
    r = client.get("/console/imports/templates/space_holdings.xlsx")
    assert r.status_code == 200 and r.data.startswith(b"PK")
