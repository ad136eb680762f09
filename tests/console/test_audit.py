"""日志管理 and 解绑微信 in the console: the desk unbinds a resident's old WeChat in the browser,
the log shows it (filters in the URL, compared with the JSON API at the same moment), exports
it, and a dispatcher (whose preset has no 日志 permission) is told they may not see it.

The console database is shared by every console test: each test creates what it looks at."""

from __future__ import annotations

import csv
import io
import re
import secrets
from typing import Any

from flask import Flask
from sqlalchemy import select

from server.accounts.models import User
from server.demo_data import DEMO_ORG_CODE, DISPATCHER_PHONE
from server.kernel.personal_data import mask_phone
from server.kernel.roles import Role
from server.organisation.models import Organisation
from tests.console.conftest import screenshot
from tests.console.test_security import api_login, csrf_of, new_staff, sign_in


def wechat_resident(app: Flask) -> tuple[int, str]:
    """A resident of the demo organisation whose account is bound to a WeChat (setup only)."""
    phone = "135" + str(secrets.randbelow(10**8)).zfill(8)
    with app.extensions["baoxiu"].db.transaction() as unit:
        org_id = unit.session.scalar(
            select(Organisation.id).where(Organisation.code == DEMO_ORG_CODE)
        )
        user = User(
            org_id=org_id,
            phone=phone,
            roles=[Role.TENANT.value],
            name="换了微信的住户",
            wechat_openid="o" + secrets.token_hex(8),
        )
        unit.session.add(user)
        unit.session.flush()
        return user.id, phone


def openid_of(app: Flask, user_id: int) -> str | None:
    with app.extensions["baoxiu"].db.transaction() as unit:
        return unit.session.scalar(select(User.wechat_openid).where(User.id == user_id))


def test_the_desk_unbinds_a_wechat_and_the_log_shows_it(
    desk: Any, console_url: str, console_app: Flask
) -> None:
    from playwright.sync_api import expect

    user_id, phone = wechat_resident(console_app)
    reason = "住户换了手机和微信 " + secrets.token_hex(3)
    desk.goto(f"{console_url}/console/wechat-unbind")
    # A phone with no WeChat: refused beside the button, nothing changed.
    _, bare_phone = wechat_resident(console_app)
    desk.get_by_label("手机号").fill("13799990000")
    desk.get_by_label("解绑原因").fill("试一下")
    desk.get_by_role("button", name="解绑").click()
    expect(desk.locator("#unbind-error")).to_have_text("该手机号没有账号")
    assert bare_phone  # (a second resident exists; only the one named is unbound)

    desk.get_by_label("手机号").fill(phone)
    desk.get_by_label("解绑原因").fill(reason)
    desk.get_by_role("button", name="解绑").click()
    expect(desk.locator("#unbind-done")).to_contain_text(mask_phone(phone) or "")
    assert openid_of(console_app, user_id) is None
    screenshot(desk, "wechat_unbind")

    # The log, filtered in the URL by kind, shows the row the JSON API answers.
    desk.goto(f"{console_url}/console/audit")
    desk.get_by_label("日志类型").select_option("wechat_unbound")
    desk.get_by_role("button", name="筛选").click()
    desk.wait_for_url(re.compile(r"/console/audit\?.*kind=wechat_unbound"))
    expect(desk.get_by_label("日志类型")).to_have_value("wechat_unbound")
    api = console_app.test_client().get(
        "/api/v1/admin/audit-log",
        query_string={"kind": "wechat_unbound", "target_type": "user", "target_id": user_id},
        headers=api_login(console_app, DISPATCHER_PHONE),
    )
    [entry] = api.json["items"]
    assert entry["data"]["reason"] == reason and phone not in str(entry)
    row = desk.locator(f'tr[data-entry="{entry["id"]}"]')
    expect(row).to_contain_text(entry["summary"])
    expect(row).to_contain_text("解绑微信")
    expect(row).to_contain_text(entry["actor_name"])
    assert phone not in desk.content()
    screenshot(desk, "audit_log")

    # Back, forward and reload keep the filters; the object link narrows to the account.
    row.get_by_role("link", name=f"账号 #{user_id}").click()
    desk.wait_for_url(re.compile(rf"target_id={user_id}"))
    expect(desk.locator("tr[data-entry]")).to_have_count(1)
    desk.go_back()
    expect(desk.get_by_label("日志类型")).to_have_value("wechat_unbound")


def test_filters_export_and_admins_only(console_app: Flask) -> None:
    client = console_app.test_client()
    assert sign_in(client, DISPATCHER_PHONE, "demo1234").status_code == 303
    page = client.get("/console/audit?kind=login_succeeded&date_from=2026-01-01&junk=1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<option value="login_succeeded" selected>' in html
    assert 'value="2026-01-01"' in html
    assert "export.csv?kind=login_succeeded&amp;date_from=2026-01-01" in html
    # A bad value is dropped (the list shows unfiltered), never a 4xx for the browser.
    assert client.get("/console/audit?kind=nonsense&date_to=x").status_code == 200

    answer = client.get("/console/audit/export.csv?kind=login_succeeded")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    raw = answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][0] == "时间" and len(table) > 1
    assert {row[4] for row in table[1:]} == {"登录成功"}
    xlsx = client.get("/console/audit/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"
    # The console's exports are recorded like the API's.
    recorded = client.get("/console/audit?kind=export").get_data(as_text=True)
    assert "导出操作日志（CSV" in recorded and "导出操作日志（XLSX" in recorded

    # A dispatcher who is no admin: told, with a 200 (no error in the browser's log).
    plain = new_staff(console_app, ["dispatcher"])
    other = console_app.test_client()
    assert sign_in(other, plain["phone"]).status_code == 303
    refused = other.get("/console/audit")
    assert refused.status_code == 200 and "没有此权限" in refused.get_data(as_text=True)
    assert "没有此权限" in other.get("/console/audit/export.csv").get_data(as_text=True)
    # …and the navigation does not offer it.
    assert 'href="/console/audit"' not in other.get("/console/workbench").get_data(as_text=True)
    # The unbinding is the desk's: a dispatcher may open it (CSRF required on the post).
    form = other.get("/console/wechat-unbind")
    assert form.status_code == 200
    posted = other.post(
        "/console/wechat-unbind",
        data={"phone": "", "reason": "", "csrf_token": csrf_of(form.get_data(as_text=True))},
    )
    assert posted.status_code == 200 and 'role="alert"' in posted.get_data(as_text=True)
    assert other.post("/console/wechat-unbind", data={"phone": "1"}).status_code == 403
