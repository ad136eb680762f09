"""WeChat Pay v3 provider layer against the loopback fake: real RSA signatures both ways, real
AES-256-GCM notifications, WeChat's error codes."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from werkzeug.datastructures import Headers

from server.config import Settings
from server.integrations.wechatpay import (
    MerchantAccount,
    PlatformKeys,
    SignatureInvalid,
    WeChatPayClient,
    WeChatPayError,
    account_from_settings,
    canonical_code,
    notify_failure,
    parse_notification,
    rsa_sign,
)
from tests.fakes.server import serve
from tests.fakes.wechatpay import FakeWeChatPay

# Keys are generated per test session, never committed; fixtures stay in this module so
# they cannot collide with other providers' tests in this folder.
MCHID = "1900000109"
APPID = "wx0000000000test01"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_KEY_ID = "PUB_KEY_ID_0119000001092026113000000000000001"
APIV3_KEY = b"baoxiu-test-apiv3-key-0123456789"  # 32 bytes


@pytest.fixture(scope="module")
def merchant_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    """A key that is neither ours nor WeChat's."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _fresh_fake(merchant_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey) -> FakeWeChatPay:
    return FakeWeChatPay(
        mchid=MCHID,
        appid=APPID,
        merchant_serial=MERCHANT_SERIAL,
        merchant_public_key=merchant_key.public_key(),
        platform_private_key=platform_key,
        platform_serial=PLATFORM_KEY_ID,
        apiv3_key=APIV3_KEY,
    )


@pytest.fixture(scope="module")
def wechatpay_server(
    merchant_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey
) -> Iterator[tuple[FakeWeChatPay, str]]:
    fake = _fresh_fake(merchant_key, platform_key)
    with serve(fake.app()) as base_url:
        yield fake, base_url


@pytest.fixture
def fake_wechatpay(
    wechatpay_server: tuple[FakeWeChatPay, str],
    merchant_key: rsa.RSAPrivateKey,
    platform_key: rsa.RSAPrivateKey,
) -> FakeWeChatPay:
    """The loopback WeChat Pay, emptied for this test."""
    fake = wechatpay_server[0]
    fresh = _fresh_fake(merchant_key, platform_key)
    fake.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "lock"})
    return fake


@pytest.fixture
def account(merchant_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey) -> MerchantAccount:
    return MerchantAccount(
        mchid=MCHID,
        appid=APPID,
        serial_no=MERCHANT_SERIAL,
        private_key=merchant_key,
        apiv3_key=APIV3_KEY,
        platform=PlatformKeys(
            keys={PLATFORM_KEY_ID: platform_key.public_key()}, preferred_serial=PLATFORM_KEY_ID
        ),
        notify_url="https://api.example.com/payments/wechat/notify",
    )


@pytest.fixture
def wechatpay(
    account: MerchantAccount,
    wechatpay_server: tuple[FakeWeChatPay, str],
    fake_wechatpay: FakeWeChatPay,
) -> WeChatPayClient:
    return WeChatPayClient(account=account, base_url=wechatpay_server[1], timeout=(2.0, 5.0))


EXPIRE = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)


def _prepay(client: WeChatPayClient, out_trade_no: str = "R20261130000001", **kw: object) -> str:
    args: dict[str, object] = {
        "out_trade_no": out_trade_no,
        "description": "水管漏水维修",
        "amount_fen": 15000,
        "payer_openid": "oTestOpenid0000000000000001",
        "time_expire": EXPIRE,
        "attach": "ord:1001",
    }
    args.update(kw)
    return client.jsapi_prepay(**args)  # type: ignore[arg-type]


def _verify(key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64), message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# --- requests and responses -------------------------------------------------------------------


def test_prepay_round_trip_is_signed_both_ways(
    wechatpay: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    prepay_id = _prepay(wechatpay)

    assert prepay_id.startswith("wx")
    # The fake accepted our signature (else 401 SIGN_ERROR) and kept the order as sent.
    order = fake_wechatpay.orders["R20261130000001"]
    assert order["prepay_id"] == prepay_id
    assert order["request"] == {
        "appid": "wx0000000000test01",
        "mchid": MCHID,
        "description": "水管漏水维修",
        "out_trade_no": "R20261130000001",
        "notify_url": "https://api.example.com/payments/wechat/notify",
        "amount": {"total": 15000, "currency": "CNY"},
        "payer": {"openid": "oTestOpenid0000000000000001"},
        "time_expire": "2026-12-01T10:30:00+08:00",
        "attach": "ord:1001",
    }
    headers = fake_wechatpay.requests_seen[-1]["headers"]
    assert headers["Authorization"].startswith(f'WECHATPAY2-SHA256-RSA2048 mchid="{MCHID}",')
    assert f'serial_no="{MERCHANT_SERIAL}"' in headers["Authorization"]
    assert headers["Wechatpay-Serial"] == PLATFORM_KEY_ID
    # Re-posting identical parameters gives the same prepay_id (WeChat's retry rule).
    assert _prepay(wechatpay) == prepay_id
    # The answer we verified was a NOTPAY order.
    assert wechatpay.query_by_out_trade_no("R20261130000001")["trade_state"] == "NOTPAY"


def test_a_request_signed_with_another_key_is_refused_with_sign_error(
    account: MerchantAccount,
    stranger_key: rsa.RSAPrivateKey,
    wechatpay_server: tuple[FakeWeChatPay, str],
    fake_wechatpay: FakeWeChatPay,
) -> None:
    impostor = WeChatPayClient(
        account=replace(account, private_key=stranger_key), base_url=wechatpay_server[1]
    )
    with pytest.raises(WeChatPayError) as caught:
        _prepay(impostor)
    assert caught.value.code == "SIGN_ERROR"
    assert caught.value.http_status == 401
    assert caught.value.retryable is False
    assert fake_wechatpay.orders == {}


def test_a_stale_request_timestamp_is_refused_with_sign_error(
    account: MerchantAccount,
    wechatpay_server: tuple[FakeWeChatPay, str],
    fake_wechatpay: FakeWeChatPay,
) -> None:
    late = WeChatPayClient(
        account=account, base_url=wechatpay_server[1], clock=lambda: time.time() - 400
    )
    # Its own clock is off too, so the (correctly signed) SIGN_ERROR answer looks stale to it;
    # either way nothing is accepted.
    with pytest.raises((WeChatPayError, SignatureInvalid)):
        _prepay(late)
    assert fake_wechatpay.orders == {}


def test_pay_sign_is_what_wx_request_payment_needs(
    wechatpay: WeChatPayClient, merchant_key: rsa.RSAPrivateKey, stranger_key: rsa.RSAPrivateKey
) -> None:
    params = wechatpay.request_payment_params(
        "wx2026113010000001", timestamp=1796000000, nonce="n0nce"
    )

    assert {k: v for k, v in params.items() if k != "paySign"} == {
        "appId": "wx0000000000test01",
        "timeStamp": "1796000000",
        "nonceStr": "n0nce",
        "package": "prepay_id=wx2026113010000001",
        "signType": "RSA",
    }
    message = b"wx0000000000test01\n1796000000\nn0nce\nprepay_id=wx2026113010000001\n"
    assert _verify(merchant_key.public_key(), message, params["paySign"])
    assert not _verify(stranger_key.public_key(), message, params["paySign"])
    fresh = wechatpay.request_payment_params("wx2026113010000001")
    assert fresh["timeStamp"].isdigit() and len(fresh["nonceStr"]) == 32


def test_query_after_payment_shows_the_transaction(
    wechatpay: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    _prepay(wechatpay)
    fake_wechatpay.pay("R20261130000001")

    tx = wechatpay.query_by_out_trade_no("R20261130000001")

    assert tx["trade_state"] == "SUCCESS"
    assert tx["amount"]["total"] == 15000
    assert tx["transaction_id"].startswith("42000") and len(tx["transaction_id"]) == 28
    assert tx["payer"] == {"openid": "oTestOpenid0000000000000001"}


def test_close_then_reorder_is_order_closed_and_closing_a_paid_order_is_orderpaid(
    wechatpay: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    _prepay(wechatpay, "R20261130000001")
    wechatpay.close("R20261130000001")  # 204, empty but signed
    assert wechatpay.query_by_out_trade_no("R20261130000001")["trade_state"] == "CLOSED"
    with pytest.raises(WeChatPayError) as closed:
        _prepay(wechatpay, "R20261130000001")
    assert (closed.value.code, closed.value.retryable) == ("ORDER_CLOSED", False)

    _prepay(wechatpay, "R20261130000002")
    fake_wechatpay.pay("R20261130000002")
    with pytest.raises(WeChatPayError) as paid:
        wechatpay.close("R20261130000002")
    assert (paid.value.code, paid.value.http_status, paid.value.retryable) == (
        "ORDERPAID",
        400,
        False,
    )
    with pytest.raises(WeChatPayError) as again:
        _prepay(wechatpay, "R20261130000002")
    assert again.value.code == "ORDERPAID"


def test_unknown_order_and_changed_parameters_are_mapped(wechatpay: WeChatPayClient) -> None:
    with pytest.raises(WeChatPayError) as unknown:
        wechatpay.query_by_out_trade_no("R20261130999999")
    assert (unknown.value.code, unknown.value.http_status) == ("ORDER_NOT_EXIST", 404)
    assert unknown.value.retryable is False
    assert unknown.value.request_id  # logged for WeChat support

    _prepay(wechatpay)
    with pytest.raises(WeChatPayError) as changed:
        _prepay(wechatpay, amount_fen=16000)
    assert (changed.value.code, changed.value.retryable) == ("INVALID_REQUEST", False)

    with pytest.raises(WeChatPayError) as bad:
        _prepay(wechatpay, "R20261130000003", payer_openid="")
    assert (bad.value.code, bad.value.http_status) == ("PARAM_ERROR", 400)


@pytest.mark.parametrize(
    ("status", "code", "expected_code", "retryable"),
    [
        (500, "SYSTEM_ERROR", "SYSTEM_ERROR", True),
        (500, "SYSTEMERROR", "SYSTEM_ERROR", True),
        (429, "FREQUENCY_LIMITED", "FREQUENCY_LIMITED", True),
        (502, "SOMETHING_NEW", "SOMETHING_NEW", True),
        (400, "PARAM_ERROR", "PARAM_ERROR", False),
        (403, "RULELIMIT", "RULE_LIMIT", False),
        (400, "ORDERPAID", "ORDERPAID", False),
        (401, "SIGN_ERROR", "SIGN_ERROR", False),
    ],
)
def test_error_bodies_map_to_wechatpay_error(
    wechatpay: WeChatPayClient,
    fake_wechatpay: FakeWeChatPay,
    status: int,
    code: str,
    expected_code: str,
    retryable: bool,
) -> None:
    fake_wechatpay.fail_next("/v3/pay/transactions/jsapi", status, code)
    with pytest.raises(WeChatPayError) as caught:
        _prepay(wechatpay)
    error = caught.value
    assert (error.code, error.http_status, error.retryable) == (expected_code, status, retryable)
    assert (error.status, error.error) == (
        (503, "upstream_unavailable") if retryable else (502, "upstream_error")
    )
    # The same request afterwards goes through (the script answered once).
    assert _prepay(wechatpay).startswith("wx")


def test_canonical_codes_are_lenient_about_underscores() -> None:
    assert canonical_code("ORDERNOTEXIST") == "ORDER_NOT_EXIST"
    assert canonical_code("noauth") == "NO_AUTH"
    assert canonical_code("ORDER_PAID") == "ORDERPAID"
    assert canonical_code("BRAND_NEW") == "BRAND_NEW"


# --- refused answers --------------------------------------------------------------------------


def test_a_tampered_answer_is_refused(
    wechatpay: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    fake_wechatpay.tamper_next()
    with pytest.raises(SignatureInvalid) as caught:
        _prepay(wechatpay)
    assert caught.value.reason == "signature does not match"


def test_an_answer_under_an_unknown_serial_is_refused(
    wechatpay: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    fake_wechatpay.serial_override = "PUB_KEY_ID_0119000001099999999999999999999999"
    with pytest.raises(SignatureInvalid) as caught:
        _prepay(wechatpay)
    assert "unknown Wechatpay-Serial" in caught.value.reason


def test_an_answer_signed_by_another_key_is_refused(
    account: MerchantAccount,
    stranger_key: rsa.RSAPrivateKey,
    wechatpay_server: tuple[FakeWeChatPay, str],
    fake_wechatpay: FakeWeChatPay,
) -> None:
    # We trust a different key under WeChat's serial: the genuine answer no longer verifies.
    trusting_stranger = replace(
        account,
        platform=PlatformKeys(
            keys={PLATFORM_KEY_ID: stranger_key.public_key()}, preferred_serial=PLATFORM_KEY_ID
        ),
    )
    client = WeChatPayClient(account=trusting_stranger, base_url=wechatpay_server[1])
    with pytest.raises(SignatureInvalid):
        _prepay(client)


@pytest.fixture
def unsigned_server() -> Iterator[str]:
    """A server answering 200 with a prepay_id but no Wechatpay-* headers (a forgery)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            body = b'{"prepay_id":"wx_forged"}'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    listener.close()
    thread.join(timeout=5)


def test_an_unsigned_success_is_refused(account: MerchantAccount, unsigned_server: str) -> None:
    client = WeChatPayClient(account=account, base_url=unsigned_server, timeout=(2.0, 2.0))
    with pytest.raises(SignatureInvalid) as caught:
        _prepay(client)
    assert caught.value.reason == "missing Wechatpay signature headers"


def test_network_failures_are_retryable(account: MerchantAccount) -> None:
    # A port nobody listens on: connection refused.
    probe = socket.create_server(("127.0.0.1", 0))
    closed_port = probe.getsockname()[1]
    probe.close()
    refused = WeChatPayClient(account=account, base_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(WeChatPayError) as caught:
        _prepay(refused)
    assert (caught.value.code, caught.value.retryable) == ("NETWORK_ERROR", True)
    assert caught.value.http_status is None
    assert (caught.value.status, caught.value.error) == (503, "upstream_unavailable")

    # A server that accepts and never answers: read timeout.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        slow = WeChatPayClient(
            account=account,
            base_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            timeout=(1.0, 0.3),
        )
        with pytest.raises(WeChatPayError) as timed_out:
            _prepay(slow)
    assert (timed_out.value.code, timed_out.value.retryable) == ("NETWORK_ERROR", True)


# --- refunds ----------------------------------------------------------------------------------


def test_refund_is_idempotent_by_out_refund_no_and_can_be_queried(
    wechatpay: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> None:
    _prepay(wechatpay)
    tx = fake_wechatpay.pay("R20261130000001")

    refund = wechatpay.refund(
        out_trade_no="R20261130000001",
        out_refund_no="F20261130000001",
        refund_fen=5000,
        total_fen=15000,
        reason="客户取消维修",
    )
    assert refund["status"] == "PROCESSING"
    assert refund["transaction_id"] == tx["transaction_id"]
    assert refund["amount"]["refund"] == 5000
    # A retry with the same out_refund_no is the same refund, not a second one.
    again = wechatpay.refund(
        out_trade_no="R20261130000001",
        out_refund_no="F20261130000001",
        refund_fen=5000,
        total_fen=15000,
    )
    assert again["refund_id"] == refund["refund_id"]
    assert len(fake_wechatpay.refunds) == 1
    assert wechatpay.query_refund("F20261130000001")["refund_id"] == refund["refund_id"]

    with pytest.raises(WeChatPayError) as too_much:
        wechatpay.refund(
            out_trade_no="R20261130000001",
            out_refund_no="F20261130000002",
            refund_fen=10001,
            total_fen=15000,
        )
    assert (too_much.value.code, too_much.value.retryable) == ("INVALID_REQUEST", False)
    with pytest.raises(WeChatPayError) as missing:
        wechatpay.query_refund("F20261130999999")
    assert missing.value.code == "RESOURCE_NOT_EXISTS"


def test_a_refund_of_an_unpaid_order_is_refused(wechatpay: WeChatPayClient) -> None:
    _prepay(wechatpay)
    with pytest.raises(WeChatPayError) as caught:
        wechatpay.refund(
            out_trade_no="R20261130000001",
            out_refund_no="F20261130000001",
            refund_fen=100,
            total_fen=15000,
        )
    assert (caught.value.code, caught.value.http_status) == ("RESOURCE_NOT_EXISTS", 404)


# --- notifications ----------------------------------------------------------------------------


@pytest.fixture
def paid_notification(
    wechatpay: WeChatPayClient, fake_wechatpay: FakeWeChatPay
) -> tuple[bytes, dict[str, str]]:
    _prepay(wechatpay)
    fake_wechatpay.pay("R20261130000001")
    return fake_wechatpay.payment_notification("R20261130000001")


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_valid_payment_notification_is_decrypted(
    paid_notification: tuple[bytes, dict[str, str]],
    account: MerchantAccount,
    fake_wechatpay: FakeWeChatPay,
) -> None:
    body, headers = paid_notification
    # Header names arrive in any case (Flask/WSGI spelling).
    lowered = {k.lower(): v for k, v in headers.items()}

    notification = parse_notification(body=body, headers=lowered, account=account, now=_now())

    assert notification.event_type == "TRANSACTION.SUCCESS"
    assert notification.original_type == "transaction"
    assert notification.resource == fake_wechatpay.transaction("R20261130000001")
    assert notification.resource["trade_state"] == "SUCCESS"
    assert notification.resource["amount"]["total"] == 15000
    assert json.loads(body)["resource"]["associated_data"] == "transaction"
    # As a Flask view hands them over: werkzeug headers.
    again = parse_notification(body=body, headers=Headers(headers), account=account, now=_now())
    assert again.resource == notification.resource


def test_a_refund_notification_is_decrypted(
    wechatpay: WeChatPayClient, fake_wechatpay: FakeWeChatPay, account: MerchantAccount
) -> None:
    _prepay(wechatpay)
    fake_wechatpay.pay("R20261130000001")
    wechatpay.refund(
        out_trade_no="R20261130000001",
        out_refund_no="F20261130000001",
        refund_fen=15000,
        total_fen=15000,
    )
    body, headers = fake_wechatpay.refund_notification("F20261130000001")

    notification = parse_notification(body=body, headers=headers, account=account, now=_now())

    assert notification.event_type == "REFUND.SUCCESS"
    assert notification.resource["refund_status"] == "SUCCESS"
    assert notification.resource["out_refund_no"] == "F20261130000001"
    assert notification.resource["amount"]["refund"] == 15000
    assert wechatpay.query_refund("F20261130000001")["status"] == "SUCCESS"


def _tamper(body: bytes) -> bytes:
    envelope = json.loads(body)
    envelope["summary"] = "支付失败"
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


UNKNOWN_SERIAL = "PUB_KEY_ID_0119000001099999999999999999999999"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered_body", "signature does not match"),
        # What a framework round trip through a dict does: same data, other bytes.
        ("reserialised_body", "signature does not match"),
        ("stale", "outside the allowed window"),
        ("future", "outside the allowed window"),
        ("probe", "WeChat Pay probe signature"),
        ("unknown_serial", "unknown Wechatpay-Serial"),
        ("no_headers", "missing Wechatpay signature headers"),
    ],
)
def test_bad_notifications_are_refused(
    paid_notification: tuple[bytes, dict[str, str]],
    account: MerchantAccount,
    case: str,
    reason: str,
) -> None:
    body, headers = paid_notification
    now = _now()
    if case == "tampered_body":
        body = _tamper(body)
    elif case == "reserialised_body":
        body = json.dumps(json.loads(body)).encode()
    elif case == "stale":
        now += timedelta(seconds=301)
    elif case == "future":
        now -= timedelta(seconds=301)
    elif case == "probe":
        headers = {**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + "A" * 300}
    elif case == "unknown_serial":
        headers = {**headers, "Wechatpay-Serial": UNKNOWN_SERIAL}
    elif case == "no_headers":
        headers = {}
    with pytest.raises(SignatureInvalid) as caught:
        parse_notification(body=body, headers=headers, account=account, now=now)
    assert reason in caught.value.reason
    # The untouched notification is accepted at the real time: the case alone made it fail.
    untouched_body, untouched_headers = paid_notification
    assert parse_notification(
        body=untouched_body, headers=untouched_headers, account=account, now=_now()
    ).resource


def test_a_notification_within_five_minutes_is_accepted(
    paid_notification: tuple[bytes, dict[str, str]], account: MerchantAccount
) -> None:
    body, headers = paid_notification
    later = _now() + timedelta(seconds=280)
    assert parse_notification(body=body, headers=headers, account=account, now=later).resource


def test_a_notification_signed_by_another_key_is_refused(
    fake_wechatpay: FakeWeChatPay,
    paid_notification: tuple[bytes, dict[str, str]],
    stranger_key: rsa.RSAPrivateKey,
    account: MerchantAccount,
) -> None:
    body, _ = paid_notification
    fake_wechatpay.platform_private_key = stranger_key
    forged_headers = fake_wechatpay.sign(body)
    with pytest.raises(SignatureInvalid) as caught:
        parse_notification(body=body, headers=forged_headers, account=account, now=_now())
    assert caught.value.reason == "signature does not match"


def test_a_notification_encrypted_with_another_apiv3_key_is_refused(
    paid_notification: tuple[bytes, dict[str, str]], account: MerchantAccount
) -> None:
    body, headers = paid_notification
    wrong_key = replace(account, apiv3_key=b"0" * 32)
    with pytest.raises(SignatureInvalid) as caught:
        parse_notification(body=body, headers=headers, account=wrong_key, now=_now())
    assert caught.value.reason == "resource does not decrypt"
    # The right key still opens it: the failure was the key, not the notification.
    assert parse_notification(body=body, headers=headers, account=account, now=_now()).resource


def test_notify_failure_body_is_what_wechat_expects() -> None:
    assert notify_failure("签名错误") == {"code": "FAIL", "message": "签名错误"}


# --- keys and configuration -------------------------------------------------------------------


def _certificate(key: rsa.RSAPrivateKey, serial: int) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_platform_certificate_mode_verifies_by_certificate_serial(
    platform_key: rsa.RSAPrivateKey, account: MerchantAccount
) -> None:
    serial = 0x3A7F0C5D9E1B2468ACE013579BDF02468ACE0135
    keys = PlatformKeys.build(certificates_pem=(_certificate(platform_key, serial),))
    assert keys.preferred_serial == "3A7F0C5D9E1B2468ACE013579BDF02468ACE0135"
    body = b'{"id":"n1","resource":{}}'
    ts, nonce = str(int(time.time())), "abc"
    headers = {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(platform_key, f"{ts}\n{nonce}\n".encode() + body + b"\n"),
        "Wechatpay-Serial": keys.preferred_serial,
    }
    cert_account = replace(account, platform=keys)
    # Signature and serial pass; it then fails only on the (empty) resource.
    with pytest.raises(SignatureInvalid) as caught:
        parse_notification(body=body, headers=headers, account=cert_account, now=_now())
    assert caught.value.reason == "unsupported algorithm None"
    with pytest.raises(SignatureInvalid) as unknown:
        parse_notification(
            body=body,
            headers={**headers, "Wechatpay-Serial": PLATFORM_KEY_ID},
            account=cert_account,
            now=_now(),
        )
    assert "unknown Wechatpay-Serial" in unknown.value.reason


def test_account_from_settings_reads_the_configured_keys(
    tmp_path: Path, merchant_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey
) -> None:
    private_path = tmp_path / "apiclient_key.pem"
    private_path.write_bytes(
        merchant_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    # Migration period: the WeChat Pay public key and the old platform certificate together.
    public_path = tmp_path / "wechatpay_platform.pem"
    public_path.write_bytes(
        platform_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        + _certificate(platform_key, 0x1F2E3D4C)
    )
    settings = Settings(
        wechat_appid="wx0000000000test01",
        wechatpay_mchid=MCHID,
        wechatpay_apiv3_key=APIV3_KEY.decode(),
        wechatpay_private_key_path=str(private_path),
        wechatpay_cert_serial=MERCHANT_SERIAL,
        wechatpay_public_key_path=str(public_path),
        wechatpay_public_key_id=PLATFORM_KEY_ID,
        wechatpay_notify_url="https://api.example.com/payments/wechat/notify",
    )

    configured = account_from_settings(settings)

    assert configured is not None
    assert (configured.mchid, configured.appid, configured.serial_no) == (
        MCHID,
        "wx0000000000test01",
        MERCHANT_SERIAL,
    )
    assert configured.platform.preferred_serial == PLATFORM_KEY_ID
    assert configured.platform.key_for(PLATFORM_KEY_ID).public_numbers() == (
        platform_key.public_key().public_numbers()
    )
    assert configured.platform.key_for("1F2E3D4C").public_numbers() == (
        platform_key.public_key().public_numbers()
    )
    assert configured.private_key.private_numbers() == merchant_key.private_numbers()
    assert account_from_settings(Settings()) is None
    client = WeChatPayClient.from_settings(
        replace(settings, wechatpay_api_base="http://127.0.0.1:9/")
    )
    assert client is not None and client.base_url == "http://127.0.0.1:9"
    assert WeChatPayClient.from_settings(Settings()) is None
    with pytest.raises(ValueError, match="WECHATPAY_PRIVATE_KEY_PATH"):
        account_from_settings(replace(settings, wechatpay_private_key_path=""))
