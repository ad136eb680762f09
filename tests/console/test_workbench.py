"""The workbench in the browser: signing in, the queues, a new order appearing unasked."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import screenshot, sign_in


def test_dispatcher_signs_in_to_the_workbench(desk: Any, console_url: str) -> None:
    tiles = desk.locator(".tile")
    assert tiles.count() == 8
    assert desk.locator('.tile[data-queue="unassigned"] .label').inner_text() == "待派单"
    screenshot(desk, "workbench")


def test_a_resident_cannot_sign_in(page: Any, console_url: str) -> None:
    sign_in(page, console_url, phone="13800000001")
    assert "控制台仅供调度员与管理员使用" in page.locator(".error").inner_text()
    assert page.url.endswith("/console/login")
