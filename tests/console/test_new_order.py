"""代客报修 (the desk files on a resident's behalf): in the browser and through the test client.

The created order is checked through the JSON API as the desk (GET /api/v1/admin/orders/{id}),
and the slot counts against the API's own slot listing at the same moment.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

from flask import Flask

from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE
from server.kernel.clock import LOCAL_TZ
from tests.console.api import ApiUser
from tests.console.conftest import screenshot

RESIDENT = "13800000001"  # 张三, owner of 1-1-101
ORDER_PAGE = re.compile(r"(https?://[^/]+)?/console/orders/\d+")


# The JSON API, as the desk and as a resident --------------------------------------------


def _subtype(api: ApiUser, name: str) -> tuple[int, int]:
    for order_type in api.get("/catalog/order-types")["items"]:
        for subtype in order_type["subtypes"]:
            if subtype["name"] == name:
                return order_type["id"], subtype["id"]
    raise AssertionError(name)


def _resident_room(api: ApiUser) -> dict[str, Any]:
    rooms = api.get("/tenant/rooms")
    items = rooms["items"] if isinstance(rooms, dict) else rooms
    return dict(items[0]["room"])


def _slot(api: ApiUser, subtype_id: int, room_id: int, start: str) -> dict[str, Any]:
    day = start[:10]
    for slot in api.get(f"/catalog/subtypes/{subtype_id}/slots", date=day, room_id=room_id):
        if slot["start"] == start:
            return dict(slot)
    raise AssertionError(start)


# The form in the browser -------------------------------------------------------------------


def _open_form(desk: Any, console_url: str) -> None:
    desk.get_by_role("link", name="代客报修").click()
    desk.wait_for_url(f"{console_url}/console/orders/new")


def _pick_room_and_contact(desk: Any, room_label: str, contact: str) -> None:
    desk.get_by_label("房号").fill(room_label.split()[-1])
    desk.get_by_role("radio", name=room_label).check()
    desk.get_by_role("radio", name=re.compile(contact)).check()
    # The contact's name and whole phone are filled in, editable.
    expect_value(desk.get_by_label("联系人姓名"), contact)


def expect_value(locator: Any, value: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_have_value(value)


def _pick_subtype(desk: Any, type_name: str, subtype_name: str) -> None:
    from playwright.sync_api import expect

    desk.get_by_label("报修类型").select_option(label=type_name)
    subtype = desk.get_by_label("报修子类")
    expect(subtype).to_be_enabled()
    option = subtype.locator("option", has_text=subtype_name)
    subtype.select_option(value=option.get_attribute("value"))


def _catch_filing(desk: Any) -> list[int]:
    """The order's page belongs to another screen (and a route never sees a redirect): the
    filing's answer is fetched here, the order id of its 303 target kept, and a stub page
    shown instead."""
    filed: list[int] = []

    def handle(route: Any) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        answer = route.fetch(max_redirects=0)
        if answer.status != 303:
            route.fulfill(response=answer)
            return
        location = answer.headers["location"]
        assert ORDER_PAGE.fullmatch(location), location
        filed.append(int(location.rsplit("/", 1)[1]))
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body="<p>已提交</p>")

    desk.route("**/console/orders/new", handle)
    return filed


def test_desk_files_a_booked_order_on_a_residents_behalf(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    api = ApiUser(console_url, DISPATCHER_PHONE)
    resident = ApiUser(console_url, RESIDENT)
    room = _resident_room(resident)
    _, subtype_id = _subtype(api, "空调不制冷")
    day = (_now_local() + timedelta(days=3)).date().isoformat()

    _open_form(desk, console_url)
    _pick_room_and_contact(desk, room["label"], "张三")
    expect_value(desk.get_by_label("联系电话"), RESIDENT)
    _pick_subtype(desk, "空调维修", "空调不制冷")
    expect(desk.locator(".fee")).to_contain_text("完成后收费")
    row = desk.locator(f'.slot-grid tr[data-date="{day}"]')
    free = row.locator("label.slot:not(.off)").first
    start = free.get_attribute("data-start")
    assert start
    before = int(free.get_attribute("data-remaining") or "0")
    tenant_before = _slot(resident, subtype_id, room["id"], start)["remaining"]
    free.locator("input").check()
    desk.get_by_label("问题描述").fill("空调开机后不出冷风，代住户登记")
    desk.get_by_label("紧急").check()
    desk.locator("h1").scroll_into_view_if_needed()
    screenshot(desk, "new_order")

    filed = _catch_filing(desk)
    desk.get_by_role("button", name="提交报修").click()
    expect(desk.get_by_text("已提交")).to_be_visible()
    assert len(filed) == 1
    order_id = filed[0]

    order = api.get(f"/admin/orders/{order_id}")
    assert order["slot_start"] == start
    assert order["description"] == "空调开机后不出冷风，代住户登记"
    assert order["status"] == "pending"
    assert order["priority"] == "urgent"
    assert order["channel"] == "staff"
    assert order["room"]["id"] == room["id"]
    assert order["contact_phone"] == RESIDENT
    # The resident sees it among their own orders.
    mine = resident.get("/tenant/orders")
    assert order_id in [o["id"] for o in mine["items"]]

    # The slot's remaining places dropped by one, in the grid and in the API's listing.
    assert _slot(resident, subtype_id, room["id"], start)["remaining"] == tenant_before - 1
    desk.goto(f"{console_url}/console/orders/new?room_id={room['id']}&subtype_id={subtype_id}")
    slot = desk.locator(f'label.slot[data-start="{start}"]')
    expect(slot).to_have_attribute("data-remaining", str(before - 1))
    assert _slot(api, subtype_id, room["id"], start)["remaining"] == before - 1

    # It waits in the workbench's 待派单 queue (oldest first: on the last page).
    desk.goto(f"{console_url}/console/workbench?queue=unassigned")
    total = int(desk.locator('.tile[data-queue="unassigned"] .count').inner_text())
    desk.goto(
        f"{console_url}/console/workbench?queue=unassigned&page={max(1, math.ceil(total / 20))}"
    )
    expect(desk.locator("table.orders")).to_contain_text(order["number"])


def test_a_full_slot_cannot_be_picked(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    api = ApiUser(console_url, DISPATCHER_PHONE)
    resident = ApiUser(console_url, RESIDENT)
    room = _resident_room(resident)
    _, subtype_id = _subtype(api, "窗户维修")  # the default grid: no desk reserve
    day = (_now_local() + timedelta(days=4)).date().isoformat()
    # One place at 10:00 that day, taken by the resident.
    api.post(
        f"/admin/booking/subtypes/{subtype_id}/exceptions",
        {"date": day, "slot_time": "10:00", "quota": 1},
    )
    start = f"{day}T10:00:00+08:00"
    if _slot(api, subtype_id, room["id"], start)["remaining"] > 0:
        resident.post(
            "/tenant/orders",
            {
                "subtype_id": subtype_id,
                "room_id": room["id"],
                "description": "窗户关不严",
                "slot_start": start,
            },
        )
    assert _slot(api, subtype_id, room["id"], start)["available"] is False

    desk.goto(f"{console_url}/console/orders/new?room_id={room['id']}&subtype_id={subtype_id}")
    full = desk.locator(f'label.slot[data-start="{start}"]')
    expect(full).to_have_class(re.compile(r"\boff\b"))
    expect(full.locator("input")).to_be_disabled()
    expect(full).to_contain_text("已约满")
    full.scroll_into_view_if_needed()
    screenshot(desk, "new_order_full_slot")
    # The other slots of that day are open.
    expect(desk.locator(f'tr[data-date="{day}"] label.slot:not(.off) input').first).to_be_enabled()


def test_a_missing_description_is_shown_beside_the_field(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    resident = ApiUser(console_url, RESIDENT)
    room = _resident_room(resident)
    _open_form(desk, console_url)
    _pick_room_and_contact(desk, room["label"], "张三")
    _pick_subtype(desk, "水电维修", "水管漏水")
    desk.get_by_role("button", name="提交报修").click()

    error = desk.locator("#err-description")
    expect(error).to_have_text("必填项")
    expect(desk.get_by_label("问题描述")).to_have_attribute("aria-invalid", "true")
    # What was entered is still there, and the form can be sent again.
    expect(desk.get_by_role("radio", name=room["label"])).to_be_checked()
    expect_value(desk.get_by_label("联系电话"), RESIDENT)
    expect(desk.get_by_label("报修子类")).to_have_value(re.compile(r"\d+"))
    expect(desk.get_by_role("button", name="提交报修")).to_be_enabled()
    desk.locator("h1").scroll_into_view_if_needed()
    screenshot(desk, "new_order_refused")


def test_the_form_is_sent_once(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    _open_form(desk, console_url)
    # Record each submit as it leaves the page (and keep the browser where it is).
    desk.evaluate(
        """() => {
            window.sent = [];
            window.addEventListener("submit", (e) => {
                window.sent.push(e.defaultPrevented);
                e.preventDefault();
            });
        }"""
    )
    desk.get_by_role("button", name="提交报修").click()
    submit = desk.locator("#submit-order")
    expect(submit).to_be_disabled()
    expect(submit).to_have_text("提交中…")
    desk.evaluate("() => document.getElementById('new-order-form').requestSubmit()")
    # The second submit was stopped by the page (the server keys the filing by the form's
    # token too: `test_the_same_form_sent_twice_files_one_order`).
    assert desk.evaluate("() => window.sent") == [False, True]


# Without a browser ----------------------------------------------------------------------------


def _client(app: Flask) -> Any:
    client = app.test_client()
    r = client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert r.status_code in (302, 303), r.status_code
    return client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_room_search_and_contacts_mask_phones_but_fill_the_chosen_one(console_app: Flask) -> None:
    client = _client(console_app)
    rooms = client.get("/console/orders/new/rooms?room_q=1-1-101").get_data(as_text=True)
    room_ids = re.findall(r'name="room_id" value="(\d+)"', rooms)
    assert room_ids
    contacts = ""
    for room_id in room_ids:
        contacts = client.get(f"/console/orders/new/room?room_id={room_id}").get_data(as_text=True)
        if "张三" in contacts:
            break
    assert "138****0001" in contacts
    assert "13800000001" not in contacts
    contact_id = re.search(r'name="contact_id" value="(\d+)"', contacts)
    assert contact_id
    chosen = client.get(
        f"/console/orders/new/room?room_id={room_id}&contact_id={contact_id.group(1)}"
    ).get_data(as_text=True)
    assert 'value="13800000001"' in chosen
    # A short code matches many rooms: the first ones, and a word that there are more.
    many = client.get("/console/orders/new/rooms?room_q=1").get_data(as_text=True)
    assert len(re.findall(r'name="room_id"', many)) == 20
    assert "只显示前 20 个" in many
    # The search is escaped like any user input.
    evil = client.get("/console/orders/new/rooms?room_q=<script>x</script>").get_data(as_text=True)
    assert "<script>x" not in evil and "&lt;script&gt;x" in evil


def test_the_same_form_sent_twice_files_one_order(console_app: Flask) -> None:
    client = _client(console_app)
    page = client.get("/console/orders/new").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert token
    rooms = client.get("/console/orders/new/rooms?room_q=1-1-102").get_data(as_text=True)
    room_id = re.findall(r'name="room_id" value="(\d+)"', rooms)[0]
    catalog = client.get("/console/orders/new").get_data(as_text=True)
    type_id = re.search(r'<option value="(\d+)">水电维修</option>', catalog)
    assert type_id
    subtypes = client.get(f"/console/orders/new/subtypes?order_type_id={type_id.group(1)}")
    subtype_id = re.search(r'<option value="(\d+)">电路故障', subtypes.get_data(as_text=True))
    assert subtype_id
    form = {
        "csrf_token": _csrf(page),
        "form_token": token.group(1),
        "room_id": room_id,
        "subtype_id": subtype_id.group(1),
        "contact_name": "李四",
        "contact_phone": "13800000002",
        "description": "插座没电（前台代登记）",
        "priority": "normal",
        "payer": "tenant",
    }
    first = client.post("/console/orders/new", data=form)
    second = client.post("/console/orders/new", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert re.fullmatch(r"/console/orders/\d+", first.headers["Location"])


def test_a_refusal_of_the_use_case_is_shown_with_status_200(console_app: Flask) -> None:
    client = _client(console_app)
    page = client.get("/console/orders/new").get_data(as_text=True)
    form = {
        "csrf_token": _csrf(page),
        "form_token": "t-refused",
        "room_id": "999999999",
        "subtype_id": "999999999",
        "contact_phone": "13800000002",
        "description": "x",
    }
    r = client.post("/console/orders/new", data=form)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'role="alert"' in html
    assert "报修类型不存在或已停用" in html
    # Without the CSRF token nothing is filed.
    r = client.post("/console/orders/new", data={**form, "csrf_token": "nope"})
    assert r.status_code == 403


def test_a_pay_on_order_subtype_asks_for_a_spec_and_the_company_may_pay(
    console_app: Flask,
) -> None:
    client = _client(console_app)
    page = client.get("/console/orders/new").get_data(as_text=True)
    type_id = re.search(r'<option value="(\d+)">门窗维修</option>', page)
    assert type_id
    subtypes = client.get(f"/console/orders/new/subtypes?order_type_id={type_id.group(1)}")
    subtype_id = re.search(r'<option value="(\d+)">门锁更换', subtypes.get_data(as_text=True))
    assert subtype_id
    rooms = client.get("/console/orders/new/rooms?room_q=1-1-201").get_data(as_text=True)
    room_id = re.findall(r'name="room_id" value="(\d+)"', rooms)[0]
    details = client.get(
        f"/console/orders/new/details?subtype_id={subtype_id.group(1)}&room_id={room_id}"
    ).get_data(as_text=True)
    assert "下单即收费" in details
    spec = re.search(r'<option value="(\d+)">[^<]* ¥[\d,]+\.\d\d</option>', details)
    assert spec, details
    form = {
        "csrf_token": _csrf(page),
        "form_token": "t-" + spec.group(1) + "-" + room_id,
        "room_id": room_id,
        "subtype_id": subtype_id.group(1),
        "contact_name": "赵六",
        "contact_phone": "13800000004",
        "description": "门锁坏了，单位承担费用",
        "payer": "company",
    }
    # The use case refuses a pay-on-order filing without its spec: shown beside the field.
    refused = client.post("/console/orders/new", data=form)
    assert refused.status_code == 200
    assert 'id="err-spec_id"' in refused.get_data(as_text=True)
    assert "请选择服务规格" in refused.get_data(as_text=True)

    filed = client.post("/console/orders/new", data={**form, "spec_id": spec.group(1)})
    assert filed.status_code == 303
    order_id = filed.headers["Location"].rsplit("/", 1)[1]
    token = client.post(
        "/api/v1/auth/login",
        json={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    ).get_json()["access_token"]
    order = client.get(
        f"/api/v1/admin/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    # 公司代付: nothing for the resident to pay first, so it goes straight to the pool.
    assert order["payer"] == "company"
    assert order["status"] == "pending"
    assert order["payment_status"] == "none"
    assert order["channel"] == "staff"


def _now_local() -> Any:
    from datetime import datetime

    return datetime.now(LOCAL_TZ)


def test_the_room_picker_leaves_out_retired_rooms(console_app: Flask) -> None:
    """The demo split 3-1101 into 3-1101A and 3-1101B: only the new rooms are offered."""
    client = console_app.test_client()
    signed = client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert signed.status_code == 303
    html = client.get("/console/orders/new/rooms", query_string={"room_q": "3-1101"}).get_data(
        as_text=True
    )
    labels = re.findall(r"<span>([^<]*3-1101[^<]*)</span>", html)
    assert labels and all(label.endswith(("3-1101A", "3-1101B")) for label in labels), labels
