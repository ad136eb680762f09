"""Payment races with real commits and real parallel clients against the app on a loopback
port (the pattern of tests/concurrency): each test commits its own organisation."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import text

from server.db.session import Database
from server.payments import followup
from server.payments.rules import QUERY_AFTER_MINUTES
from tests.concurrency.conftest import race
from tests.factories import Factory
from tests.fakes.alipay import FakeAlipay
from tests.fakes.server import serve
from tests.fakes.wechatpay import FakeWeChatPay
from tests.paying.conftest import NOTIFY_ALIPAY, NOTIFY_WECHAT, Shop, deliver_all
from tests.paying.helpers import ADMIN, FORM, TENANT

pytestmark = pytest.mark.concurrency


@pytest.fixture(scope="module")
def base_url(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


@dataclass
class PayOrg:
    db: Database
    base_url: str
    org_id: int
    room_id: int
    deposit_id: int
    full_id: int
    tenant: dict[str, str]
    admins: list[dict[str, str]]

    def file_deposit_order(self, subtype_id: int | None = None) -> int:
        r = requests.post(
            self.base_url + TENANT,
            json={
                "subtype_id": subtype_id or self.deposit_id,
                "room_id": self.room_id,
                "description": "换锁",
            },
            headers=self.tenant,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "awaiting_payment"
        return int(r.json()["id"])

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        url = self.base_url + path

        def call(http: requests.Session) -> requests.Response:
            return http.post(url, json=body, headers=headers, timeout=30)

        return call

    def pay_call(self, order_id: int, key: str | None = None, channel: str = "wechat") -> Any:
        headers = dict(self.tenant)
        if key:
            headers["Idempotency-Key"] = key
        return self.post(f"{TENANT}/{order_id}/payments", {"channel": channel}, headers)

    def notify_call(self, body: bytes, headers: dict[str, str]) -> Any:
        url = self.base_url + NOTIFY_WECHAT
        sent = {**headers, "Content-Type": "application/json"}

        def call(http: requests.Session) -> requests.Response:
            return http.post(url, data=body, headers=sent, timeout=30)

        return call

    def run(self, call: Any) -> requests.Response:
        with requests.Session() as http:
            return call(http)

    def paid_order(self, wxpay: FakeWeChatPay, subtype_id: int | None = None) -> tuple[int, str]:
        """An order whose payment WeChat has confirmed to us."""
        order_id = self.file_deposit_order(subtype_id)
        r = self.run(self.pay_call(order_id))
        assert r.status_code == 200, r.text
        out_trade_no = r.json()["out_trade_no"]
        wxpay.pay(out_trade_no)
        assert self.run(self.notify_call(*wxpay.payment_notification(out_trade_no))).ok
        return order_id, out_trade_no

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.db.engine.connect() as conn:
            return list(conn.execute(text(sql), {"org_id": self.org_id, **params}).all())


@pytest.fixture
def pay_org(app: Flask, base_url: str) -> Iterator[PayOrg]:
    container = app.extensions["baoxiu"]
    with container.db.transaction() as uow:
        shop = Shop(Factory(uow.session, container.tokens))
        org = PayOrg(
            db=container.db,
            base_url=base_url,
            org_id=shop.org.id,
            room_id=shop.room.id,
            deposit_id=shop.deposit.id,
            full_id=shop.full.id,
            tenant=shop.headers(shop.tenant),
            admins=[shop.headers(shop.make.admin(shop.org)) for _ in range(2)],
        )
    yield org
    # The rows stay committed (the per-run database goes at the end), but other tests run the
    # global sweep and outbox: leave them no open payment and no pending job of this org.
    with container.db.engine.begin() as conn:
        params = {"org_id": org.org_id}
        conn.execute(
            text(
                "UPDATE payments SET status = 'closed' WHERE org_id = :org_id"
                " AND status IN ('creating', 'open', 'closing')"
            ),
            params,
        )
        conn.execute(
            text(
                "UPDATE refunds SET status = 'closed' WHERE org_id = :org_id"
                " AND status IN ('pending', 'processing')"
            ),
            params,
        )
        conn.execute(
            text("DELETE FROM outbox WHERE org_id = :org_id AND status = 'pending'"), params
        )


def test_ten_identical_notifications_at_once_book_one_payment(
    pay_org: PayOrg, wxpay: FakeWeChatPay
):
    order_id = pay_org.file_deposit_order()
    r = pay_org.run(pay_org.pay_call(order_id))
    assert r.status_code == 200, r.text
    out_trade_no = r.json()["out_trade_no"]
    wxpay.pay(out_trade_no)
    body, headers = wxpay.payment_notification(out_trade_no)
    answers = race([pay_org.notify_call(body, headers)] * 10)

    assert Counter(a.status for a in answers) == {204: 10}
    assert pay_org.rows(
        "SELECT status, amount_fen FROM payments WHERE org_id = :org_id AND order_id = :id",
        id=order_id,
    ) == [("paid", 3000)]
    assert pay_org.rows(
        "SELECT amount_fen, reference FROM ledger_entries"
        " WHERE org_id = :org_id AND order_id = :id AND kind = 'payment'",
        id=order_id,
    ) == [(-3000, out_trade_no)]
    assert pay_org.rows(
        "SELECT status, payment_status, payable_fen FROM orders WHERE id = :id", id=order_id
    ) == [("pending", "paid", 0)]
    assert pay_org.rows(
        "SELECT count(*) FROM order_events WHERE order_id = :id AND action = 'payment_received'",
        id=order_id,
    ) == [(1,)]
    assert pay_org.rows(
        "SELECT coalesce(sum(amount_fen), 0) FROM ledger_entries WHERE order_id = :id", id=order_id
    ) == [(0,)]


def test_two_pay_requests_at_once_open_one_payment(pay_org: PayOrg, wxpay: FakeWeChatPay):
    order_id = pay_org.file_deposit_order()

    answers = race([pay_org.pay_call(order_id), pay_org.pay_call(order_id)])

    assert [a.status for a in answers] == [200, 200]
    rows = pay_org.rows(
        "SELECT status, amount_fen, out_trade_no FROM payments"
        " WHERE org_id = :org_id AND order_id = :id",
        id=order_id,
    )
    assert [(s, a) for s, a, _ in rows] == [("open", 3000)]
    assert list(wxpay.orders) == [rows[0][2]]


def test_two_pay_requests_with_one_idempotency_key_open_one_payment(
    pay_org: PayOrg, wxpay: FakeWeChatPay
):
    order_id = pay_org.file_deposit_order()

    answers = race([pay_org.pay_call(order_id, "k-1"), pay_org.pay_call(order_id, "k-1")])

    assert [a.status for a in answers] == [200, 200]
    assert pay_org.rows(
        "SELECT status FROM payments WHERE org_id = :org_id AND order_id = :id", id=order_id
    ) == [("open",)]
    assert len(wxpay.orders) == 1


def test_two_desk_refunds_at_once_never_exceed_what_was_paid(pay_org: PayOrg, wxpay: FakeWeChatPay):
    order_id, _ = pay_org.paid_order(wxpay, pay_org.full_id)  # 8800 paid
    path = f"{ADMIN}/orders/{order_id}/refunds"
    calls = [
        pay_org.post(path, {"amount_fen": 6000, "reason": "重复收费"}, headers)
        for headers in pay_org.admins
    ]

    answers = race(calls)

    assert sorted((a.status, a.error) for a in answers) == [
        (201, None),
        (409, "refund_exceeds_paid"),
    ]
    assert pay_org.rows(
        "SELECT amount_fen, status FROM refunds WHERE org_id = :org_id AND order_id = :id",
        id=order_id,
    ) == [(6000, "pending")]


def test_a_notification_racing_a_pay_request_on_another_channel_books_once(
    pay_org: PayOrg, wxpay: FakeWeChatPay
):
    order_id = pay_org.file_deposit_order()
    r = pay_org.run(pay_org.pay_call(order_id))
    out_trade_no = r.json()["out_trade_no"]
    wxpay.pay(out_trade_no)
    body, headers = wxpay.payment_notification(out_trade_no)
    # While WeChat's notification arrives, the tenant (seeing nothing yet) tries Alipay: that
    # request asks WeChat about the old payment first, finds it paid and settles it too.
    answers = race(
        [pay_org.notify_call(body, headers), pay_org.pay_call(order_id, channel="alipay")]
    )

    notified, paid_again = answers
    assert notified.status == 204
    assert (paid_again.status, paid_again.error) == (409, "already_paid")
    assert pay_org.rows(
        "SELECT channel, status FROM payments WHERE org_id = :org_id AND order_id = :id",
        id=order_id,
    ) == [("wechat", "paid")]
    assert pay_org.rows(
        "SELECT count(*) FROM ledger_entries WHERE order_id = :id AND kind = 'payment'",
        id=order_id,
    ) == [(1,)]
    assert pay_org.rows("SELECT status FROM orders WHERE id = :id", id=order_id) == [("pending",)]


def test_a_notification_racing_the_tenants_cancel_ends_in_one_refund(
    app: Flask, pay_org: PayOrg, wxpay: FakeWeChatPay
):
    order_id = pay_org.file_deposit_order()
    r = pay_org.run(pay_org.pay_call(order_id))
    out_trade_no = r.json()["out_trade_no"]
    wxpay.pay(out_trade_no)
    body, headers = wxpay.payment_notification(out_trade_no)
    cancel = pay_org.post(f"{TENANT}/{order_id}/cancel", {"reason": "不修了"}, pay_org.tenant)

    answers = race([pay_org.notify_call(body, headers), cancel])

    assert [a.status for a in answers] == [204, 200]
    deliver_all(app)  # refunds owed, submitted to WeChat
    assert pay_org.rows("SELECT status FROM orders WHERE id = :id", id=order_id) == [("cancelled",)]
    refunds = pay_org.rows(
        "SELECT amount_fen, status FROM refunds WHERE org_id = :org_id AND order_id = :id",
        id=order_id,
    )
    assert refunds == [(3000, "processing")]
    assert pay_org.rows(
        "SELECT coalesce(sum(amount_fen), 0) FROM ledger_entries WHERE order_id = :id",
        id=order_id,
    ) == [(-3000,)]
    [(out_refund_no,)] = pay_org.rows(
        "SELECT out_refund_no FROM refunds WHERE order_id = :id", id=order_id
    )
    assert pay_org.run(pay_org.notify_call(*wxpay.refund_notification(out_refund_no))).ok
    assert pay_org.rows(
        "SELECT coalesce(sum(amount_fen), 0) FROM ledger_entries WHERE order_id = :id",
        id=order_id,
    ) == [(0,)]
    assert pay_org.rows("SELECT payment_status FROM orders WHERE id = :id", id=order_id) == [
        ("refunded",)
    ]


def test_ten_identical_alipay_notifications_at_once_book_one_payment(
    pay_org: PayOrg, alipay: FakeAlipay
):
    order_id = pay_org.file_deposit_order(pay_org.full_id)
    r = pay_org.run(pay_org.pay_call(order_id, channel="alipay"))
    assert r.status_code == 200, r.text
    out_trade_no = r.json()["out_trade_no"]
    alipay.open_order_string(r.json()["params"]["orderStr"])
    alipay.pay(out_trade_no)
    body = alipay.payment_notification(out_trade_no)
    url = pay_org.base_url + NOTIFY_ALIPAY

    def notify(http: requests.Session) -> requests.Response:
        return http.post(url, data=body, headers={"Content-Type": FORM}, timeout=30)

    answers = race([notify] * 10)

    assert Counter(a.status for a in answers) == {200: 10}
    assert pay_org.rows(
        "SELECT status FROM payments WHERE org_id = :org_id AND order_id = :id", id=order_id
    ) == [("paid",)]
    assert pay_org.rows(
        "SELECT amount_fen FROM ledger_entries WHERE order_id = :id AND kind = 'payment'",
        id=order_id,
    ) == [(-8800,)]
    assert pay_org.rows(
        "SELECT count(*) FROM order_events WHERE order_id = :id AND action = 'payment_received'",
        id=order_id,
    ) == [(1,)]


def test_notifications_racing_the_sweep_book_one_payment(
    app: Flask, pay_org: PayOrg, wxpay: FakeWeChatPay
):
    order_id = pay_org.file_deposit_order()
    out_trade_no = pay_org.run(pay_org.pay_call(order_id)).json()["out_trade_no"]
    wxpay.pay(out_trade_no)
    body, headers = wxpay.payment_notification(out_trade_no)
    wiring = app.extensions["baoxiu"]
    later = datetime.now(UTC) + timedelta(minutes=QUERY_AFTER_MINUTES + 1)
    barrier = threading.Barrier(6)
    results: dict[str, Any] = {}

    def notify(index: int) -> None:
        with requests.Session() as http:
            barrier.wait(timeout=30)
            results[f"n{index}"] = pay_org.notify_call(body, headers)(http).status_code

    def sweep() -> None:
        barrier.wait(timeout=30)
        results["sweep"] = followup.sweep(wiring.db, wiring.settings, now=later)

    threads = [threading.Thread(target=notify, args=(i,)) for i in range(5)]
    threads.append(threading.Thread(target=sweep))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [results[f"n{i}"] for i in range(5)] == [204] * 5
    assert results["sweep"]["errors"] == 0
    assert pay_org.rows(
        "SELECT status FROM payments WHERE org_id = :org_id AND order_id = :id", id=order_id
    ) == [("paid",)]
    assert pay_org.rows(
        "SELECT count(*) FROM ledger_entries WHERE order_id = :id AND kind = 'payment'",
        id=order_id,
    ) == [(1,)]
    assert pay_org.rows(
        "SELECT count(*) FROM order_events WHERE order_id = :id AND action = 'payment_received'",
        id=order_id,
    ) == [(1,)]
