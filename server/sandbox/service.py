"""The local sandbox (payments and pushes) as a service: its keys, the settings the server
needs to use it, and one loopback HTTP app serving WeChat Pay's paths (`/v3/...`), Alipay's
gateway (`/gateway.do`), FCM (`/v1/projects/...`, `/token`) and a few `/sandbox/...` buttons
that play the buyer (pay) and let refunds finish.

The keys are generated once into the instance directory (never committed) and read by both
sides: the sandbox verifies the server's requests with the merchant's public keys and signs
its answers and notifications with the platform's private keys, like the providers do.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request

from server.sandbox.alipay import AlipayTestKeys, FakeAlipay
from server.sandbox.fcm import FakeFCM, service_account
from server.sandbox.wechatpay import FakeWeChatPay

log = logging.getLogger(__name__)

MCHID = "1900000109"
MINI_PROGRAM_APPID = "wx5a4db0c0ffee0001"
MERCHANT_SERIAL = "5A4DB0C0FFEE0001000000000000000000000001"
PLATFORM_KEY_ID = "PUB_KEY_ID_0119000001092026000000000000000001"
APIV3_KEY = "baoxiu-sandbox-apiv3-key-0123456"  # 32 bytes
ALIPAY_APPID = "2021000000000009"
SELLER_ID = "2088000000000009"
# How long after a WeChat refund is accepted the sandbox reports it done (REFUND.SUCCESS).
REFUND_DELAY_SECONDS = 2.0

_KEYS = ("wx_merchant", "wx_platform", "alipay_app", "alipay", "fcm_account")
FCM_PROJECT = "baoxiu-sandbox"


def _load_or_make(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class SandboxKeys:
    directory: Path
    wx_merchant: rsa.RSAPrivateKey
    wx_platform: rsa.RSAPrivateKey
    alipay_app: rsa.RSAPrivateKey
    alipay: rsa.RSAPrivateKey
    fcm_account: rsa.RSAPrivateKey

    @classmethod
    def ensure(cls, directory: Path) -> SandboxKeys:
        """The sandbox's keys under `directory`, made on first use."""
        directory.mkdir(parents=True, exist_ok=True)
        keys = {name: _load_or_make(directory / f"{name}_key.pem") for name in _KEYS}
        (directory / "wx_platform_public.pem").write_bytes(_public_pem(keys["wx_platform"]))
        (directory / "alipay_public.pem").write_bytes(_public_pem(keys["alipay"]))
        return cls(directory=directory, **keys)


def environment(keys: SandboxKeys, *, sandbox_url: str, api_url: str) -> dict[str, str]:
    """The WECHATPAY_* / ALIPAY_* / FCM settings that make the server pay and push through
    the sandbox (the FCM service account's tokens come from the sandbox too)."""
    d = keys.directory
    account = d / "fcm_service_account.json"
    account.write_text(
        json.dumps(
            service_account(
                project_id=FCM_PROJECT, token_uri=f"{sandbox_url}/token", key=keys.fcm_account
            )
        )
    )
    account.chmod(0o600)
    return {
        "FIREBASE_CREDENTIALS": str(account),
        "FCM_API_BASE": sandbox_url,
        "WECHAT_APPID": MINI_PROGRAM_APPID,
        "WECHATPAY_MCHID": MCHID,
        "WECHATPAY_APIV3_KEY": APIV3_KEY,
        "WECHATPAY_PRIVATE_KEY_PATH": str(d / "wx_merchant_key.pem"),
        "WECHATPAY_CERT_SERIAL": MERCHANT_SERIAL,
        "WECHATPAY_PUBLIC_KEY_PATH": str(d / "wx_platform_public.pem"),
        "WECHATPAY_PUBLIC_KEY_ID": PLATFORM_KEY_ID,
        "WECHATPAY_NOTIFY_URL": f"{api_url}/api/v1/payments/wechat/notify",
        "WECHATPAY_API_BASE": sandbox_url,
        "ALIPAY_APPID": ALIPAY_APPID,
        "ALIPAY_SELLER_ID": SELLER_ID,
        "ALIPAY_PRIVATE_KEY_PATH": str(d / "alipay_app_key.pem"),
        "ALIPAY_PUBLIC_KEY_PATH": str(d / "alipay_public.pem"),
        "ALIPAY_GATEWAY": f"{sandbox_url}/gateway.do",
        "ALIPAY_NOTIFY_URL": f"{api_url}/api/v1/payments/alipay/notify",
    }


class Sandbox:
    """Both providers, plus the buyer's buttons, notifying the server's notify URLs."""

    def __init__(self, keys: SandboxKeys, *, wechat_notify_url: str, alipay_notify_url: str):
        self.wechatpay = FakeWeChatPay(
            mchid=MCHID,
            appid=MINI_PROGRAM_APPID,
            merchant_serial=MERCHANT_SERIAL,
            merchant_public_key=keys.wx_merchant.public_key(),
            platform_private_key=keys.wx_platform,
            platform_serial=PLATFORM_KEY_ID,
            apiv3_key=APIV3_KEY.encode(),
        )
        self.alipay = FakeAlipay(
            app_id=ALIPAY_APPID,
            keys=AlipayTestKeys(app_private_key=keys.alipay_app, alipay_private_key=keys.alipay),
            seller_id=SELLER_ID,
        )
        self.fcm = FakeFCM(project_id=FCM_PROJECT, account_key=keys.fcm_account.public_key())
        self.wechat_notify_url = wechat_notify_url
        self.alipay_notify_url = alipay_notify_url
        self._stop = threading.Event()

    # - what the buyer does -

    def pay_wechat(self, out_trade_no: str) -> dict[str, Any]:
        """The tenant pays in WeChat: the payment succeeds and WeChat notifies the server."""
        self.wechatpay.pay(out_trade_no)
        body, headers = self.wechatpay.payment_notification(out_trade_no)
        answer = requests.post(self.wechat_notify_url, data=body, headers=headers, timeout=10)
        return {"out_trade_no": out_trade_no, "notified": answer.status_code}

    def pay_alipay(self, order_string: str) -> dict[str, Any]:
        """The tenant pays in Alipay with the order string the server signed."""
        trade = self.alipay.open_order_string(order_string)
        self.alipay.pay(trade.out_trade_no)
        body = self.alipay.payment_notification(trade.out_trade_no)
        answer = requests.post(
            self.alipay_notify_url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            timeout=10,
        )
        return {"out_trade_no": trade.out_trade_no, "notified": answer.text}

    def finish_refunds(self) -> int:
        """WeChat refunds accepted a moment ago succeed, and WeChat says so."""
        pending = [
            number
            for number, refund in list(self.wechatpay.refunds.items())
            if refund.get("status") == "PROCESSING"
        ]
        for number in pending:
            body, headers = self.wechatpay.refund_notification(number)
            try:
                requests.post(self.wechat_notify_url, data=body, headers=headers, timeout=10)
            except requests.RequestException as exc:
                log.warning("refund notification for %s not delivered: %s", number, exc)
        return len(pending)

    def _refund_loop(self) -> None:
        while not self._stop.wait(REFUND_DELAY_SECONDS):
            self.finish_refunds()

    def start_background(self) -> None:
        threading.Thread(target=self._refund_loop, daemon=True, name="sandbox-refunds").start()

    # - the HTTP app -

    def wsgi(self) -> Any:
        control = Flask("baoxiu_sandbox")

        @control.get("/")
        def index() -> Any:
            return jsonify(
                {
                    "sandbox": "WeChat Pay API v3 at /v3/…, Alipay at /gateway.do",
                    "wechat_payments": {
                        number: order["state"] for number, order in self.wechatpay.orders.items()
                    },
                    "alipay_trades": {
                        number: trade.status for number, trade in self.alipay.trades.items()
                    },
                    "pushes": [
                        {
                            "to": (m.get("token") or m.get("fid") or "")[-6:],
                            **m.get("notification", {}),
                        }
                        for m in self.fcm.messages[-20:]
                    ],
                    "pay_wechat": "POST /sandbox/wechat/pay/<out_trade_no>",
                    "pay_alipay": "POST /sandbox/alipay/pay {orderStr}",
                }
            )

        @control.post("/sandbox/wechat/pay/<out_trade_no>")
        def wechat_pay(out_trade_no: str) -> Any:
            if out_trade_no not in self.wechatpay.orders:
                return jsonify({"error": "no such WeChat payment"}), 404
            return jsonify(self.pay_wechat(out_trade_no))

        @control.post("/sandbox/alipay/pay")
        def alipay_pay() -> Any:
            data = request.get_json(silent=True) or request.form
            order_string = str(data.get("orderStr", ""))
            try:
                return jsonify(self.pay_alipay(order_string))
            except (ValueError, KeyError) as exc:
                return jsonify({"error": f"bad orderStr: {exc}"}), 422

        wechatpay, alipay, fcm = self.wechatpay.app(), self.alipay.app(), self.fcm.app()

        def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
            # By path, unprefixed: WeChat signs the path it sees, so it must be the real one.
            path = environ.get("PATH_INFO", "")
            if path.startswith("/v3/"):
                return wechatpay(environ, start_response)
            if path in ("/gateway.do", "/downloadBillFile.resource"):
                return alipay(environ, start_response)
            if path.startswith("/v1/projects/") or path == "/token":
                return fcm(environ, start_response)
            return control(environ, start_response)

        return dispatch
