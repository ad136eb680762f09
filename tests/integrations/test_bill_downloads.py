"""Bill downloads at the wire, against the loopback fakes: WeChat's signed apply + unsigned
gzip download with its SHA-1 checked, empty days, bills still being made; Alipay's signed URL
query and the zip download."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from server.integrations.alipay import AlipayClient
from server.integrations.alipay_bill import AlipayBillReader, open_detail
from server.integrations.wechatpay import (
    MerchantAccount,
    PlatformKeys,
    WeChatPayClient,
    WeChatPayError,
)
from server.integrations.wechatpay_bill import WeChatBillReader
from server.kernel.errors import UpstreamError
from tests.fakes.alipay import AlipayTestKeys, FakeAlipay, bill_zip
from tests.fakes.server import serve
from tests.fakes.wechatpay import FakeWeChatPay
from tests.integrations.test_bill_parsers import (
    ALIPAY_PAY,
    ALIPAY_REFUND,
    PAY_ROW,
    REFUND_ROW,
    alipay_detail,
    wechat_bill,
)

MCHID = "1900000109"
APPID = "wx0000000000test01"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
KEY_ID = "PUB_KEY_ID_0119000001092026113000000000000009"
APIV3 = b"baoxiu-test-apiv3-key-0123456789"
ALIPAY_APP = "2021000000000009"


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@pytest.fixture
def wechat(keys, tmp_path) -> Iterator[tuple[FakeWeChatPay, WeChatPayClient]]:
    merchant, platform = keys
    fake = FakeWeChatPay(
        mchid=MCHID,
        appid=APPID,
        merchant_serial=SERIAL,
        merchant_public_key=merchant.public_key(),
        platform_private_key=platform,
        platform_serial=KEY_ID,
        apiv3_key=APIV3,
    )
    account = MerchantAccount(
        mchid=MCHID,
        appid=APPID,
        serial_no=SERIAL,
        private_key=merchant,
        apiv3_key=APIV3,
        platform=PlatformKeys(keys={KEY_ID: platform.public_key()}, preferred_serial=KEY_ID),
    )
    with serve(fake.app()) as base_url:
        yield fake, WeChatPayClient(account=account, base_url=base_url, timeout=(2.0, 5.0))


DAY = date(2026, 3, 2)


def test_wechat_trade_bill_is_downloaded_verified_and_parsed(wechat, tmp_path):
    fake, client = wechat
    content = ("\ufeff" + wechat_bill(PAY_ROW, REFUND_ROW)).encode()
    fake.put_bill("2026-03-02", content)
    bill = client.trade_bill(DAY, directory=str(tmp_path))
    assert bill is not None
    try:
        assert bill.path.parent == tmp_path
        assert gzip.decompress(bill.path.read_bytes()) == content  # kept compressed on disk
        with bill.open() as stream:
            reader = WeChatBillReader(stream)
            assert [row.kind for row in reader.rows()] == ["payment", "refund"]
        assert reader.summary is not None and reader.summary.rows == 2
    finally:
        bill.path.unlink()
    # The apply is signed and verified; the download carried our signature and was unsigned.
    download = [r for r in fake.requests_seen if r["path"] == "/v3/billdownload/file"]
    assert download and download[0]["headers"]["Authorization"].startswith("WECHATPAY2-")


def test_wechat_bill_with_a_wrong_hash_is_refused_and_removed(wechat, tmp_path):
    fake, client = wechat
    fake.put_bill("2026-03-02", wechat_bill(PAY_ROW))
    fake.bill_hash_override = "0" * 40
    with pytest.raises(UpstreamError, match="校验失败"):
        client.trade_bill(DAY, directory=str(tmp_path))
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left behind


def test_wechat_no_statement_is_an_empty_day(wechat, tmp_path):
    _, client = wechat
    assert client.trade_bill(DAY, directory=str(tmp_path)) is None
    assert list(tmp_path.iterdir()) == []


def test_wechat_statement_creating_is_retryable(wechat):
    fake, client = wechat
    fake.bills_creating.add("2026-03-02")
    with pytest.raises(WeChatPayError) as caught:
        client.trade_bill(DAY)
    assert caught.value.code == "STATEMENT_CREATING"
    assert caught.value.retryable


def test_wechat_download_url_on_another_host_is_not_followed(wechat, monkeypatch):
    fake, client = wechat
    fake.put_bill("2026-03-02", wechat_bill(PAY_ROW))
    original = client._call

    def elsewhere(*args, **kwargs):
        answer = original(*args, **kwargs)
        return {**answer, "download_url": "https://evil.example.com/v3/billdownload/file?x=1"}

    monkeypatch.setattr(client, "_call", elsewhere)
    with pytest.raises(UpstreamError, match="不可信"):
        client.trade_bill(DAY)


@pytest.fixture
def alipay() -> Iterator[tuple[FakeAlipay, AlipayClient]]:
    test_keys = AlipayTestKeys.generate()
    fake = FakeAlipay(app_id=ALIPAY_APP, keys=test_keys)
    with serve(fake.app()) as base_url:
        yield (
            fake,
            AlipayClient(
                app_id=ALIPAY_APP,
                app_private_key=test_keys.app_private_key,
                alipay_public_key=test_keys.alipay_public_key,
                gateway=f"{base_url}/gateway.do",
                timeout=(2.0, 5.0),
            ),
        )


def test_alipay_bill_url_and_zip_download(alipay, tmp_path):
    fake, client = alipay
    fake.put_bill("2026-03-02", bill_zip(alipay_detail(ALIPAY_PAY, ALIPAY_REFUND)))
    url = client.bill_download_url(DAY)
    assert url is not None and "downloadBillFile" in url
    path = client.download_bill(url, directory=str(tmp_path))
    try:
        with open_detail(path) as stream:
            reader = AlipayBillReader(stream)
            rows = list(reader.rows())
        assert [r.kind for r in rows] == ["payment", "refund"]
    finally:
        path.unlink()


def test_alipay_bill_not_exist_is_none(alipay):
    _, client = alipay
    assert client.bill_download_url(DAY) is None
