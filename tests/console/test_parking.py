"""客车关系 in the browser: a space assigned to a tenant (租用, contract end shown), an
overlapping assignment refused beside the form, a vehicle registered (a bad plate refused
first), the rental ended as history — each compared with the JSON API at the same moment."""

from __future__ import annotations

import random
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from server.demo_data import DISPATCHER_PHONE
from server.kernel.clock import LOCAL_TZ
from tests.console.api import ApiUser
from tests.console.conftest import screenshot

TENANT_PHONE = "13800000005"  # 钱七, a demo resident


def _community_id(desk_api: ApiUser) -> int:
    [sun] = [c for c in desk_api.get("/admin/communities")["items"] if c["name"] == "阳光花园"]
    return int(sun["id"])


def test_assign_a_space_register_a_vehicle_and_end_the_rental(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    desk_api = ApiUser(console_url, DISPATCHER_PHONE)
    number = f"T-{secrets.token_hex(3).upper()}"
    space = desk_api.post(
        "/admin/parking-spaces",
        {
            "community_id": _community_id(desk_api),
            "number": number,
            "kind": "underground",
            "area": "测试区",
        },
    )
    today = datetime.now(LOCAL_TZ).date()
    start, end = today - timedelta(days=10), today + timedelta(days=20)

    desk.goto(f"{console_url}/console/parking?q={number}")
    row = desk.locator(f'tr[data-space="{space["id"]}"]')
    expect(row).to_contain_text("空闲")
    row.get_by_role("link", name="分配").click()
    form = desk.locator("#assign-form")
    expect(form).to_contain_text(number)
    form.get_by_label("客户（姓名、手机号或 #编号）").fill(TENANT_PHONE)
    form.get_by_label("租用", exact=True).check()
    form.get_by_label("开始日期").fill(start.isoformat())
    form.get_by_label("结束日期（租用必填）").fill(end.isoformat())
    form.get_by_label("提前提醒天数").fill("30")
    form.get_by_role("button", name="确认分配").click()
    desk.wait_for_url(re.compile(r"/console/parking\?q="))
    assert "assign=" not in desk.url
    row = desk.locator(f'tr[data-space="{space["id"]}"]')
    expect(row.locator(".holder")).to_contain_text("钱七")
    expect(row.locator(".holder")).to_contain_text("租用")
    expect(row.locator(".contract-end")).to_contain_text(end.isoformat())
    expect(row.locator(".contract-end")).to_contain_text("即将到期")
    [listed] = desk_api.get("/admin/parking-spaces", q=number)["items"]
    assert listed["current"]["customer"]["name"] == "钱七"
    assert listed["current"]["end_date"] == end.isoformat() and listed["expiring"] is True
    # The phone is masked on the page as in the API's list.
    expect(row.locator(".holder")).to_contain_text(listed["current"]["customer"]["phone"])
    assert "****" in listed["current"]["customer"]["phone"]

    # Somebody else over the same days: refused beside the form, nothing written.
    row.get_by_role("link", name="分配").click()
    form = desk.locator("#assign-form")
    form.get_by_label("客户（姓名、手机号或 #编号）").fill("13800000004")
    form.get_by_label("产权", exact=True).check()
    form.get_by_label("开始日期").fill(today.isoformat())
    form.get_by_role("button", name="确认分配").click()
    alert = desk.locator("#assign-form .error[role=alert]")
    expect(alert).to_contain_text("该车位在所选期间已有租用关系：钱七")
    assert len(desk_api.get(f"/admin/parking-spaces/{space['id']}")["holdings"]) == 1

    # A vehicle: a bad plate first, then a good one parked on the space.
    plate = f"沪E{random.randint(10000, 99999)}"
    desk.goto(f"{console_url}/console/parking?q={number}")
    vehicle_form = desk.locator("form[action^='/console/parking/vehicles']")
    vehicle_form.get_by_label("车牌号").fill("沪I12345")
    vehicle_form.get_by_label("车主（姓名、手机号或 #编号）").fill(TENANT_PHONE)
    vehicle_form.get_by_role("button", name="登记车辆").click()
    expect(desk.locator("form[action^='/console/parking/vehicles'] .error")).to_contain_text(
        "车牌号第二位应为发牌机关字母"
    )
    vehicle_form = desk.locator("form[action^='/console/parking/vehicles']")
    vehicle_form.get_by_label("车牌号").fill(plate.lower().replace("e", "e·"))
    vehicle_form.get_by_label("车型").fill("特斯拉 Model 3")
    vehicle_form.get_by_label("颜色").fill("白色")
    vehicle_form.get_by_label("车位编号（可选）").fill(number.lower())
    vehicle_form.get_by_role("button", name="登记车辆").click()
    desk.wait_for_url(re.compile(r"/console/parking\?q="))
    row = desk.locator(f'tr[data-space="{space["id"]}"]')
    expect(row).to_contain_text(plate)
    [car] = desk_api.get("/admin/vehicles", q=plate)["items"]
    assert car["space"]["id"] == space["id"] and car["customer"]["name"] == "钱七"
    expect(desk.locator(f'tr[data-vehicle="{car["id"]}"]')).to_contain_text("特斯拉 Model 3")
    screenshot(desk, "parking")

    # End the rental yesterday: the space is free today, the relation stays as history.
    row.get_by_text("结束关系").click()
    row.get_by_label("结束日期").fill((today - timedelta(days=1)).isoformat())
    row.get_by_label("原因").fill("提前退租")
    row.get_by_role("button", name="确认结束").click()
    row = desk.locator(f'tr[data-space="{space["id"]}"]')
    expect(row.locator(".holder")).to_contain_text("空闲")
    detail = desk_api.get(f"/admin/parking-spaces/{space['id']}")
    assert detail["current"] is None
    [history] = detail["holdings"]
    assert history["end_date"] == (today - timedelta(days=1)).isoformat()
    assert history["end_reason"] == "提前退租" and history["ended_at"] is not None

    # The whole screen with the demo's spaces (owned, rented, one ending soon) and vehicles.
    desk.goto(f"{console_url}/console/parking?community_id={_community_id(desk_api)}")
    expect(desk.locator("table.spaces")).to_contain_text("B1-002")
    screenshot(desk, "parking_demo")


def _signed_in(console_app: Flask) -> Any:
    client = console_app.test_client()
    page = client.get("/console/login")
    token = re.search(rb'name="csrf_token" value="([^"]*)"', page.data)
    data = {"phone": DISPATCHER_PHONE, "password": "demo1234", "org": "demo"}
    if token:
        data["csrf_token"] = token.group(1).decode()
    client.post("/console/login", data=data)
    return client


def test_refusals_answer_200_with_the_message_and_user_text_is_escaped(
    console_app: Flask,
) -> None:
    client = _signed_in(console_app)
    page = client.get("/console/parking")
    assert page.status_code == 200, page.data[:300]
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    answer = client.post(
        "/console/parking/vehicles",
        data={"csrf_token": csrf, "plate": "<b>x</b>", "customer": "<script>无此人</script>"},
    )
    assert answer.status_code == 200
    body = answer.data.decode()
    assert 'role="alert"' in body and "没有找到" in body
    assert "<script>无此人" not in body and "&lt;script&gt;无此人" in body
    # Without the CSRF token: refused, nothing written.
    answer = client.post("/console/parking/spaces", data={"number": "X1", "kind": "ground"})
    assert answer.status_code == 403
