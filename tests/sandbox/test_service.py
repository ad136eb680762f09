"""The local payment sandbox: the settings it hands the server are usable, and what it sends
the server verifies with those settings — so `baoxiu dev` pays end to end."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from server.config import Settings
from server.integrations.wechatpay import WeChatPayClient, account_from_settings, parse_notification
from server.sandbox.service import Sandbox, SandboxKeys, environment
from tests.fakes.server import serve


@pytest.fixture
def received() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def api(received: list[dict[str, Any]]):
    """A stand-in for the API's notify endpoints: it records what the sandbox posts."""
    app = Flask("notify_capture")

    @app.post("/api/v1/payments/<provider>/notify")
    def notify(provider: str) -> Any:
        received.append(
            {"provider": provider, "body": request.get_data(), "headers": dict(request.headers)}
        )
        return ("", 204) if provider == "wechat" else "success"

    with serve(app) as base_url:
        yield base_url


def test_the_sandbox_environment_configures_a_merchant_that_pays_and_verifies(
    tmp_path, api, received
):
    keys = SandboxKeys.ensure(tmp_path / "sandbox")
    again = SandboxKeys.ensure(tmp_path / "sandbox")  # made once, then reused
    assert again.wx_merchant.private_numbers() == keys.wx_merchant.private_numbers()

    box = Sandbox(
        keys,
        wechat_notify_url=f"{api}/api/v1/payments/wechat/notify",
        alipay_notify_url=f"{api}/api/v1/payments/alipay/notify",
    )
    server = make_server("127.0.0.1", 0, box.wsgi(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sandbox_url = f"http://127.0.0.1:{server.server_port}"
        env = environment(keys, sandbox_url=sandbox_url, api_url=api)
        settings = Settings.from_env({"BAOXIU_ENV": "test", "SECRET_KEY": "x" * 48, **env})
        merchant = account_from_settings(settings)
        assert merchant is not None
        client = WeChatPayClient(account=merchant, base_url=settings.wechatpay_api_base)
        prepay_id = client.jsapi_prepay(
            out_trade_no="P20261130sandbox01",
            description="报修 测试",
            amount_fen=3600,
            payer_openid="oDemo13800000001",
        )
        assert prepay_id.startswith("wx")

        answer = requests.post(f"{sandbox_url}/sandbox/wechat/pay/P20261130sandbox01", timeout=5)
        assert answer.status_code == 200 and answer.json()["notified"] == 204
        [note] = received
        verified = parse_notification(
            body=note["body"], headers=note["headers"], account=merchant, now=datetime.now(UTC)
        )
        assert verified.event_type == "TRANSACTION.SUCCESS"
        assert verified.resource["out_trade_no"] == "P20261130sandbox01"
        assert verified.resource["amount"]["total"] == 3600
        assert client.query_by_out_trade_no("P20261130sandbox01")["trade_state"] == "SUCCESS"

        # A refund is accepted as processing, then reported done by the sandbox's loop.
        refund = client.refund(
            out_trade_no="P20261130sandbox01",
            out_refund_no="R20261130sandbox01",
            refund_fen=3600,
            total_fen=3600,
        )
        assert refund["status"] == "PROCESSING"
        assert box.finish_refunds() == 1
        assert client.query_refund("R20261130sandbox01")["status"] == "SUCCESS"
        assert len(received) == 2

        unknown = requests.post(f"{sandbox_url}/sandbox/wechat/pay/nope", timeout=5)
        assert unknown.status_code == 404
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_an_alipay_order_string_signed_by_the_server_is_paid_and_notified(tmp_path, api, received):
    from server.integrations.alipay import AlipayClient, verify_notification

    keys = SandboxKeys.ensure(tmp_path / "sandbox")
    box = Sandbox(
        keys,
        wechat_notify_url=f"{api}/api/v1/payments/wechat/notify",
        alipay_notify_url=f"{api}/api/v1/payments/alipay/notify",
    )
    with serve(box.wsgi()) as sandbox_url:  # type: ignore[arg-type]
        env = environment(keys, sandbox_url=sandbox_url, api_url=api)
        settings = Settings.from_env({"BAOXIU_ENV": "test", "SECRET_KEY": "x" * 48, **env})
        client = AlipayClient.from_settings(settings, notify_url=settings.alipay_notify_url)
        order_string = client.app_pay_order_string(
            out_trade_no="P20261130sandbox02", total_fen=8800, subject="报修 测试"
        )
        paid = requests.post(
            f"{sandbox_url}/sandbox/alipay/pay", json={"orderStr": order_string}, timeout=5
        )
        assert paid.status_code == 200 and paid.json()["notified"] == "success"
        [note] = received
        verified = verify_notification(
            note["body"],
            app_id=settings.alipay_appid,
            alipay_public_key=client.alipay_public_key,
            seller_id=settings.alipay_seller_id,
        )
        assert verified.paid and verified.total_fen == 8800
        assert client.query_trade(out_trade_no="P20261130sandbox02").paid

        forged = requests.post(
            f"{sandbox_url}/sandbox/alipay/pay", json={"orderStr": "x=1"}, timeout=5
        )
        assert forged.status_code == 422
