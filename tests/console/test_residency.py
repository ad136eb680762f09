"""住户生命周期 in the browser: a household moves in through the room's form (the new owner's
phone then finds the room through the tenant API), the room is transferred through the form
(the history shows both owners with their periods), a family member is added and ended."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from server.demo_data import DEMO_ORG_CODE, DISPATCHER_PHONE
from server.kernel.clock import LOCAL_TZ
from server.models import Organisation
from tests.console.api import ApiUser
from tests.console.conftest import screenshot
from tests.factories import Factory


def _phone() -> str:
    return "137" + "".join(random.choices("0123456789", k=8))


def _tenant_headers(app: Flask, phone: str) -> dict[str, str]:
    """A tenant login with this phone (as a WeChat login would make), with a bearer token."""
    container = app.extensions["baoxiu"]
    with container.db.transaction() as uow:
        org = uow.session.scalars(
            select(Organisation).where(Organisation.code == DEMO_ORG_CODE)
        ).one()
        make = Factory(uow.session, container.tokens)
        user = make.tenant(org, phone=phone)
        pair = container.tokens.issue(uow.session, user=user, now=datetime.now(UTC))
        return {"Authorization": f"Bearer {pair.access_token}"}


def _tenant_rooms(base_url: str, headers: dict[str, str]) -> set[int]:
    answer = requests.get(f"{base_url}/api/v1/tenant/rooms", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return {item["room"]["id"] for item in answer.json()["items"]}


def _new_room(desk_api: ApiUser) -> dict[str, Any]:
    buildings = desk_api.get("/admin/buildings")["items"]
    code = f"R-{random.randrange(10**6):06d}"
    return desk_api.post(
        "/admin/rooms", {"building_id": buildings[0]["id"], "code": code, "floor": 3}
    )


def test_move_in_transfer_and_family_through_the_room_page(
    desk: Any, console_url: str, console_app: Flask
) -> None:
    from playwright.sync_api import expect

    desk_api = ApiUser(console_url, DISPATCHER_PHONE)
    room = _new_room(desk_api)
    today = datetime.now(LOCAL_TZ).date()
    start = today - timedelta(days=60)
    owner_phone, spouse_phone, buyer_phone, child_phone = (_phone() for _ in range(4))

    # 业主入伙 through the form.
    desk.goto(f"{console_url}/console/rooms/{room['id']}")
    expect(desk.locator("#household")).to_contain_text("今天没有业主或租户")
    form = desk.locator("#move-in-form")
    form.get_by_label("入伙日期").fill(start.isoformat())
    form.get_by_label("或新客户姓名").fill("入伙业主")
    form.get_by_label("新客户手机号").fill(owner_phone)
    form.get_by_label("成员1姓名").fill("业主配偶")
    form.get_by_label("成员1手机号").fill(spouse_phone)
    form.get_by_label("成员1关系").select_option("配偶")
    form.get_by_role("button", name="办理入伙").click()
    desk.wait_for_url(re.compile(rf"/console/rooms/{room['id']}$"))
    household = desk.locator("#household")
    expect(household).to_contain_text("入伙业主")
    expect(household).to_contain_text("业主配偶")
    expect(household).to_contain_text("配偶")
    # The owner's and the spouse's phones find the room through the tenant API.
    assert room["id"] in _tenant_rooms(console_url, _tenant_headers(console_app, owner_phone))
    assert room["id"] in _tenant_rooms(console_url, _tenant_headers(console_app, spouse_phone))
    screenshot(desk, "residency-room-moved-in")

    # A second owner on a day the first holds: refused beside the form, nothing written.
    form = desk.locator("#move-in-form")
    form.get_by_label("入伙日期").fill(today.isoformat())
    form.get_by_label("或新客户姓名").fill("第二业主")
    form.get_by_role("button", name="办理入伙").click()
    expect(desk.locator("#move-in-form .error[role=alert]")).to_contain_text("已有业主")

    # 添加家庭成员, then 迁出 (ended yesterday: kept in the history).
    desk.goto(f"{console_url}/console/rooms/{room['id']}")
    desk.locator(".add-member summary").first.click()
    add = desk.locator(".add-member form").first
    add.get_by_label("或新客户姓名").fill("业主孩子")
    add.get_by_label("新客户手机号").fill(child_phone)
    add.get_by_label("与户主关系").select_option("子女")
    add.get_by_role("button", name="添加成员").click()
    desk.wait_for_url(re.compile(rf"/console/rooms/{room['id']}$"))
    row = desk.locator("#household tr", has_text="业主孩子")
    expect(row).to_contain_text("子女")
    child = _tenant_headers(console_app, child_phone)
    assert room["id"] in _tenant_rooms(console_url, child)
    row.get_by_label("迁出日期（最后一天）").fill((today - timedelta(days=1)).isoformat())
    row.get_by_role("button", name="迁出").click()
    desk.wait_for_url(re.compile(rf"/console/rooms/{room['id']}$"))
    expect(desk.locator("#household")).not_to_contain_text("业主孩子")
    expect(desk.locator("#history tr", has_text="业主孩子")).to_contain_text(
        (today - timedelta(days=1)).isoformat()
    )
    assert room["id"] not in _tenant_rooms(console_url, child)

    # 房屋过户 through the form: the history shows both owners with their periods.
    day = today - timedelta(days=5)
    form = desk.locator("#transfer-form")
    form.get_by_label("过户日期").fill(day.isoformat())
    form.get_by_label("或新客户姓名").fill("过户买家")
    form.get_by_label("新客户手机号").fill(buyer_phone)
    form.get_by_role("button", name="确认过户").click()
    desk.wait_for_url(re.compile(rf"/console/rooms/{room['id']}$"))
    history = desk.locator("#history")
    old_row = history.locator("tr", has_text="入伙业主").first  # then its household
    expect(old_row).to_contain_text(start.isoformat())
    expect(old_row).to_contain_text((day - timedelta(days=1)).isoformat())
    new_row = history.locator("tr", has_text="过户买家")
    expect(new_row).to_contain_text(day.isoformat())
    expect(new_row).to_contain_text("至今")
    expect(history.locator(".transfers")).to_contain_text("入伙业主 → 过户买家")
    expect(desk.locator("#household")).to_contain_text("过户买家")
    expect(desk.locator("#household")).not_to_contain_text("入伙业主")
    answer = desk_api.get(f"/admin/rooms/{room['id']}/history", on=day.isoformat())
    assert [r["customer"]["name"] for r in answer["relations"]] == ["过户买家"]
    assert room["id"] in _tenant_rooms(console_url, _tenant_headers(console_app, buyer_phone))
    screenshot(desk, "residency-room-transferred")

    # The customer page shows the old owner's room as ended.
    old_owner = next(
        r
        for r in desk_api.get(f"/admin/rooms/{room['id']}/history")["relations"]
        if r["customer"]["name"] == "入伙业主"
    )
    desk.goto(f"{console_url}/console/customers/{old_owner['customer']['id']}")
    expect(desk.locator(".customer-rooms")).to_contain_text(room["code"])
    expect(desk.locator(".customer-rooms")).to_contain_text("已结束")


def test_report_and_split_pages(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    desk_api = ApiUser(console_url, DISPATCHER_PHONE)
    room = _new_room(desk_api)
    desk.goto(f"{console_url}/console/residency")
    expect(desk.locator("h1")).to_contain_text("客服中心报表")
    expect(desk.locator(".occupancy")).to_contain_text("阳光花园")
    screenshot(desk, "residency-report")
    desk.get_by_role("link", name="拆分 / 合并房").first.click()
    form = desk.locator("#split-form")
    form.get_by_label("原房号").fill(room["code"])
    form.get_by_label("新房间（每行一个：房号 建筑面积，面积可不填；填写时之和须等于原面积）").fill(
        f"{room['code']}A\n{room['code']}B"
    )
    form.get_by_role("button", name="确认拆分").click()
    desk.wait_for_url(re.compile(rf"/console/rooms/{room['id']}$"))
    expect(desk.locator("h1")).to_contain_text("停用")
    expect(desk.locator(".lineage")).to_contain_text(f"{room['code']}A")
    # Once more: the room is retired, refused beside the form.
    desk.goto(f"{console_url}/console/residency/reshape")
    form = desk.locator("#split-form")
    form.get_by_label("原房号").fill(room["code"])
    form.get_by_label("新房间（每行一个：房号 建筑面积，面积可不填；填写时之和须等于原面积）").fill(
        "x1\nx2"
    )
    form.get_by_role("button", name="确认拆分").click()
    expect(desk.locator("#split-form .error[role=alert]")).to_contain_text("停用")
