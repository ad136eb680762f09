"""订单记录 / 工单调度 in the browser: the board's filters and exports, one order's page and the
desk's actions, compared with the JSON API at the same moment."""

from __future__ import annotations

import csv
import functools
import io
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openpyxl
import requests
from flask import Flask
from playwright.sync_api import expect

from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE
from tests.console.api import ApiUser, subtype_id
from tests.console.conftest import screenshot
from tests.uploads.helpers import image_bytes

RESIDENT = "13800000001"
XSS = "<img src=x onerror=alert(1)>"


# -- the JSON API, as the apps use it ------------------------------------------------------


@functools.cache
def api(base: str, phone: str, password: str = DEMO_PASSWORD) -> ApiUser:
    """One login per user and server for the whole run (a password check is slow on purpose)."""
    return ApiUser(base, phone, password)


def file_order(base: str, description: str, *, photo: bool = False) -> dict[str, Any]:
    """A fresh pending order, filed by a demo resident (a subtype without fee or booking)."""
    resident = api(base, RESIDENT)
    image_ids = []
    if photo:
        uploaded = requests.post(
            f"{base}/api/v1/uploads",
            headers=resident.headers,
            files={"file": ("leak.png", image_bytes("PNG", (64, 48)), "image/png")},
            timeout=10,
        )
        assert uploaded.status_code == 201, uploaded.text
        image_ids.append(uploaded.json()["id"])
    room = resident.get("/tenant/rooms")["items"][0]["room"]
    return resident.post(  # type: ignore[no-any-return]
        "/tenant/orders",
        {
            "subtype_id": subtype_id(resident, "水管漏水"),
            "room_id": room["id"],
            "description": description,
            "image_ids": image_ids,
        },
    )


def new_technician(base: str, *, grab_cap: int | None = None) -> dict[str, Any]:
    """A technician of the demo's 工程部 / 维修工 nobody else's test hands orders to."""
    desk = api(base, DISPATCHER_PHONE)
    colleague = desk.get("/admin/staff", role="technician", page_size=1)["items"][0]
    phone = "137" + "".join(secrets.choice("0123456789") for _ in range(8))
    password = "tech" + secrets.token_hex(4) + "9"
    made = desk.post(
        "/admin/staff",
        {
            "name": "测试师傅" + phone[-4:],
            "phone": phone,
            "password": password,
            "roles": ["technician"],
            "department_id": colleague["department_id"],
            "post_id": colleague["post_id"],
            "grab_cap": grab_cap,
        },
    )
    return {"id": made["id"], "name": made["name"], "phone": phone, "password": password}


def open_order(desk: Any, console_url: str, order_id: int) -> None:
    desk.goto(f"{console_url}/console/orders/{order_id}")
    expect(desk.locator("#order-number")).to_be_visible()


# -- the flows -------------------------------------------------------------------------------


def test_assign_from_the_workbench_reaches_the_technician(desk: Any, console_url: str) -> None:
    order = file_order(console_url, "卫生间地漏反水，请尽快处理")
    tech = new_technician(console_url)
    # The workbench's 待派单 queue lists the new order (oldest first: on its last page).
    desk.locator('.tile[data-queue="unassigned"]').click()
    desk.wait_for_url(re.compile(r".*queue=unassigned.*"))
    link = desk.get_by_role("link", name=order["number"])
    while link.count() == 0:
        desk.get_by_role("link", name="下一页").click()
        desk.wait_for_load_state()
    link.click()
    desk.wait_for_url(f"{console_url}/console/orders/{order['id']}")
    expect(desk.locator("#order-status")).to_have_text("待接单")
    # The desk sees the contact's phone whole, as the API's detail gives it.
    whole = api(console_url, DISPATCHER_PHONE).get(f"/admin/orders/{order['id']}")
    expect(desk.locator("#order-contact")).to_contain_text(whole["contact_phone"])
    assert "*" not in whole["contact_phone"]

    picker = desk.get_by_label("派单给师傅")
    option = picker.locator("option", has_text=tech["name"])
    expect(option).to_contain_text("工程部 · 在岗 · 0/")
    picker.select_option(str(tech["id"]))
    desk.get_by_role("button", name="派单", exact=True).click()
    expect(desk.get_by_role("status")).to_have_text("已派单")
    expect(desk.locator("#order-status")).to_have_text("已派单")
    expect(desk.locator("#order-assignee")).to_contain_text(tech["name"])
    expect(desk.locator('#timeline li[data-action="assign"]')).to_contain_text("派单")

    technician = ApiUser(console_url, tech["phone"], tech["password"])
    mine = technician.get("/tech/orders")["items"]
    assert [o["id"] for o in mine] == [order["id"]]
    seen = technician.get(f"/tech/orders/{order['id']}")
    assert seen["status"] == "assigned" and seen["assignee"]["id"] == tech["id"]
    screenshot(desk, "order_detail")


def test_assigning_over_the_cap_shows_the_apis_message(desk: Any, console_url: str) -> None:
    tech = new_technician(console_url, grab_cap=1)
    first = file_order(console_url, "阳台灯不亮")
    second = file_order(console_url, "厨房水龙头滴水")
    desk_api = api(console_url, DISPATCHER_PHONE)
    desk_api.post(f"/admin/orders/{first['id']}/assign", {"staff_id": tech["id"]}, expect=200)
    refused = requests.post(
        f"{console_url}/api/v1/admin/orders/{second['id']}/assign",
        headers=desk_api.headers,
        json={"staff_id": tech["id"]},
        timeout=10,
    )
    assert refused.status_code == 409
    message = refused.json()["message"]

    open_order(desk, console_url, second["id"])
    option = desk.locator("#assign-staff option", has_text=tech["name"])
    expect(option).to_contain_text("1/1 · 已满")
    desk.locator("#assign-staff").select_option(str(tech["id"]))
    desk.get_by_role("button", name="派单", exact=True).click()
    alert = desk.locator('#assign-form [role="alert"]')
    expect(alert).to_have_text(message)
    expect(desk.locator("#order-status")).to_have_text("待接单")
    screenshot(desk, "order_over_cap")
    assert desk_api.get(f"/admin/orders/{second['id']}")["status"] == "pending"


def test_filters_live_in_the_url(desk: Any, console_url: str) -> None:
    order = file_order(console_url, "筛选测试：楼道声控灯坏了")
    desk.get_by_role("link", name="订单记录").click()
    desk.wait_for_url(f"{console_url}/console/orders")
    desk.get_by_label("待接单").check()
    desk.get_by_label("派单情况").select_option("true")
    desk.get_by_label("报修内容").fill("筛选测试")
    desk.get_by_role("button", name="筛选").click()
    desk.wait_for_url(re.compile(r".*content=.*"))
    query = parse_qs(urlsplit(desk.url).query)
    assert query["status"] == ["pending"] and query["unassigned"] == ["true"]
    expect(desk.get_by_role("link", name=order["number"])).to_be_visible()
    filtered_url = desk.url

    desk.reload()
    expect(desk.get_by_label("待接单")).to_be_checked()
    expect(desk.get_by_label("报修内容")).to_have_value("筛选测试")
    expect(desk.get_by_role("link", name=order["number"])).to_be_visible()

    desk.get_by_role("link", name=order["number"]).click()
    desk.wait_for_url(f"{console_url}/console/orders/{order['id']}")
    desk.go_back()
    desk.wait_for_url(filtered_url)
    expect(desk.get_by_label("派单情况")).to_have_value("true")
    expect(desk.get_by_role("link", name=order["number"])).to_be_visible()

    # The dashboard's links name the API's filters; a bad value is shown beside the filters.
    desk.goto(f"{console_url}/console/orders?created_from=2026-13-40&overdue=maybe")
    errors = desk.locator("#filter-errors")
    expect(errors).to_contain_text("报修日期起")
    expect(errors).to_contain_text("超时")
    screenshot(desk, "orders_board_errors")


def test_exports_match_the_list(desk: Any, console_url: str) -> None:
    desk.goto(f"{console_url}/console/orders?status=closed&status=completed")
    total = int(desk.locator("#board-total").get_attribute("data-total"))
    api_total = api(console_url, DISPATCHER_PHONE).get(
        "/admin/orders", status=["closed", "completed"], page_size=1
    )["total"]
    assert total == api_total > 0
    screenshot(desk, "orders_board")

    with desk.expect_download() as started:
        desk.get_by_role("link", name="导出 CSV").click()
    download = started.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), "rb") as file:
        raw = file.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert "工单号" in rows[0] and all(re.search(r"[\u4e00-\u9fff]", h) for h in rows[0])
    assert len(rows) - 1 == total

    with desk.expect_download() as started:
        desk.get_by_role("link", name="导出 Excel").click()
    assert started.value.suggested_filename.endswith(".xlsx")
    with open(started.value.path(), "rb") as file:
        book = openpyxl.load_workbook(io.BytesIO(file.read()), read_only=True)
    sheet_rows = list(book.active.iter_rows(values_only=True))
    assert sheet_rows[0] == tuple(rows[0])
    assert len(sheet_rows) - 1 == total


def test_markup_is_text_and_a_cancel_keeps_its_reason(desk: Any, console_url: str) -> None:
    order = file_order(console_url, XSS)
    dialogs: list[str] = []
    desk.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    desk.goto(f"{console_url}/console/orders?number={order['number']}")
    cell = desk.locator("td.desc", has_text="onerror")
    expect(cell).to_have_text(XSS)
    assert desk.locator("td.desc img").count() == 0
    desk.get_by_role("link", name=order["number"]).click()
    expect(desk.locator("#order-description")).to_have_text(XSS)
    assert desk.locator("#order-description img").count() == 0

    # A blank reason (no reason chosen either) is refused beside the button.
    desk.get_by_label("说明（不选原因时必填）").fill("   ")
    desk.get_by_role("button", name="取消工单").click()
    expect(desk.locator('#cancel-form [role="alert"]')).to_be_visible()
    expect(desk.locator("#order-status")).to_have_text("待接单")

    desk.get_by_label("说明（不选原因时必填）").fill("住户来电说已自行修好")
    desk.get_by_role("button", name="取消工单").click()
    expect(desk.locator("#order-status")).to_have_text("已取消")
    step = desk.locator('#timeline li[data-action="cancel_by_desk"]')
    expect(step).to_contain_text("物业取消")
    expect(step).to_contain_text("住户来电说已自行修好")
    shown = api(console_url, DISPATCHER_PHONE).get(f"/admin/orders/{order['id']}")
    assert shown["status"] == "cancelled"
    assert shown["timeline"][-1]["reason"] == "住户来电说已自行修好"
    expect(desk.locator("#order-description")).to_have_text(XSS)
    assert dialogs == []


def test_photos_and_a_message_to_the_resident(desk: Any, console_url: str) -> None:
    order = file_order(console_url, "空调外机噪音大", photo=True)
    open_order(desk, console_url, order["id"])
    # The API's image needs a Bearer token; the page shows it through the console's session.
    photo = desk.locator("#order-photos img")
    expect(photo).to_have_count(1)
    photo.scroll_into_view_if_needed()
    desk.wait_for_function(
        "() => { const i = document.querySelector('#order-photos img');"
        " return i.complete && i.naturalWidth === 64; }"
    )
    screenshot(desk, "order_detail_photo")
    desk.get_by_label("给住户留言").fill("师傅明天上午上门，请保持电话畅通")
    desk.get_by_role("button", name="发送留言").click()
    expect(desk.locator("#chat")).to_contain_text("师傅明天上午上门")
    seen = api(console_url, RESIDENT).get(f"/tenant/orders/{order['id']}")
    assert [m["text"] for m in seen["messages"]] == ["师傅明天上午上门，请保持电话畅通"]


# -- no browser ------------------------------------------------------------------------------


def test_an_action_without_the_csrf_token_is_refused(console_app: Flask) -> None:
    client = console_app.test_client()
    api = client.post(
        "/api/v1/auth/login",
        json={"phone": RESIDENT, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    bearer = {"Authorization": f"Bearer {api.get_json()['access_token']}"}
    room = client.get("/api/v1/tenant/rooms", headers=bearer).get_json()["items"][0]["room"]
    types = client.get("/api/v1/catalog/order-types", headers=bearer).get_json()["items"]
    subtype = next(s for t in types for s in t["subtypes"] if s["name"] == "电路故障")
    filed = client.post(
        "/api/v1/tenant/orders",
        headers=bearer,
        json={"subtype_id": subtype["id"], "room_id": room["id"], "description": "CSRF 测试"},
    )
    assert filed.status_code == 201
    order_id = filed.get_json()["id"]

    signed_in = client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert signed_in.status_code == 303
    for path, form in (
        (f"/console/orders/{order_id}/cancel", {"reason": "没有令牌"}),
        (f"/console/orders/{order_id}/urge", {"reason": "没有令牌"}),
        (f"/console/orders/{order_id}/cancel", {"reason": "错的令牌", "csrf_token": "x" * 43}),
    ):
        refused = client.post(path, data=form)
        assert refused.status_code == 403
        assert "CSRF" in refused.get_data(as_text=True)
    shown = client.get(f"/console/orders/{order_id}")
    assert shown.status_code == 200
    body = shown.get_data(as_text=True)
    assert "待接单" in body and "没有令牌" not in body and "错的令牌" not in body

    # With the token the same form goes through (PRG), and the page says so.
    token = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert token is not None
    done = client.post(
        f"/console/orders/{order_id}/cancel", data={"reason": "有令牌", "csrf_token": token[1]}
    )
    assert done.status_code == 303
    assert done.headers["Location"].startswith(f"/console/orders/{order_id}?done=cancel")
    assert "已取消" in client.get(f"/console/orders/{order_id}").get_data(as_text=True)


def test_refusals_and_pages_answer_200_or_404(console_app: Flask) -> None:
    client = console_app.test_client()
    client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert client.get("/console/orders/999999999").status_code == 404
    board = client.get("/console/orders?page_size=1000&created_to=x")
    assert board.status_code == 200
    assert "每页条数" in board.get_data(as_text=True)
    assert client.get("/console/orders?status=pending&page=2").status_code == 200


def test_refunds_are_for_admins_only(console_app: Flask) -> None:
    client = console_app.test_client()
    login = client.post(
        "/api/v1/auth/login",
        json={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    bearer = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    paid = client.get("/api/v1/admin/payments?status=paid&page_size=1", headers=bearer)
    order_id = paid.get_json()["items"][0]["order_id"]
    phone = "136" + "".join(secrets.choice("0123456789") for _ in range(8))
    made = client.post(
        "/api/v1/admin/staff",
        headers=bearer,
        json={"name": "值班调度", "phone": phone, "password": "desk12345", "roles": ["dispatcher"]},
    )
    assert made.status_code == 201, made.get_data(as_text=True)

    admin = console_app.test_client()
    admin.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert 'id="refund-form"' in admin.get(f"/console/orders/{order_id}").get_data(as_text=True)

    dispatcher = console_app.test_client()
    dispatcher.post(
        "/console/login", data={"phone": phone, "password": "desk12345", "org": DEMO_ORG_CODE}
    )
    body = dispatcher.get(f"/console/orders/{order_id}").get_data(as_text=True)
    assert "调度操作" in body and 'id="refund-form"' not in body
    token = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert token is not None
    before = client.get(f"/api/v1/admin/orders/{order_id}/money", headers=bearer).get_json()
    refused = dispatcher.post(
        f"/console/orders/{order_id}/refunds",
        data={"amount": "0.01", "reason": "调度员退款", "csrf_token": token[1]},
    )
    assert refused.status_code == 200
    assert "没有权限执行此操作" in refused.get_data(as_text=True)
    after = client.get(f"/api/v1/admin/orders/{order_id}/money", headers=bearer).get_json()
    assert after["refunds"] == before["refunds"]


def _desk_client(console_app: Flask) -> tuple[Any, dict[str, str]]:
    """The console signed in as the demo dispatcher, and a Bearer header for the JSON API."""
    client = console_app.test_client()
    client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    login = client.post(
        "/api/v1/auth/login",
        json={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    return client, {"Authorization": f"Bearer {login.get_json()['access_token']}"}


def test_take_back_urge_and_refusals(console_app: Flask, console_url: str) -> None:
    order = file_order(console_url, "改派测试：热水器不出热水")
    first, second = new_technician(console_url), new_technician(console_url)
    client, bearer = _desk_client(console_app)
    path = f"/console/orders/{order['id']}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert token is not None
    csrf = {"csrf_token": token[1]}

    def state() -> dict[str, Any]:
        return client.get(f"/api/v1/admin/orders/{order['id']}", headers=bearer).get_json()  # type: ignore[no-any-return]

    assert client.post(f"{path}/assign", data={**csrf, "staff_id": first["id"]}).status_code == 303
    ApiUser(console_url, first["phone"], first["password"]).post(
        f"/tech/orders/{order['id']}/accept", {}, expect=200
    )
    assert state()["status"] == "in_progress"

    # A plain assign of an order under way is refused with the API's message, nothing changes.
    plain = client.post(f"{path}/assign", data={**csrf, "staff_id": second["id"]})
    assert plain.status_code == 200 and 'data-action="assign"' in plain.get_data(as_text=True)
    assert state()["assignee"]["id"] == first["id"]
    # 改派 takes it back.
    moved = client.post(f"{path}/assign", data={**csrf, "staff_id": second["id"], "take_back": "1"})
    assert moved.status_code == 303
    assert state()["assignee"]["id"] == second["id"] and state()["status"] == "assigned"

    assert client.post(f"{path}/urge", data={**csrf, "reason": "住户反复来电"}).status_code == 303
    assert state()["timeline"][-1]["action"] == "urge"

    # Reopening an open order, and a discount that is no amount, are refused beside the form.
    reopen = client.post(f"{path}/reopen", data={**csrf, "reason": "未修好", "to": "same"})
    body = reopen.get_data(as_text=True)
    assert reopen.status_code == 200 and 'data-action="reopen"' in body
    fee = client.post(f"{path}/fee-adjustments", data={**csrf, "discount": "abc", "reason": "x"})
    body = fee.get_data(as_text=True)
    assert fee.status_code == 200 and "请输入金额（元，最多两位小数）" in body
    assert [e["action"] for e in state()["timeline"]][-1] == "urge"


def test_the_dashboards_links_filter_as_the_api(console_app: Flask) -> None:
    client, bearer = _desk_client(console_app)
    types = client.get("/api/v1/admin/order-types", headers=bearer).get_json()["items"]
    communities = client.get("/api/v1/admin/communities", headers=bearer).get_json()["items"]
    staff = client.get("/api/v1/admin/staff?role=technician", headers=bearer).get_json()["items"]
    for query in (
        "created_from=2026-01-01&created_to=2026-12-31&status=closed&status=completed",
        f"order_type_id={types[0]['id']}&community_id={communities[0]['id']}",
        f"subtype_id={types[0]['subtypes'][0]['id']}&priority=urgent",
        f"assignee_id={staff[0]['id']}&overdue=false&follow_up=false",
        "unassigned=true&q=138",
    ):
        api = client.get(f"/api/v1/admin/orders?{query}", headers=bearer).get_json()
        board = client.get(f"/console/orders?{query}").get_data(as_text=True)
        shown = re.search(r'id="board-total" data-total="(\d+)"', board)
        assert shown is not None, query
        assert int(shown[1]) == api["total"], query
        for item in api["items"]:
            assert f">{item['number']}</a>" in board
