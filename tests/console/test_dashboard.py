"""数据看板 in the browser: the tiles are the JSON API's figures, charts open the order board,
tables export, a refused range is explained."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask

from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE
from server.kernel.clock import LOCAL_TZ
from tests.console.conftest import screenshot


def _range(days: int = 30) -> tuple[str, str]:
    last = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    return (last - timedelta(days=days - 1)).isoformat(), last.isoformat()


def _api(console_url: str) -> requests.Session:
    """The JSON API as the demo dispatcher."""
    api = requests.Session()
    answer = api.post(
        f"{console_url}/api/v1/auth/login",
        json={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    api.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return api


def _yuan(fen: int) -> str:
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}¥{whole:,}.{cents:02d}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _tiles_of(o: dict[str, Any]) -> dict[str, str]:
    """What each tile must show, from the JSON API's answer."""
    counts, sat, money = o["counts"], o["satisfaction"], o["money"]
    by_status = o["complaints"]["by_status"]
    return {
        "filed": str(counts["filed"]),
        "completed": str(counts["completed"]),
        "closed": str(counts["closed"]),
        "cancelled": str(counts["cancelled"]),
        "overdue_now": str(counts["overdue_now"]),
        "in_time_share": _percent(o["sla"]["in_time_share"]),
        "average_rating": "—" if sat["average"] is None else f"{sat['average']:.2f}",
        "low_share": _percent(sat["low_share"]),
        "charged_fen": _yuan(money["charged_fen"]),
        "paid_fen": _yuan(money["paid_fen"]),
        "refunded_fen": _yuan(money["refunded_fen"]),
        "outstanding_fen": _yuan(money["outstanding_fen"]),
        "return_visits_done": str(o["return_visits"]["done"]),
        "complaints_open": str(by_status.get("open", 0) + by_status.get("processing", 0)),
    }


def test_tiles_are_the_json_apis_figures(desk: Any, console_url: str) -> None:
    first, last = _range()
    desk.goto(f"{console_url}/console/dashboard?from={first}&to={last}")
    shown = {
        tile.get_attribute("data-figure"): tile.locator(".count").inner_text()
        for tile in desk.locator(".dash-tiles .tile").all()
    }
    # The same moment: the API is asked right after the page was drawn.
    answer = _api(console_url).get(
        f"{console_url}/api/v1/admin/dashboard", params={"from": first, "to": last}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    o = answer.json()
    assert shown == _tiles_of(o)
    assert int(shown["filed"]) > 0  # the demo data has orders in the last 30 days
    # A tile opens the order board with its figure's filter (a list repeats its key).
    overdue = desk.locator('.tile[data-figure="overdue_now"]').get_attribute("href")
    assert parse_qs(urlsplit(overdue).query) == {
        "created_from": [first],
        "created_to": [last],
        "overdue": ["true"],
    }
    closed = desk.locator('.tile[data-figure="completed"]').get_attribute("href")
    assert parse_qs(urlsplit(closed).query)["status"] == ["completed", "closed"]

    # The trend is drawn: a canvas with something painted on it.
    painted = desk.locator("#chart-trend canvas").evaluate(
        """canvas => {
            const data = canvas.getContext('2d')
                .getImageData(0, 0, canvas.width, canvas.height).data;
            let inked = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
            return {width: canvas.width, height: canvas.height, inked};
        }"""
    )
    assert painted["width"] > 0 and painted["height"] > 0 and painted["inked"] > 1000
    # Each chart's numbers are in a table too: the by-type table is the API's by_type.
    rows = desk.locator("#table-type tbody tr").all()
    assert [
        (r.locator("th").text_content(), int(r.locator("td").text_content() or "")) for r in rows
    ] == [(i["label"], i["count"]) for i in o["breakdowns"]["by_type"]]
    screenshot(desk, "dashboard")


def test_a_click_on_a_type_bar_opens_the_order_board(desk: Any, console_url: str) -> None:
    # The order board (/console/orders) is another screen, built separately: this branch may
    # not have it, and a 404 document would be a console error. The navigation is answered
    # here; the test is about the URL it goes to.
    desk.route(
        "**/console/orders**",
        lambda route: route.fulfill(status=200, body="ok", content_type="text/html"),
    )
    first, last = _range()
    desk.goto(f"{console_url}/console/dashboard?from={first}&to={last}")
    data = desk.locator("#dashboard-data").evaluate("el => JSON.parse(el.textContent)")
    first_type = data["by_type"][0]
    # The middle of the first bar, in the chart's own pixels.
    chart = desk.locator("#chart-type")
    chart.scroll_into_view_if_needed()
    x, y = chart.evaluate(
        """(el, value) => echarts.getInstanceByDom(el)
              .convertToPixel({seriesIndex: 0}, [0, value / 2])""",
        first_type["value"],
    )
    box = chart.bounding_box()
    # Hovering shows the tooltip (drawn on the canvas: no inline style for the CSP to refuse).
    desk.mouse.move(box["x"] + x, box["y"] + y)
    with desk.expect_navigation(url="**/console/orders?**"):
        desk.mouse.click(box["x"] + x, box["y"] + y)
    query = parse_qs(urlsplit(desk.url).query)
    type_id = urlsplit(first_type["href"]).query
    assert query["created_from"] == [first] and query["created_to"] == [last]
    assert query["order_type_id"] == parse_qs(type_id)["order_type_id"]


def test_a_table_exports_as_csv_with_chinese_headers(desk: Any, console_url: str) -> None:
    first, last = _range()
    desk.goto(f"{console_url}/console/dashboard?from={first}&to={last}")
    with desk.expect_download() as event:
        desk.locator('[data-export="technicians-csv"]').first.click()
    download = event.value
    span = f"{first.replace('-', '')}-{last.replace('-', '')}"
    assert download.suggested_filename == f"dashboard-technicians-{span}.csv"
    text = open(download.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    header = next(csv.reader(io.StringIO(text)))
    assert header[:4] == ["师傅", "部门", "工单数", "完工数"]


def test_a_refused_range_is_explained(desk: Any, console_url: str) -> None:
    desk.goto(f"{console_url}/console/dashboard?from=2026-03-10&to=2026-03-01")
    assert desk.locator("#filter-error").inner_text() == "结束日期不能早于开始日期"
    assert desk.locator(".dash-tiles").count() == 0
    assert desk.locator("#dashboard-data").count() == 0
    desk.get_by_label("报修日期起").fill("2024-01-01")
    desk.get_by_label("报修日期止").fill("2025-06-30")
    desk.get_by_role("button", name="查询").click()
    desk.wait_for_url("**/console/dashboard?from=2024-01-01**")
    assert "最多 366 天" in desk.locator("#filter-error").inner_text()
    # A range without orders draws empty charts (no script error) and zero tiles.
    desk.goto(f"{console_url}/console/dashboard?from=2024-01-01&to=2024-01-31")
    assert desk.locator('.tile[data-figure="filed"] .count').inner_text() == "0"
    assert desk.locator("#chart-type canvas").count() == 1


# --- without a browser -----------------------------------------------------------------


def _signed_in(console_app: Flask) -> Any:
    client = console_app.test_client()
    answer = client.post(
        "/console/login",
        data={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    )
    assert answer.status_code == 303
    return client


def test_the_page_needs_a_desk_session(console_app: Flask) -> None:
    answer = console_app.test_client().get("/console/dashboard")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/console/login?next=")


def test_refusals_answer_200_with_the_apis_message(console_app: Flask) -> None:
    client = _signed_in(console_app)
    answer = client.get("/console/dashboard?from=2026-01-01&to=2027-06-01")
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert "时间范围最多 366 天" in body and "dashboard-data" not in body
    assert answer.headers["Cache-Control"] == "no-store"
    bad = client.get("/console/dashboard?from=2026-01-01&to=2026-01-31&community_id=x")
    assert bad.status_code == 200
    assert "小区：应为整数" in bad.get_data(as_text=True)


def test_exports_are_the_json_apis_exports(console_app: Flask) -> None:
    client = _signed_in(console_app)
    api = console_app.test_client()
    token = api.post(
        "/api/v1/auth/login",
        json={"phone": DISPATCHER_PHONE, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
    ).get_json()["access_token"]
    first, last = _range(7)
    query = f"from={first}&to={last}"
    for table in ("overview", "trends", "technicians", "departments"):
        ours = client.get(f"/console/dashboard/export/{table}.csv?{query}")
        assert ours.status_code == 200, table
        assert ours.headers["Content-Type"].startswith("text/csv")
        path = "/api/v1/admin/dashboard" + ("" if table == "overview" else f"/{table}")
        theirs = api.get(f"{path}?{query}&format=csv", headers={"Authorization": f"Bearer {token}"})
        assert theirs.status_code == 200
        assert ours.data == theirs.data, table
        assert ours.headers["Content-Disposition"] == theirs.headers["Content-Disposition"]
        xlsx = client.get(f"/console/dashboard/export/{table}.xlsx?{query}")
        assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_a_refused_export_goes_back_to_the_page(console_app: Flask) -> None:
    client = _signed_in(console_app)
    answer = client.get("/console/dashboard/export/technicians.csv?from=2026-03-10&to=2026-03-01")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/console/dashboard?from=2026-03-10")
