"""数据字典 in the browser: the lists with their kinds, an own item added to an open list
(shown at once in the order page's cancel select), a system value relabelled and disabled but
never deletable, a closed list without an add form, bad input refused beside the form — each
compared with the JSON API at the same moment."""

from __future__ import annotations

import secrets
from typing import Any

from playwright.sync_api import expect

from server.demo_data import DISPATCHER_PHONE
from tests.console.api import ApiUser, file_order
from tests.console.conftest import screenshot


def test_lists_items_and_protection(desk: Any, console_url: str) -> None:
    api = ApiUser(console_url, DISPATCHER_PHONE)  # the demo dispatcher is also an admin
    nav = desk.get_by_role("navigation", name="主导航")
    nav.get_by_text("管理").click()
    nav.get_by_role("link", name="数据字典").click()
    desk.wait_for_url(f"{console_url}/console/dictionary")
    lists = desk.get_by_role("navigation", name="字典列表")
    served = api.get("/admin/dictionary")["items"]
    assert lists.locator("li a").all_inner_texts() == [entry["title"] for entry in served]

    lists.get_by_role("link", name="取消原因").click()
    desk.wait_for_url(f"{console_url}/console/dictionary?list=cancel_reasons")
    # The demo organisation's own item and relabelled system value.
    expect(desk.locator('tr[data-code="water_off"]')).to_contain_text("自定义")
    row = desk.locator('tr[data-code="not_needed"]')
    expect(row).to_contain_text("原名：不需要维修了")
    expect(row.get_by_role("button", name="删除")).to_have_count(0)

    code = f"t_{secrets.token_hex(3)}"
    form = desk.locator("form.new-item")
    form.get_by_label("编码").fill(code)
    form.get_by_label("名称").fill("测试原因")
    form.get_by_label("排序").fill("1")
    form.get_by_role("button", name="新增").click()
    desk.wait_for_url(f"{console_url}/console/dictionary?list=cancel_reasons")
    expect(desk.locator("table.items tbody tr").first).to_have_attribute("data-code", code)
    listed = api.get("/admin/dictionary/cancel_reasons")["items"]
    assert (listed[0]["code"], listed[0]["label"], listed[0]["system"]) == (code, "测试原因", False)

    # The same code again: refused beside the form, nothing written.
    form = desk.locator("form.new-item")
    form.get_by_label("编码").fill(code)
    form.get_by_label("名称").fill("又一个")
    form.get_by_role("button", name="新增").click()
    expect(desk.locator("form.new-item .error[role=alert]")).to_contain_text(f"编码 {code} 已存在")
    assert [i["code"] for i in api.get("/admin/dictionary/cancel_reasons")["items"]].count(
        code
    ) == 1

    # A system value: relabelled and switched off; it stays, with its original name shown.
    row = desk.locator('tr[data-code="duplicate"]')
    row.get_by_label("duplicate 的名称").fill("重复提交")
    row.get_by_label("启用 duplicate").uncheck()
    row.get_by_role("button", name="保存").click()
    desk.wait_for_url(f"{console_url}/console/dictionary?list=cancel_reasons")
    row = desk.locator('tr[data-code="duplicate"]')
    expect(row).to_have_class("disabled")
    expect(row).to_contain_text("原名：重复报修")
    [item] = [
        i for i in api.get("/admin/dictionary/cancel_reasons")["items"] if i["code"] == "duplicate"
    ]
    assert (item["label"], item["enabled"], item["system"]) == ("重复提交", False, True)
    screenshot(desk, "dictionary-cancel-reasons")

    # The order page offers the enabled reasons in the organisation's order and names.
    filed = file_order(console_url, description="数据字典：取消原因下拉")
    desk.goto(f"{console_url}/console/orders/{filed['id']}")
    options = desk.locator("#cancel-reason-code option").all_inner_texts()
    assert options[1] == "测试原因" and "重复提交" not in options
    desk.locator("#cancel-reason-code").select_option(label="测试原因")
    desk.get_by_role("button", name="取消工单").click()
    desk.wait_for_url(f"{console_url}/console/orders/{filed['id']}*")
    timeline = api.get(f"/admin/orders/{filed['id']}")["timeline"]
    assert timeline[-1]["reason"] == "测试原因"

    # Own items are deleted; the switch back on for the system value.
    desk.goto(f"{console_url}/console/dictionary?list=cancel_reasons")
    desk.locator(f'tr[data-code="{code}"]').get_by_role("button", name="删除").click()
    desk.wait_for_url(f"{console_url}/console/dictionary?list=cancel_reasons")
    expect(desk.locator(f'tr[data-code="{code}"]')).to_have_count(0)
    row = desk.locator('tr[data-code="duplicate"]')
    row.get_by_label("启用 duplicate").check()
    row.get_by_role("button", name="保存").click()
    desk.wait_for_url(f"{console_url}/console/dictionary?list=cancel_reasons")
    expect(desk.locator('tr[data-code="duplicate"]')).not_to_have_class("disabled")


def test_a_closed_list_is_relabelled_only(desk: Any, console_url: str) -> None:
    api = ApiUser(console_url, DISPATCHER_PHONE)
    desk.goto(f"{console_url}/console/dictionary?list=room_uses")
    expect(desk.locator("h2#list-title")).to_contain_text("系统固定")
    expect(desk.locator("form.new-item")).to_have_count(0)
    expect(desk.get_by_role("button", name="删除")).to_have_count(0)
    expect(desk.get_by_label("启用 shop")).to_have_count(0)
    row = desk.locator('tr[data-code="shop"]')
    row.get_by_label("shop 的名称").fill("")
    row.get_by_label("shop 的名称").evaluate("e => e.removeAttribute('required')")
    row.get_by_role("button", name="保存").click()
    expect(desk.locator('tr[data-code="shop"] .error[role=alert]')).to_be_visible()
    row = desk.locator('tr[data-code="shop"]')
    row.get_by_label("shop 的名称").fill("商业用房")
    row.get_by_role("button", name="保存").click()
    desk.wait_for_url(f"{console_url}/console/dictionary?list=room_uses")
    expect(desk.locator('tr[data-code="shop"]')).to_contain_text("原名：商铺")
    [shop] = [i for i in api.get("/admin/dictionary/room_uses")["items"] if i["code"] == "shop"]
    assert shop["label"] == "商业用房"
    screenshot(desk, "dictionary-room-uses")
