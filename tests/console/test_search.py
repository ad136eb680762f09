"""全能搜索 in the browser: the top bar's box on every page → grouped results → the hit's page;
the same answer as the JSON API, masked; refusals and escaping without a browser."""

from __future__ import annotations

from typing import Any

from flask import Flask
from playwright.sync_api import expect

from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE
from tests.console.api import ApiUser, file_order
from tests.console.conftest import screenshot


def test_slash_focuses_the_box_and_an_order_number_opens_its_order(
    desk: Any, console_url: str
) -> None:
    filed = file_order(console_url, description="全能搜索：阳台推拉门卡住")
    desk.keyboard.press("/")
    box = desk.get_by_role("searchbox", name="全能搜索")
    expect(box).to_be_focused()
    box.fill(filed["number"].lower())
    box.press("Enter")
    desk.wait_for_url(f"{console_url}/console/search?q=*")
    orders = desk.locator("#group-orders")
    expect(orders.locator("h2")).to_contain_text("工单 1 条")
    row = orders.locator("tbody tr").first
    expect(row).to_contain_text("完全匹配")
    expect(row).to_contain_text("138****0001")
    expect(desk.locator("main")).not_to_contain_text("13800000001")
    expect(box).to_have_value(filed["number"].lower())
    screenshot(desk, "search-order")
    row.get_by_role("link", name=filed["number"]).click()
    desk.wait_for_url(f"{console_url}/console/orders/{filed['id']}")
    expect(desk.locator("main")).to_contain_text("阳台推拉门卡住")


def test_a_room_code_leads_to_the_room_and_its_customers(desk: Any, console_url: str) -> None:
    api = ApiUser(console_url, DISPATCHER_PHONE).get("/admin/search", q="1-1-101", limit=20)
    desk.goto(f"{console_url}/console/orders")
    box = desk.get_by_role("searchbox", name="全能搜索")
    box.fill("1-1-101")
    desk.get_by_role("button", name="搜索").click()
    rooms = desk.locator("#group-rooms")
    expect(rooms.locator("h2")).to_contain_text(f"房屋 {api['rooms']['total']} 条")
    links = rooms.locator("tbody a")
    assert links.all_inner_texts() == [hit["room"]["code"] for hit in api["rooms"]["items"]]
    first = api["rooms"]["items"][0]
    assert first["match"] == "exact"
    screenshot(desk, "search-room")
    links.first.click()
    desk.wait_for_url(f"{console_url}{first['link']}")
    expect(desk.locator("h1")).to_contain_text(first["room"]["label"])
    owner = desk.locator("main table tbody tr", has_text="张三")
    expect(owner).to_contain_text("业主")
    expect(owner).to_contain_text("138****0001")
    owner.get_by_role("link", name="张三").click()
    desk.wait_for_url(f"{console_url}/console/search/customers/*")
    expect(desk.locator("h1")).to_have_text("客户 张三")
    expect(desk.locator("main")).to_contain_text("1-1-101")
    expect(desk.locator("main")).not_to_contain_text("13800000001")
    screenshot(desk, "search-customer")


def test_a_phone_tail_finds_the_customer_keyboard_only(desk: Any, console_url: str) -> None:
    desk.keyboard.press("/")
    desk.keyboard.type("0001")
    desk.keyboard.press("Enter")
    customers = desk.locator("#group-customers")
    expect(customers.locator("tbody")).to_contain_text("张三")
    expect(customers.locator("tbody tr", has_text="张三").first).to_contain_text("尾号匹配")


# --- without a browser -----------------------------------------------------------------


def _signed_in(console_app: Flask) -> Any:
    client = console_app.test_client()
    answer = client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert answer.status_code == 303
    return client


def test_the_box_is_on_every_page_and_search_needs_a_session(console_app: Flask) -> None:
    assert console_app.test_client().get("/console/search?q=1").status_code == 302
    client = _signed_in(console_app)
    for path in ("/console/workbench", "/console/orders", "/console/dashboard", "/console/search"):
        body = client.get(path).get_data(as_text=True)
        assert 'action="/console/search"' in body and 'id="omni-q"' in body, path


def test_a_bad_query_is_refused_on_the_page_and_the_query_is_escaped(console_app: Flask) -> None:
    client = _signed_in(console_app)
    answer = client.get("/console/search", query_string={"q": "x" * 51})
    assert answer.status_code == 200
    assert "请输入 1–50 个字符" in answer.get_data(as_text=True)
    answer = client.get("/console/search", query_string={"q": "<b>张"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert "<b>张" not in body and "&lt;b&gt;张" in body
    # Nothing typed: the page explains the box.
    assert "按 <kbd>/</kbd> 键" in client.get("/console/search").get_data(as_text=True)


def test_another_organisations_rows_are_404(console_app: Flask) -> None:
    client = _signed_in(console_app)
    assert client.get("/console/search/rooms/999999999").status_code == 404
    assert client.get("/console/search/customers/999999999").status_code == 404


def test_a_plate_fragment_lists_vehicles_with_owner_and_space(desk: Any, console_url: str) -> None:
    api = ApiUser(console_url, DISPATCHER_PHONE).get("/admin/search", q="沪A", limit=20)
    box = desk.get_by_role("searchbox", name="全能搜索")
    box.fill("沪A")
    box.press("Enter")
    vehicles = desk.locator("#group-vehicles")
    expect(vehicles.locator("h2")).to_contain_text(f"车辆 {api['vehicles']['total']} 条")
    plates = vehicles.locator("tbody .plate").all_inner_texts()
    assert plates == [hit["vehicle"]["plate"] for hit in api["vehicles"]["items"]]
    assert "沪A99999" not in plates  # removed
    row = vehicles.locator("tbody tr", has_text="沪A12345")
    expect(row).to_contain_text("张三")
    expect(row).to_contain_text("138****0001")
    expect(row).to_contain_text("B1-001")
    screenshot(desk, "search-plates")
    row.get_by_role("link", name="沪A12345").click()
    desk.wait_for_url(f"{console_url}/console/parking?plate=*")
    expect(desk.locator("table.vehicles")).to_contain_text("沪A12345")


def test_pinyin_initials_find_a_customer(desk: Any, console_url: str) -> None:
    box = desk.get_by_role("searchbox", name="全能搜索")
    box.fill("zs")
    box.press("Enter")
    customers = desk.locator("#group-customers")
    row = customers.locator("tbody tr", has_text="张三").first
    expect(row).to_contain_text("姓名拼音")
