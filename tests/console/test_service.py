"""The daily service screens in the browser and through Flask's test client:
回访 (record a call from the queue), 投诉建议 (classify, assign, reply, close a tenant's
complaint), 通知公告 (compose → publish → a tenant reads it → the read count moves),
满意度调查 (build, open, a tenant answers, the results count it).

The console database is shared by every console test: each test creates what it looks at,
and compares the page with the JSON API's answer at the same moment.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask

from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE
from server.kernel.clock import LOCAL_TZ
from tests.console.conftest import screenshot
from tests.notices.conftest import fan_out
from tests.uploads.helpers import image_bytes

RESIDENT = "13800000001"
API = "/api/v1"


def api_headers(base: str, phone: str) -> dict[str, str]:
    r = requests.post(
        f"{base}{API}/auth/login",
        json={"phone": phone, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def api(base: str, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    r = requests.request(method, f"{base}{API}{path}", headers=headers, timeout=10, **kw)
    assert r.status_code < 300, (r.status_code, r.text)
    return r.json()


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


# --- the browser flows --------------------------------------------------------------------------


def test_notice_published_to_a_community_is_read_by_a_tenant(
    desk: Any, console_url: str, console_app: Flask
) -> None:
    from playwright.sync_api import expect

    title = unique("停水通知")
    desk.goto(f"{console_url}/console/notices")
    desk.get_by_role("link", name="发布通知").click()
    desk.get_by_label("标题").fill(title)
    desk.get_by_label("正文").fill("明日 9:00–12:00 阳光花园停水检修，请提前储水。")
    desk.get_by_label("指定小区").check()
    # Only the chosen scope's picker is shown.
    expect(desk.locator('[data-for-scope="rooms"]')).to_be_hidden()
    desk.locator('[data-for-scope="communities"]').get_by_label("阳光花园").check()
    screenshot(desk, "notice_new")
    desk.get_by_role("button", name="发布", exact=True).click()
    desk.wait_for_url(re.compile(r"/console/notices/\d+$"))
    notice_id = int(desk.url.rsplit("/", 1)[1])
    expect(desk.locator("h1")).to_contain_text(title)
    expect(desk.locator(".kv")).to_contain_text("阳光花园")

    # The background fan-out, delivered in-process as a worker would (tests/notices do so).
    fan_out(console_app)
    tenant = api_headers(console_url, RESIDENT)
    inbox = api(console_url, "GET", "/tenant/notices", tenant, params={"unread": "true"})
    assert notice_id in [n["id"] for n in inbox["items"]]
    desk_api = api_headers(console_url, DISPATCHER_PHONE)
    before = api(console_url, "GET", f"/admin/notices/{notice_id}", desk_api)
    assert before["recipients"] >= 1 and before["read"] == 0

    api(console_url, "POST", f"/tenant/notices/{notice_id}/read", tenant)
    after = api(console_url, "GET", f"/admin/notices/{notice_id}", desk_api)
    assert after["read"] == 1
    desk.reload()
    expect(desk.locator('[data-count="read"]')).to_have_text(str(after["read"]))
    expect(desk.locator('[data-count="unread"]')).to_have_text(str(after["unread"]))
    expect(desk.locator('[data-count="recipients"]')).to_have_text(str(after["recipients"]))
    # The resident who read it is not on the unread list; phones there are masked.
    unread_text = desk.locator(".unread-list").inner_text() if after["unread"] else ""
    assert "13800000001" not in unread_text
    assert not re.search(r"\b1\d{10}\b", unread_text)
    screenshot(desk, "notice")

    desk.goto(f"{console_url}/console/notices")
    row = desk.locator(f'tr[data-notice="{notice_id}"]')
    expect(row.locator(".read")).to_have_text(str(after["read"]))


def test_a_return_visit_is_recorded_from_the_queue(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    desk_api = api_headers(console_url, DISPATCHER_PHONE)
    due = api(console_url, "GET", "/admin/return-visits", desk_api, params={"status": "due"})
    if not due["items"]:
        pytest.skip("no due return visit left in the shared console database")
    first = due["items"][0]

    desk.goto(f"{console_url}/console/visits")
    rows = desk.locator("tr.visit-row")
    # The queue is the API's, in the same order (due, oldest first).
    expect(rows.first).to_have_attribute("data-visit", str(first["id"]))
    row = desk.locator(f'tr[data-visit="{first["id"]}"]')
    expect(row.get_by_role("link", name=first["order"]["number"])).to_have_attribute(
        "href", f"/console/orders/{first['order_id']}"
    )
    expect(row).to_contain_text(first["reason_label"])
    screenshot(desk, "visits")

    # Reached but no answer to "satisfied": the use case's rule, shown beside the form.
    row.get_by_label("联系上", exact=True).check()
    row.get_by_role("button", name="记录回访").click()
    row = desk.locator(f'tr[data-visit="{first["id"]}"]')
    expect(row.locator(".error")).to_contain_text("联系上住户时须填写是否满意")

    row.get_by_label("联系上", exact=True).check()
    row.get_by_label("满意", exact=True).check()
    row.get_by_label("备注").fill("住户表示维修及时")
    row.get_by_role("button", name="记录回访").click()
    expect(desk.locator(f'tr[data-visit="{first["id"]}"]')).to_have_count(0)
    done = api(console_url, "GET", f"/admin/return-visits/{first['id']}", desk_api)
    assert (done["status"], done["reached"], done["satisfied"]) == ("done", True, True)
    assert done["notes"] == "住户表示维修及时"


def test_a_tenant_complaint_is_classified_answered_and_closed(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    tenant = api_headers(console_url, RESIDENT)
    photo = api(
        console_url,
        "POST",
        "/uploads",
        tenant,
        files={"file": ("lamp.png", image_bytes("PNG"), "image/png")},
    )
    text = unique("楼道灯坏了一周没人修，物业电话也打不通 ")
    filed = api(
        console_url,
        "POST",
        "/tenant/complaints",
        tenant,
        json={"kind": "complaint", "text": text, "image_ids": [photo["id"]]},
    )

    desk.goto(f"{console_url}/console/complaints?status=open")
    row = desk.locator(f'tr[data-complaint="{filed["id"]}"]')
    expect(row).to_contain_text("待处理")
    expect(row).to_contain_text("138****0001")  # the complainant's phone, masked
    screenshot(desk, "complaints")
    row.get_by_role("link").click()
    desk.wait_for_url(f"{console_url}/console/complaints/{filed['id']}")

    # The photo comes through the console's own session (no API token in the browser).
    expect(desk.locator(".photos img")).to_have_count(1)
    desk.wait_for_function(
        "() => { const i = document.querySelector('.photos img');"
        " return i && i.complete && i.naturalWidth === 64; }"
    )

    # Closing before answering the tenant: the use case's refusal, beside the button.
    desk.get_by_role("button", name="办结").click()
    expect(desk.locator("#close .error")).to_have_text("请先答复住户再办结")

    desk.get_by_label("分类").select_option(label="公共设施")
    desk.get_by_label("严重程度").select_option(label="严重")
    desk.get_by_role("button", name="保存分类").click()
    expect(desk.locator(".kv")).to_contain_text("公共设施")
    desk.get_by_label("交办给").select_option(label="工程部")
    desk.get_by_role("button", name="交办").click()
    expect(desk.locator(".kv")).to_contain_text("工程部")
    desk.get_by_label("答复住户").fill("已安排工程部今天下午更换灯具，给您带来不便深表歉意。")
    desk.get_by_role("button", name="发送答复").click()
    expect(desk.locator(".thread li.from-desk")).to_contain_text("已安排工程部")
    desk.evaluate("window.scrollTo(0, 0)")
    screenshot(desk, "complaint")

    desk.get_by_role("button", name="办结").click()
    expect(desk.locator("h1")).to_contain_text("已办结")
    seen = api(console_url, "GET", f"/tenant/complaints/{filed['id']}", tenant)
    assert seen["status"] == "closed" and seen["category"] == "facilities"
    assert seen["severity"] == "high"
    assert [r["author_role"] for r in seen["replies"]] == ["desk"]


def test_a_survey_is_built_opened_answered_and_counted(desk: Any, console_url: str) -> None:
    from playwright.sync_api import expect

    title = unique("报修满意度")
    desk.goto(f"{console_url}/console/surveys")
    desk.get_by_role("link", name="新建问卷").click()
    desk.get_by_label("问卷标题").fill(title)
    questions = desk.locator("fieldset.question")
    questions.nth(0).get_by_label("题目").fill("您对维修服务的总体评价")
    desk.get_by_role("button", name="添加单选题").click()
    questions = desk.locator("fieldset.question")
    expect(questions).to_have_count(2)
    # What was typed survives the round trip.
    expect(questions.nth(0).get_by_label("题目")).to_have_value("您对维修服务的总体评价")
    questions.nth(1).get_by_label("题目").fill("师傅是否准时上门")
    questions.nth(1).get_by_label("选项").fill("准时\n迟到")
    desk.get_by_label("指定小区").check()
    desk.locator('[data-for-scope="communities"]').get_by_label("阳光花园").check()
    screenshot(desk, "survey_builder")
    desk.get_by_role("button", name="保存草稿").last.click()
    desk.wait_for_url(re.compile(r"/console/surveys/\d+$"))
    survey_id = int(desk.url.rsplit("/", 1)[1])
    expect(desk.locator("h1")).to_contain_text("草稿")
    desk.get_by_role("button", name="开放问卷").click()
    expect(desk.locator("h1")).to_contain_text("进行中")

    tenant = api_headers(console_url, RESIDENT)
    seen = api(console_url, "GET", f"/tenant/surveys/{survey_id}", tenant)
    scale_q, choice_q = seen["questions"]
    api(
        console_url,
        "POST",
        f"/tenant/surveys/{survey_id}/answers",
        tenant,
        json={
            "answers": [
                {"question_id": scale_q["id"], "scale": 4},
                {"question_id": choice_q["id"], "choice": 0},
            ]
        },
    )
    desk.reload()
    expect(desk.locator(".responses")).to_have_text("1")
    scale = desk.locator(f'[data-question="{scale_q["id"]}"]')
    expect(scale.locator(".average")).to_have_text("4.00")
    expect(scale.locator("tbody tr").nth(3)).to_contain_text("1")
    choice = desk.locator(f'[data-question="{choice_q["id"]}"]')
    expect(choice.locator("tbody tr").nth(0)).to_contain_text("准时")
    expect(choice.locator("tbody tr").nth(0).locator("td.num").first).to_have_text("1")
    expect(desk.locator("table.by-place").first).to_contain_text("阳光花园")
    expect(desk.locator("table.by-place").last).to_contain_text("阳光花园 1栋")
    expect(desk.locator(f'[data-chart="{choice_q["id"]}"] svg')).to_have_count(1)
    desk_api = api_headers(console_url, DISPATCHER_PHONE)
    results = api(console_url, "GET", f"/admin/surveys/{survey_id}/results", desk_api)
    assert results["responses"] == 1
    assert results["questions"][1]["tally"]["option_counts"] == [1, 0]
    screenshot(desk, "survey_results")

    desk.get_by_role("button", name="结束问卷").click()
    expect(desk.locator("h1")).to_contain_text("已结束")


# --- without a browser ---------------------------------------------------------------------------


def signed_in(console_app: Flask) -> tuple[Any, str]:
    client = console_app.test_client()
    r = client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert r.status_code in (302, 303), r.status_code
    page = client.get("/console/notices/new").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return client, match.group(1)


def test_every_screen_answers_with_the_console_headers(console_app: Flask) -> None:
    client, _ = signed_in(console_app)
    for path in (
        "/console/visits",
        "/console/visits?status=done&page=2",
        "/console/visits?status=bogus&order_id=x",
        "/console/visits?status=all&page=2",
        "/console/complaints?status=open&status=processing&severity=high",
        "/console/complaints?kind=nope&page=-3",
        "/console/notices?audience=staff",
        "/console/notices/new",
        "/console/surveys?status=open",
        "/console/surveys/new",
    ):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["Cache-Control"] == "no-store", path
        assert "script-src 'self'" in r.headers["Content-Security-Policy"], path
    every = client.get("/console/visits?status=").get_data(as_text=True)
    assert "全部回访" in every
    if 'rel="next"' in every:
        assert "status=all" in every
    assert client.get("/console/complaints/999999").status_code == 404
    assert client.get("/console/notices/999999").status_code == 404
    assert client.get("/console/surveys/999999").status_code == 404
    assert client.get(f"/console/service-images/{'0' * 32}").status_code == 404


def test_writes_need_the_csrf_token(console_app: Flask) -> None:
    client, _ = signed_in(console_app)
    r = client.post("/console/notices", data={"title": "x", "body": "y", "scope": "org"})
    assert r.status_code == 403
    assert "CSRF" in r.get_data(as_text=True)


def test_a_notice_form_sent_twice_publishes_once(console_app: Flask, console_url: str) -> None:
    client, csrf = signed_in(console_app)
    title = unique("重复提交")
    form = {
        "csrf_token": csrf,
        "form_token": secrets.token_urlsafe(24),
        "title": title,
        "body": "正文",
        "scope": "org",
    }
    first = client.post("/console/notices", data=form)
    second = client.post("/console/notices", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    desk_api = api_headers(console_url, DISPATCHER_PHONE)
    listed = api(console_url, "GET", "/admin/notices", desk_api, params={"page_size": 100})
    assert [n["title"] for n in listed["items"]].count(title) == 1
    # The used form sent with other contents (back, edit, send): refused, nothing published.
    edited = client.post("/console/notices", data={**form, "body": "改过的正文"})
    assert edited.status_code == 200
    assert "该表单已提交过" in edited.get_data(as_text=True)


def test_a_refused_notice_keeps_the_form_and_says_why(console_app: Flask) -> None:
    client, csrf = signed_in(console_app)
    r = client.post(
        "/console/notices",
        data={
            "csrf_token": csrf,
            "form_token": secrets.token_urlsafe(24),
            "title": "<b>停电</b>",
            "body": "正文",
            "scope": "communities",  # and no community chosen
        },
    )
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "请选择发布对象" in html
    assert "&lt;b&gt;停电&lt;/b&gt;" in html and "<b>停电</b>" not in html


def test_recording_a_visit_twice_is_refused_beside_the_form(
    console_app: Flask, console_url: str
) -> None:
    desk_api = api_headers(console_url, DISPATCHER_PHONE)
    due = api(console_url, "GET", "/admin/return-visits", desk_api, params={"status": "due"})
    if not due["items"]:
        pytest.skip("no due return visit left in the shared console database")
    visit_id = due["items"][-1]["id"]
    client, csrf = signed_in(console_app)
    form = {"csrf_token": csrf, "reached": "no", "notes": "无人接听"}
    first = client.post(f"/console/visits/{visit_id}/outcome?status=due", data=form)
    assert first.status_code == 303
    assert first.headers["Location"].endswith("/console/visits?status=due")
    again = client.post(f"/console/visits/{visit_id}/outcome?status=due", data=form)
    assert again.status_code == 200
    assert "该回访已记录结果" in again.get_data(as_text=True)


def test_complaint_text_is_escaped(console_app: Flask, console_url: str) -> None:
    tenant = api_headers(console_url, RESIDENT)
    filed = api(
        console_url,
        "POST",
        "/tenant/complaints",
        tenant,
        json={"kind": "suggestion", "text": "<script>alert(1)</script> 建议增加路灯"},
    )
    client, _ = signed_in(console_app)
    html = client.get(f"/console/complaints/{filed['id']}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_survey_export_is_the_apis(console_app: Flask, console_url: str) -> None:
    desk_api = api_headers(console_url, DISPATCHER_PHONE)
    created = api(
        console_url,
        "POST",
        "/admin/surveys",
        desk_api,
        json={
            "title": unique("导出"),
            "scope": "org",
            "questions": [{"kind": "text", "text": "建议"}],
        },
    )
    client, _ = signed_in(console_app)
    for fmt, media in (
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        mine = client.get(f"/console/surveys/{created['id']}/export?format={fmt}")
        theirs = requests.get(
            f"{console_url}{API}/admin/surveys/{created['id']}/export",
            params={"format": fmt},
            headers=desk_api,
            timeout=10,
        )
        assert mine.status_code == 200 and mine.mimetype == media
        assert "attachment" in mine.headers["Content-Disposition"]
        if fmt == "csv":
            assert mine.data == theirs.content


def test_scheduled_staff_notice_and_withdrawing_twice(console_app: Flask, console_url: str) -> None:
    client, csrf = signed_in(console_app)
    tomorrow = (datetime.now(LOCAL_TZ) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        "/console/notices",
        data={
            "csrf_token": csrf,
            "form_token": secrets.token_urlsafe(24),
            "title": unique("员工例会"),
            "body": "周五下午三点例会",
            "scope": "all_staff",
            "publish_at": tomorrow,
        },
    )
    assert r.status_code == 303
    notice_id = int(r.headers["Location"].rsplit("/", 1)[1])
    desk_api = api_headers(console_url, DISPATCHER_PHONE)
    found = api(console_url, "GET", f"/admin/notices/{notice_id}", desk_api)
    assert (found["audience"], found["status"]) == ("staff", "scheduled")
    assert found["publish_at"].startswith(tomorrow)  # read as Beijing time, shown as such

    first = client.post(f"/console/notices/{notice_id}/withdraw", data={"csrf_token": csrf})
    assert first.status_code == 303
    again = client.post(f"/console/notices/{notice_id}/withdraw", data={"csrf_token": csrf})
    assert again.status_code == 200
    assert "通知已撤回" in again.get_data(as_text=True)


def test_builder_keeps_the_draft_and_shows_the_use_cases_refusal(console_app: Flask) -> None:
    client, csrf = signed_in(console_app)
    draft = {
        "csrf_token": csrf,
        "form_token": secrets.token_urlsafe(24),
        "title": "问卷",
        "scope": "org",
        "answer_per": "person",
        "question_count": "1",
        "q0-kind": "single",
        "q0-text": "<i>选哪个</i>",
        "q0-options": "只有一个",
        "q0-required": "1",
    }
    added = client.post("/console/surveys/new", data={**draft, "do": "add:text"})
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    assert html.count('class="question"') == 2
    assert "&lt;i&gt;选哪个&lt;/i&gt;" in html
    saved = client.post("/console/surveys/new", data={**draft, "do": "save"})
    assert saved.status_code == 200
    assert "选择题至少需要 2 个选项" in saved.get_data(as_text=True)


def test_not_satisfied_may_reopen_the_order_or_say_why_not(
    console_app: Flask, console_url: str
) -> None:
    desk_api = api_headers(console_url, DISPATCHER_PHONE)
    due = api(console_url, "GET", "/admin/return-visits", desk_api, params={"status": "due"})
    if not due["items"]:
        pytest.skip("no due return visit left in the shared console database")
    visit = due["items"][0]
    client, csrf = signed_in(console_app)
    r = client.post(
        f"/console/visits/{visit['id']}/outcome",
        data={"csrf_token": csrf, "reached": "yes", "satisfied": "no", "reopen": "1"},
    )
    after = api(console_url, "GET", f"/admin/return-visits/{visit['id']}", desk_api)
    if r.status_code == 303:
        assert (after["status"], after["satisfied"], after["reopened"]) == ("done", False, True)
        order = api(console_url, "GET", f"/admin/orders/{visit['order_id']}", desk_api)
        assert order["reopen_count"] == visit["order"]["reopen_count"] + 1
    else:
        # The orders' reopen refused (window, state): nothing recorded, the reason shown.
        assert r.status_code == 200
        assert after["status"] == "due"
        assert 'role="alert"' in r.get_data(as_text=True)
