"""Defects the comparison with the usual SDKs found in our clients (and the sandbox), each
pinned: WeChat timestamps of non-ASCII digits, platform certificate validity and download,
Alipay error answers with an empty `sign`, and Alipay certificate mode."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from server.integrations.alipay import (
    AlipayCertificates,
    AlipayClient,
    AlipayError,
    AlipayTradeNotExist,
)
from server.integrations.alipay import (
    SignatureInvalid as AlipaySignatureInvalid,
)
from server.integrations.wechatpay import (
    MerchantAccount,
    PlatformKeys,
    SignatureInvalid,
    WeChatPayClient,
    verify_wechatpay_signature,
)
from server.sandbox.alipay import AlipaySandboxCerts, AlipayTestKeys, FakeAlipay
from server.sandbox.wechatpay import FakeWeChatPay, platform_certificate
from tests.fakes.server import serve

MCHID = "1900000109"
APPID = "wx0000000000test01"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
APIV3_KEY = b"baoxiu-test-apiv3-key-0123456789"
ALIPAY_APPID = "2021000000000001"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def merchant_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def next_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(key: rsa.RSAPrivateKey, serial: int, *, days_left: float, age: float = 300) -> str:
    return platform_certificate(
        key,
        serial=serial,
        not_before=NOW - timedelta(days=age),
        not_after=NOW + timedelta(days=days_left),
    )


@pytest.fixture
def wechat(
    merchant_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey
) -> Iterator[tuple[FakeWeChatPay, str]]:
    fake = FakeWeChatPay(
        mchid=MCHID,
        appid=APPID,
        merchant_serial=MERCHANT_SERIAL,
        merchant_public_key=merchant_key.public_key(),
        platform_private_key=platform_key,
        platform_serial="A1",
        apiv3_key=APIV3_KEY,
    )
    with serve(fake.app()) as base_url:
        yield fake, base_url


def _merchant(merchant_key: rsa.RSAPrivateKey, *certs: str) -> MerchantAccount:
    return MerchantAccount(
        mchid=MCHID,
        appid=APPID,
        serial_no=MERCHANT_SERIAL,
        private_key=merchant_key,
        apiv3_key=APIV3_KEY,
        platform=PlatformKeys.build(certificates_pem=tuple(c.encode() for c in certs)),
    )


# --- WeChat Pay: timestamps -------------------------------------------------------------------


@pytest.mark.parametrize("stamp", ["²", "1²", "١٧٠٠٠٠٠٠٠٠", "+1700000000", "17000000 ", ""])
def test_a_timestamp_of_anything_but_ascii_digits_is_a_signature_failure(
    platform_key: rsa.RSAPrivateKey, stamp: str
) -> None:
    keys = PlatformKeys.build(certificates_pem=(_cert(platform_key, 0xA1, days_left=30).encode(),))
    headers = {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": "n",
        "Wechatpay-Signature": "c2ln",
        "Wechatpay-Serial": "A1",
    }
    with pytest.raises(SignatureInvalid):  # not ValueError (a 500 at the notify endpoint)
        verify_wechatpay_signature(keys, headers, b"{}", now=time.time())


def test_the_sandbox_refuses_a_non_ascii_digit_timestamp_as_a_bad_signature(
    wechat: tuple[FakeWeChatPay, str],
) -> None:
    authorization = (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{MCHID}",nonce_str="n",signature="c2ln",'
        f'timestamp="²",serial_no="{MERCHANT_SERIAL}"'
    )
    answer = requests.get(
        f"{wechat[1]}/v3/pay/transactions/out-trade-no/R1?mchid={MCHID}",
        headers={"Authorization": authorization.encode("utf-8")},
        timeout=5,
    )
    assert answer.status_code == 401 and answer.json()["code"] == "SIGN_ERROR"


# --- WeChat Pay: platform certificates --------------------------------------------------------


def test_an_answer_under_an_expired_platform_certificate_is_refused(
    wechat: tuple[FakeWeChatPay, str],
    merchant_key: rsa.RSAPrivateKey,
    platform_key: rsa.RSAPrivateKey,
) -> None:
    expired = _cert(platform_key, 0xA1, days_left=-1)
    client = WeChatPayClient(account=_merchant(merchant_key, expired), base_url=wechat[1])
    with pytest.raises(SignatureInvalid) as caught:
        client.query_by_out_trade_no("R20261201000001")
    assert "not valid" in caught.value.reason
    not_yet = _cert(platform_key, 0xA1, days_left=400, age=-2)
    client = WeChatPayClient(account=_merchant(merchant_key, not_yet), base_url=wechat[1])
    with pytest.raises(SignatureInvalid) as caught:
        client.query_by_out_trade_no("R20261201000001")
    assert "not valid" in caught.value.reason


def test_platform_certificates_are_downloaded_with_the_trusted_key(
    wechat: tuple[FakeWeChatPay, str],
    merchant_key: rsa.RSAPrivateKey,
    platform_key: rsa.RSAPrivateKey,
    next_key: rsa.RSAPrivateKey,
) -> None:
    fake, base_url = wechat
    current = _cert(platform_key, 0xA1, days_left=5)
    upcoming = _cert(next_key, 0xB2, days_left=1800, age=1)
    fake.platform_certificates = [current, upcoming]
    client = WeChatPayClient(account=_merchant(merchant_key, current), base_url=base_url)
    fetched = client.platform_certificates()
    assert [c.serial for c in fetched] == ["A1", "B2"]
    assert fetched[1].pem.strip() == upcoming.strip()
    assert fetched[1].not_after > NOW + timedelta(days=1700)

    # Signed by a key we do not trust yet (the one it brings): nothing is learnt from it.
    fake.platform_private_key, fake.platform_serial = next_key, "B2"
    with pytest.raises(SignatureInvalid) as caught:
        client.platform_certificates()
    assert "unknown Wechatpay-Serial" in caught.value.reason
    # Once B2 is trusted (learnt while A1 signed), its answers verify.
    trusting = WeChatPayClient(
        account=_merchant(merchant_key, current, upcoming), base_url=base_url
    )
    assert {c.serial for c in trusting.platform_certificates()} == {"A1", "B2"}
    assert trusting.account.platform.preferred_serial == "B2"


def test_a_certificate_encrypted_with_another_apiv3_key_is_refused(
    wechat: tuple[FakeWeChatPay, str],
    merchant_key: rsa.RSAPrivateKey,
    platform_key: rsa.RSAPrivateKey,
) -> None:
    fake, base_url = wechat
    current = _cert(platform_key, 0xA1, days_left=30)
    fake.platform_certificates = [current]
    fake.apiv3_key = b"another-apiv3-key-0123456789abcd"
    client = WeChatPayClient(account=_merchant(merchant_key, current), base_url=base_url)
    with pytest.raises(SignatureInvalid) as caught:
        client.platform_certificates()
    assert "decrypt" in caught.value.reason


# --- Alipay: error answers with an empty sign -------------------------------------------------


@pytest.fixture(scope="module")
def alipay_keys() -> AlipayTestKeys:
    return AlipayTestKeys.generate()


@pytest.fixture
def alipay(alipay_keys: AlipayTestKeys) -> Iterator[tuple[FakeAlipay, str]]:
    fake = FakeAlipay(app_id=ALIPAY_APPID, keys=alipay_keys)
    with serve(fake.app()) as base_url:
        yield fake, base_url + "/gateway.do"


def _client(
    keys: AlipayTestKeys, gateway: str, certificates: AlipayCertificates | None = None
) -> AlipayClient:
    return AlipayClient(
        app_id=ALIPAY_APPID,
        app_private_key=keys.app_private_key,
        alipay_public_key=certificates.alipay_public_key
        if certificates
        else keys.alipay_public_key,
        gateway=gateway,
        timeout=(2.0, 5.0),
        certificates=certificates,
    )


def test_an_error_answer_with_an_empty_sign_surfaces_the_real_error(
    alipay: tuple[FakeAlipay, str], alipay_keys: AlipayTestKeys
) -> None:
    fake, gateway = alipay
    inner = {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.TRADE_NOT_EXIST",
        "sub_msg": "交易不存在",
    }
    fake.answer_next(
        "alipay.trade.query",
        '{"alipay_trade_query_response":' + json.dumps(inner, ensure_ascii=False) + ',"sign":""}',
    )
    with pytest.raises(AlipayTradeNotExist) as caught:
        _client(alipay_keys, gateway).query_trade(out_trade_no="A-none")
    assert (caught.value.code, caught.value.sub_code) == ("40004", "ACQ.TRADE_NOT_EXIST")

    fake.answer_next(
        "alipay.trade.query",
        '{"error_response":{"code":"40002","msg":"Invalid Arguments",'
        '"sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"},"sign":""}',
    )
    with pytest.raises(AlipayError) as refused:
        _client(alipay_keys, gateway).query_trade(out_trade_no="A-none")
    assert refused.value.sub_code == "isv.invalid-app-id"

    # A success is never believed without a signature, empty or absent.
    fake.answer_next(
        "alipay.trade.query",
        '{"alipay_trade_query_response":{"code":"10000","msg":"Success","trade_no":"1",'
        '"out_trade_no":"A1","trade_status":"TRADE_SUCCESS","total_amount":"1.00"},"sign":""}',
    )
    with pytest.raises(AlipaySignatureInvalid):
        _client(alipay_keys, gateway).query_trade(out_trade_no="A1")


# --- Alipay: certificate mode -----------------------------------------------------------------


def _loaded(certs: AlipaySandboxCerts) -> AlipayCertificates:
    return AlipayCertificates.load(
        app_public_key_cert=certs.app_public_key_cert,
        alipay_public_key_cert=certs.alipay_public_key_cert,
        alipay_root_cert=certs.alipay_root_cert,
    )


def test_certificate_mode_requests_carry_the_sns_and_answers_are_verified_by_the_cert_key(
    alipay: tuple[FakeAlipay, str], alipay_keys: AlipayTestKeys
) -> None:
    fake, gateway = alipay
    certs = AlipaySandboxCerts.generate(alipay_keys)
    fake.certificates = certs
    loaded = _loaded(certs)
    assert (loaded.app_cert_sn, loaded.alipay_cert_sn, loaded.alipay_root_cert_sn) == (
        certs.app_cert_sn,
        certs.alipay_cert_sn,
        certs.alipay_root_cert_sn,
    )
    client = _client(alipay_keys, gateway, loaded)
    order = client.app_pay_order_string(out_trade_no="A-cert-1", total_fen=100, subject="换锁")
    fake.open_order_string(order)
    assert client.query_trade(out_trade_no="A-cert-1").trade_status == "WAIT_BUYER_PAY"
    sent = fake.received[-1]
    assert (sent["app_cert_sn"], sent["alipay_root_cert_sn"]) == (
        certs.app_cert_sn,
        certs.alipay_root_cert_sn,
    )

    # Alipay names another certificate (it rotated its key): refused, and said so.
    fake.answer_cert_sn = "0" * 32
    with pytest.raises(AlipaySignatureInvalid, match="证书已更换"):
        client.query_trade(out_trade_no="A-cert-1")


def test_certificate_mode_refusals_come_with_an_empty_sign_and_keep_their_code(
    alipay: tuple[FakeAlipay, str], alipay_keys: AlipayTestKeys
) -> None:
    fake, gateway = alipay
    fake.certificates = AlipaySandboxCerts.generate(alipay_keys)
    other = _loaded(AlipaySandboxCerts.generate(alipay_keys))  # another app certificate
    with pytest.raises(AlipayError) as caught:
        _client(alipay_keys, gateway, other).query_trade(out_trade_no="A1")
    assert caught.value.sub_code == "isv.invalid-app-cert-sn"
    # In public-key mode against a certificate-mode app: the SNs are missing.
    with pytest.raises(AlipayError) as missing:
        _client(alipay_keys, gateway).query_trade(out_trade_no="A1")
    assert missing.value.sub_code == "isv.missing-app-cert-sn"
