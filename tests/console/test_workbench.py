"""The workbench in the browser: signing in, the queues, a new order appearing unasked."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from server.demo_data import DISPATCHER_PHONE
from tests.console.api import ApiUser, file_order
from tests.console.conftest import screenshot, sign_in


def test_dispatcher_signs_in_to_the_workbench(desk: Any, console_url: str) -> None:
    tiles = desk.locator(".tile")
    assert tiles.count() == 8
    assert desk.locator('.tile[data-queue="unassigned"] .label').inner_text() == "待派单"
    screenshot(desk, "workbench")


def test_a_resident_cannot_sign_in(page: Any, console_url: str) -> None:
    sign_in(page, console_url, phone="13800000001")
    assert "控制台仅供调度员、管理员及有控制台权限的员工使用" in page.locator(".error").inner_text()
    assert page.url.endswith("/console/login")


def test_a_new_order_appears_on_the_workbench_unasked(page: Any, console_url: str) -> None:
    """The workbench polls (every 15 s): the browser's clock is run forward instead of
    waiting; the order filed in the mini-program meanwhile is in the 待派单 list, its count
    up by one, without a reload."""
    page.clock.install()
    sign_in(page, console_url)
    page.wait_for_url(f"{console_url}/console/workbench")
    count = page.locator('.tile[data-queue="unassigned"] .count')
    before = int(count.inner_text())
    filed = file_order(console_url, description="工作台自动刷新：卫生间地漏返水")
    page.clock.run_for(16_000)
    expect(count).to_have_text(str(before + 1))
    expect(page.locator("table.orders")).to_contain_text(filed["number"])
    expect(page.locator("table.orders")).to_contain_text("卫生间地漏返水")


def test_the_unassigned_count_is_the_apis(desk: Any, console_url: str) -> None:
    desk_api = ApiUser(console_url, DISPATCHER_PHONE)
    queues = {q["name"]: q["total"] for q in desk_api.get("/admin/workbench")["queues"]}
    for name, total in queues.items():
        assert desk.locator(f'.tile[data-queue="{name}"] .count').inner_text() == str(total)
