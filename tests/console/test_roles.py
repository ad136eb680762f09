"""角色权限 in the browser: the admin composes a role scoped to one community and gives it to a
technician; signed in, the technician's console shows only what the role opens, and only that
community's orders (compared with the JSON API at the same moment).

The console database is shared by every console test: each test creates what it looks at."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from sqlalchemy import select

from server.demo_data import DEMO_ORG_CODE, DISPATCHER_PHONE
from server.directory.models import Community
from server.organisation.models import Organisation
from tests.console.conftest import VIEWPORT, screenshot
from tests.console.test_security import PASSWORD, api_login, new_staff


def _communities(app: Flask) -> list[tuple[int, str]]:
    with app.extensions["baoxiu"].db.transaction() as unit:
        org_id = unit.session.scalar(
            select(Organisation.id).where(Organisation.code == DEMO_ORG_CODE)
        )
        rows = unit.session.execute(
            select(Community.id, Community.name)
            .where(Community.org_id == org_id)
            .order_by(Community.id)
        ).all()
    return [(r.id, r.name) for r in rows]


def test_a_scoped_role_composed_and_granted_in_the_browser(
    desk: Any, console_url: str, console_app: Flask, browser: Any
) -> None:
    from playwright.sync_api import expect

    (first_id, first_name), *_ = _communities(console_app)
    name = "客服 " + secrets.token_hex(3)
    tech = new_staff(console_app, ["technician"])

    desk.goto(f"{console_url}/console/roles")
    expect(desk.locator("#roles-table")).to_contain_text("预置")
    form = desk.locator("#new-role")
    form.get_by_label("角色名称").fill(name)
    form.get_by_label("工单：查看（订单记录、工作台、投诉、回访）").check()
    form.get_by_label("客户：查看房产、客户、车位车辆（全能搜索）").check()
    form.get_by_label("仅以下小区：").check()
    form.get_by_label(first_name).check()
    form.get_by_role("button", name="新建").click()
    expect(desk.locator("#roles-saved")).to_be_visible()
    row = desk.locator("#roles-table tr", has_text=name)
    expect(row).to_contain_text(first_name)
    expect(row).to_contain_text("工单：查看")

    staff_row = desk.locator(f'#staff-roles tr[data-staff="{tech["id"]}"]')
    staff_row.get_by_label(name).check()
    staff_row.get_by_role("button", name="保存").click()
    expect(desk.locator("#roles-saved")).to_be_visible()
    granted = desk.locator(f'#staff-roles tr[data-staff="{tech["id"]}"]').get_by_label(name)
    expect(granted).to_be_checked()
    expect(desk.locator("#roles-table tr", has_text=name)).to_contain_text("1")
    screenshot(desk, "roles")

    # The technician signs in: the console opens on what the role allows, nothing more.
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    errors: list[str] = []
    tab = context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.set_default_timeout(10_000)
    try:
        tab.goto(f"{console_url}/console/login")
        tab.get_by_label("手机号").fill(tech["phone"])
        tab.get_by_label("密码").fill(PASSWORD)
        tab.get_by_label("机构编码（可选）").fill(DEMO_ORG_CODE)
        tab.get_by_role("button", name="登录").click()
        tab.wait_for_url(f"{console_url}/console/workbench")
        nav = tab.get_by_role("navigation", name="主导航")
        expect(nav.get_by_role("link", name="工作台")).to_be_visible()
        expect(nav.get_by_role("link", name="订单记录")).to_be_visible()
        for hidden in ("代客报修", "数据看板", "批量导入", "操作日志", "角色权限", "通知公告"):
            expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
        expect(tab.get_by_role("search", name="全能搜索")).to_be_visible()

        # The order list holds only the scoped community's orders: the same as the API says
        # for this technician's token, and fewer than the admin's when the demo has others.
        tab.goto(f"{console_url}/console/orders")
        client = console_app.test_client()
        mine = client.get(
            "/api/v1/admin/orders", headers=api_login(console_app, tech["phone"], PASSWORD)
        ).json
        everyone = client.get(
            "/api/v1/admin/orders", headers=api_login(console_app, DISPATCHER_PHONE)
        ).json
        assert mine["total"] <= everyone["total"]
        assert all(o["room"]["community_id"] == first_id for o in mine["items"]), mine["items"][:3]
        for order in mine["items"][:5]:
            expect(tab.locator("main")).to_contain_text(order["number"])
        screenshot(tab, "roles_scoped_orders")
        # An order of the scope opens, without the actions the role does not carry.
        if mine["items"]:
            tab.goto(f"{console_url}/console/orders/{mine['items'][0]['id']}")
            expect(tab.locator("#actions")).to_contain_text("您的角色只能查看工单")
            for form in ("#assign-form", "#cancel-form", 'form[action$="/messages"]'):
                expect(tab.locator(form)).to_have_count(0)

        # A room of the scope opens (customers.view) without the forms that need customers.act.
        rooms = client.get(
            "/api/v1/admin/rooms",
            query_string={"community_id": first_id, "page_size": 1},
            headers=api_login(console_app, DISPATCHER_PHONE),
        ).json["items"]
        tab.goto(f"{console_url}/console/rooms/{rooms[0]['id']}")
        expect(tab.locator("#household")).to_be_visible()
        for form in ("#move-in-form", "#transfer-form", "#payer-form"):
            expect(tab.locator(form)).to_have_count(0)
        # A screen the role does not open: told so, with a 200 (no error in the log).
        tab.goto(f"{console_url}/console/audit")
        expect(tab.locator("main")).to_contain_text("没有此权限")
    finally:
        context.close()
    assert errors == []
