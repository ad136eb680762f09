"""The JSON API's exports on a real server (the other tests' client shares one connection in
a transaction, which hides what a read-only request's own connection cannot do)."""

from __future__ import annotations

import io

import openpyxl
import requests

from server.demo_data import DISPATCHER_PHONE
from tests.console.api import ApiUser


def test_the_order_board_exports_xlsx_and_csv_on_a_real_server(console_url: str) -> None:
    desk = ApiUser(console_url, DISPATCHER_PHONE)
    for fmt in ("xlsx", "csv"):
        answer = requests.get(
            f"{console_url}/api/v1/admin/orders",
            params={"format": fmt},
            headers=desk.headers,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text[:300]
        total = int(answer.headers["X-Total-Count"])
        assert total > 100  # the demo history
        if fmt == "xlsx":
            sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
            assert sheet is not None
            assert sheet.max_row == total + 1
        else:
            lines = answer.content.decode("utf-8-sig").splitlines()
            assert lines[0].startswith("工单号,") and len(lines) >= total + 1
