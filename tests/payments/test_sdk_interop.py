"""The usual SDKs (`wechatpayv3`, `python-alipay-sdk`) against our payment sandbox.

Every payment test relies on `server/sandbox` speaking WeChat Pay API v3 and the Alipay OpenAPI
as the providers do. Here clients written by others, with their own signing, verification and
decryption code, run the happy paths against it: if the sandbox only understood our own
clients' dialect, these would fail. Our clients are checked beside them on the same answers.

What the SDKs lack that ours have (the reasons we keep ours, docs/payments.md) shows in the
set-up: the WeChat SDK's gateway is hard-coded (set on its private `_core`), the Alipay SDK
stamps requests with the machine's local time instead of Beijing time (patched here), and it
cuts the signed text of an answer at the first `}` even inside a string.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import alipay as alipay_sdk
import pytest
from alipay import AliPay, DCAliPay
from alipay.exceptions import AliPayValidationError
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, request
from wechatpayv3 import WeChatPay, WeChatPayType
from werkzeug.serving import make_server

from server.config import Settings
from server.integrations import alipay as ours_alipay
from server.integrations.alipay import AlipayCertificates, AlipayClient, verify_notification
from server.integrations.wechatpay import (
    WeChatPayClient,
    account_from_settings,
    parse_notification,
)
from server.sandbox.alipay import AlipaySandboxCerts, private_pem
from server.sandbox.service import (
    ALIPAY_APPID,
    APIV3_KEY,
    MCHID,
    MERCHANT_SERIAL,
    MINI_PROGRAM_APPID,
    PLATFORM_KEY_ID,
    SELLER_ID,
    Sandbox,
    SandboxKeys,
    environment,
)
from server.sandbox.wechatpay import platform_certificate
from tests.fakes.server import serve

OPENID = "oSdkInterop000000000000001"
NOTIFY = "https://api.example.com/api/v1/payments/wechat/notify"


class _BeijingClock(datetime):
    """What the Alipay SDK's `datetime.now()` should have been: Beijing wall time."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        moment = datetime.now(ZoneInfo("Asia/Shanghai"))
        return moment if tz is not None else moment.replace(tzinfo=None)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> SandboxKeys:
    return SandboxKeys.ensure(tmp_path_factory.mktemp("sdk") / "sandbox")


@pytest.fixture(scope="module")
def notify_api() -> Iterator[str]:
    app = Flask("sdk_notify_capture")

    @app.post("/api/v1/payments/<provider>/notify")
    def notify(provider: str) -> Any:
        request.get_data()
        return ("", 204) if provider == "wechat" else "success"

    with serve(app) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def box(keys: SandboxKeys, notify_api: str) -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(
        keys,
        wechat_notify_url=f"{notify_api}/api/v1/payments/wechat/notify",
        alipay_notify_url=f"{notify_api}/api/v1/payments/alipay/notify",
    )
    server = make_server("127.0.0.1", 0, sandbox.wsgi(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sandbox, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def settings(keys: SandboxKeys, box: tuple[Sandbox, str], notify_api: str) -> Settings:
    env = environment(keys, sandbox_url=box[1], api_url=notify_api)
    return Settings.from_env({"BAOXIU_ENV": "test", "SECRET_KEY": "x" * 48, **env})


def _pem(directory: Path, name: str) -> str:
    return (directory / name).read_text()


# --- WeChat Pay v3 ----------------------------------------------------------------------------


@pytest.fixture
def wechat_sdk(keys: SandboxKeys, box: tuple[Sandbox, str]) -> WeChatPay:
    sdk = WeChatPay(
        wechatpay_type=WeChatPayType.MINIPROG,
        mchid=MCHID,
        private_key=_pem(keys.directory, "wx_merchant_key.pem"),
        cert_serial_no=MERCHANT_SERIAL,
        appid=MINI_PROGRAM_APPID,
        apiv3_key=APIV3_KEY,
        notify_url=NOTIFY,
        public_key=_pem(keys.directory, "wx_platform_public.pem"),
        public_key_id=PLATFORM_KEY_ID,
        timeout=(2, 10),
    )
    sdk._core._gate_way = box[1]  # no base URL option: the gateway is hard-coded
    return sdk


def test_wechatpay_sdk_prepays_queries_and_refunds_against_the_sandbox(
    wechat_sdk: WeChatPay, box: tuple[Sandbox, str], settings: Settings
) -> None:
    sandbox = box[0]
    out_trade_no = "SDK20261201wx0001"
    code, message = wechat_sdk.pay(
        description="报修 疏通下水道",
        out_trade_no=out_trade_no,
        amount={"total": 3600, "currency": "CNY"},
        payer={"openid": OPENID},
        pay_type=WeChatPayType.JSAPI,
    )
    assert code == 200, message  # the sandbox accepted the SDK's signature; the SDK ours
    prepay_id = json.loads(message)["prepay_id"]
    assert sandbox.wechatpay.orders[out_trade_no]["prepay_id"] == prepay_id

    # wx.requestPayment: the SDK's paySign and ours over the same fields are the same bytes.
    merchant = account_from_settings(settings)
    assert merchant is not None
    ours = WeChatPayClient(account=merchant, base_url=settings.wechatpay_api_base)
    params = ours.request_payment_params(prepay_id, timestamp=1764547200, nonce="5K8264ILTKCH16CQ")
    sdk_sign = wechat_sdk.sign(
        [MINI_PROGRAM_APPID, "1764547200", "5K8264ILTKCH16CQ", f"prepay_id={prepay_id}"]
    )
    assert params["paySign"] == sdk_sign
    # Our prepay of the same order with the same parameters is the same prepay_id.
    assert sandbox.wechatpay.orders[out_trade_no]["state"] == "NOTPAY"

    code, message = wechat_sdk.query(out_trade_no=out_trade_no)
    assert code == 200 and json.loads(message)["trade_state"] == "NOTPAY"
    sandbox.wechatpay.pay(out_trade_no)
    code, message = wechat_sdk.query(out_trade_no=out_trade_no)
    paid = json.loads(message)
    assert code == 200 and paid["trade_state"] == "SUCCESS"
    assert paid == ours.query_by_out_trade_no(out_trade_no) | {
        "trade_state_desc": paid["trade_state_desc"]
    }

    code, message = wechat_sdk.refund(
        out_refund_no="SDKR20261201wx0001",
        amount={"refund": 1000, "total": 3600, "currency": "CNY"},
        out_trade_no=out_trade_no,
        reason="部分退款",
    )
    assert code == 200 and json.loads(message)["status"] == "PROCESSING"
    code, message = wechat_sdk.query_refund(out_refund_no="SDKR20261201wx0001")
    assert code == 200 and json.loads(message)["amount"]["refund"] == 1000
    assert ours.query_refund("SDKR20261201wx0001")["refund_id"] == json.loads(message)["refund_id"]


def test_wechatpay_sdk_accepts_the_notifications_the_sandbox_signs(
    wechat_sdk: WeChatPay, box: tuple[Sandbox, str], settings: Settings
) -> None:
    sandbox = box[0]
    out_trade_no = "SDK20261201wx0002"
    code, _ = wechat_sdk.pay(
        description="报修",
        out_trade_no=out_trade_no,
        amount={"total": 880},
        payer={"openid": OPENID},
        pay_type=WeChatPayType.JSAPI,
    )
    assert code == 200
    sandbox.wechatpay.pay(out_trade_no)
    body, headers = sandbox.wechatpay.payment_notification(out_trade_no)

    parsed = wechat_sdk.callback(headers, body)
    assert parsed is not None, "the SDK refused a notification the sandbox signed"
    assert parsed["event_type"] == "TRANSACTION.SUCCESS"
    assert parsed["resource"]["out_trade_no"] == out_trade_no
    assert parsed["resource"]["amount"]["total"] == 880

    merchant = account_from_settings(settings)
    assert merchant is not None
    ours = parse_notification(body=body, headers=headers, account=merchant, now=datetime.now(UTC))
    assert ours.resource == parsed["resource"]

    # A byte changed: the SDK refuses it too.
    tampered = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESs")
    assert tampered != body and wechat_sdk.callback(headers, tampered) is None


def test_wechatpay_sdk_reads_the_platform_certificates_the_sandbox_serves(
    box: tuple[Sandbox, str], keys: SandboxKeys, tmp_path: Path
) -> None:
    """Certificate mode: the SDK downloads /v3/certificates from the sandbox and decrypts them."""
    sandbox = box[0].wechatpay
    now = datetime.now(UTC)
    current = platform_certificate(
        keys.wx_platform,
        serial=0x5A4DB0C0FFEE01,
        not_before=now - timedelta(days=300),
        not_after=now + timedelta(days=60),
    )
    upcoming_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    upcoming = platform_certificate(
        upcoming_key,
        serial=0x5A4DB0C0FFEE02,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=1800),
    )
    (tmp_path / "current.pem").write_text(current)  # known before: no call at construction
    saved = sandbox.platform_serial, sandbox.platform_certificates
    sandbox.platform_serial, sandbox.platform_certificates = "5A4DB0C0FFEE01", [current, upcoming]
    try:
        sdk = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=MCHID,
            private_key=_pem(keys.directory, "wx_merchant_key.pem"),
            cert_serial_no=MERCHANT_SERIAL,
            appid=MINI_PROGRAM_APPID,
            apiv3_key=APIV3_KEY,
            notify_url=NOTIFY,
            cert_dir=str(tmp_path),
        )
        sdk._core._gate_way = box[1]
        sdk._core._update_certificates()
        learnt = {format(c.serial_number, "X") for c in sdk._core._certificates}
        assert learnt == {"5A4DB0C0FFEE01", "5A4DB0C0FFEE02"}
        # …and verifies the answers the sandbox signs under the certificate's serial.
        code, message = sdk.pay(
            description="报修",
            out_trade_no="SDK20261201wx0003",
            amount={"total": 100},
            payer={"openid": OPENID},
            pay_type=WeChatPayType.JSAPI,
        )
        assert code == 200, message
    finally:
        sandbox.platform_serial, sandbox.platform_certificates = saved


# --- Alipay -----------------------------------------------------------------------------------


@pytest.fixture
def beijing_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK stamps `timestamp` with the machine's local time; Alipay reads it as Beijing time.
    monkeypatch.setattr(alipay_sdk, "datetime", _BeijingClock)


def _alipay_sdk(keys: SandboxKeys, gateway: str) -> AliPay:
    sdk = AliPay(
        appid=ALIPAY_APPID,
        app_notify_url=None,
        app_private_key_string=_pem(keys.directory, "alipay_app_key.pem"),
        alipay_public_key_string=_pem(keys.directory, "alipay_public.pem"),
        sign_type="RSA2",
    )
    sdk._gateway = gateway
    return sdk


def test_alipay_sdk_requests_are_accepted_and_answers_verified(
    beijing_clock: None, keys: SandboxKeys, box: tuple[Sandbox, str], settings: Settings
) -> None:
    sandbox = box[0].alipay
    sdk = _alipay_sdk(keys, settings.alipay_gateway)
    created = sdk.api_alipay_trade_create(
        subject="报修 疏通下水道",
        out_trade_no="SDKA20261201001",
        total_amount="36.00",
        buyer_id="2088102177846880",
    )
    assert created["code"] == "10000" and created["trade_no"]
    queried = sdk.api_alipay_trade_query(out_trade_no="SDKA20261201001")
    assert queried["trade_status"] == "WAIT_BUYER_PAY"

    sandbox.pay("SDKA20261201001")
    refunded = sdk.api_alipay_trade_refund(
        refund_amount="10.00", out_trade_no="SDKA20261201001", out_request_no="SDKR1"
    )
    assert (refunded["code"], refunded["fund_change"], refunded["refund_fee"]) == (
        "10000",
        "Y",
        "10.00",
    )
    status = sdk.api_alipay_trade_fastpay_refund_query("SDKR1", out_trade_no="SDKA20261201001")
    assert status["refund_status"] == "REFUND_SUCCESS"

    # Ours reads the same trade the same way.
    ours = AlipayClient.from_settings(settings)
    assert ours.query_trade(out_trade_no="SDKA20261201001").trade_no == created["trade_no"]


def test_alipay_sdk_verifies_a_notification_the_sandbox_signs(
    beijing_clock: None, keys: SandboxKeys, box: tuple[Sandbox, str], settings: Settings
) -> None:
    sandbox = box[0].alipay
    sdk = _alipay_sdk(keys, settings.alipay_gateway)
    sdk.api_alipay_trade_create(
        subject="报修",
        out_trade_no="SDKA20261201002",
        total_amount="8.80",
        buyer_id="2088102177846880",
    )
    sandbox.pay("SDKA20261201002")
    body = sandbox.payment_notification("SDKA20261201002")

    data = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
    signature = data.pop("sign")
    assert sdk.verify(dict(data), signature)
    assert not sdk.verify({**data, "total_amount": "0.01"}, signature)

    ours = verify_notification(
        body,
        app_id=ALIPAY_APPID,
        alipay_public_key=ours_alipay.load_public_key(_pem(keys.directory, "alipay_public.pem")),
        seller_id=SELLER_ID,
    )
    assert (ours.out_trade_no, ours.total_fen, ours.paid) == ("SDKA20261201002", 880, True)


def test_alipay_sdk_cuts_the_signed_text_at_a_brace_in_the_subject(
    beijing_clock: None, keys: SandboxKeys, box: tuple[Sandbox, str], settings: Settings
) -> None:
    """Why we keep our own: the SDK refuses a genuine answer whose subject holds a `}`."""
    sdk = _alipay_sdk(keys, settings.alipay_gateway)
    sdk.api_alipay_trade_create(
        subject="换锁 A}栋",
        out_trade_no="SDKA20261201003",
        total_amount="1.00",
        buyer_id="2088102177846880",
    )
    with pytest.raises(AliPayValidationError):
        sdk.api_alipay_trade_query(out_trade_no="SDKA20261201003")
    ours = AlipayClient.from_settings(settings)
    assert ours.query_trade(out_trade_no="SDKA20261201003").raw["subject"] == "换锁 A}栋"


# The SDK reads certificates with pyOpenSSL's deprecated X509 API.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_alipay_certificate_mode_sdk_and_ours_agree_with_the_sandbox(
    beijing_clock: None, keys: SandboxKeys, box: tuple[Sandbox, str], settings: Settings
) -> None:
    """公钥证书: the SDK's DCAliPay and our client compute the same SNs, and the sandbox in
    certificate mode accepts both, naming its certificate in answers both verify."""
    sandbox = box[0].alipay
    certs = AlipaySandboxCerts.generate(sandbox.keys)
    sandbox.certificates = certs
    try:
        sdk = DCAliPay(
            appid=ALIPAY_APPID,
            app_private_key_string=private_pem(keys.alipay_app),
            app_public_key_cert_string=certs.app_public_key_cert,
            alipay_public_key_cert_string=certs.alipay_public_key_cert,
            alipay_root_cert_string=certs.alipay_root_cert,
        )
        sdk._gateway = settings.alipay_gateway
        loaded = AlipayCertificates.load(
            app_public_key_cert=certs.app_public_key_cert,
            alipay_public_key_cert=certs.alipay_public_key_cert,
            alipay_root_cert=certs.alipay_root_cert,
        )
        assert (loaded.app_cert_sn, loaded.alipay_root_cert_sn) == (
            sdk.app_cert_sn,
            sdk.alipay_root_cert_sn,
        )
        assert loaded.alipay_cert_sn == DCAliPay.get_cert_sn(certs.alipay_public_key_cert)
        # The root file holds an ECC root too: only the two RSA-signed ones count.
        assert len(x509.load_pem_x509_certificates(certs.alipay_root_cert.encode())) == 3
        assert loaded.alipay_root_cert_sn.count("_") == 1

        created = sdk.api_alipay_trade_create(
            subject="报修",
            out_trade_no="SDKA20261201004",
            total_amount="2.00",
            buyer_id="2088102177846880",
        )
        assert created["code"] == "10000"
        ours = AlipayClient(
            app_id=ALIPAY_APPID,
            app_private_key=keys.alipay_app,
            alipay_public_key=loaded.alipay_public_key,
            gateway=settings.alipay_gateway,
            certificates=loaded,
        )
        assert ours.query_trade(out_trade_no="SDKA20261201004").trade_no == created["trade_no"]
        sent = sandbox.received[-1]
        assert (sent["app_cert_sn"], sent["alipay_root_cert_sn"]) == (
            certs.app_cert_sn,
            certs.alipay_root_cert_sn,
        )
    finally:
        sandbox.certificates = None
