"""Paying through the real HTTP API against loopback WeChat Pay and Alipay fakes.

These tests get their own application: its settings configure the default WeChat Pay
merchant (WECHATPAY_*) and Alipay app (ALIPAY_*) with keys generated for this run, and point
both providers' base URLs at the fakes, so the production code path is the one under test.
Outbox deliveries (refunds, closes) are run in-process with `deliver_all`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import select

from server.app import create_app
from server.config import Settings
from server.outbox import delivery
from server.outbox.models import OutboxItem
from server.outbox.rules import Status
from tests.fakes.alipay import AlipayTestKeys, FakeAlipay
from tests.fakes.server import serve
from tests.fakes.wechatpay import FakeWeChatPay
from tests.world import World

MCHID = "1900000109"
WX_APPID = "wx0000000000test01"  # the mini-program (WECHAT_APPID of the root conftest)
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_KEY_ID = "PUB_KEY_ID_0119000001092026113000000000000001"
APIV3_KEY = "baoxiu-test-apiv3-key-0123456789"
ALIPAY_APPID = "2021000000000001"
SELLER_ID = "2088000000000001"
OPENID = "oTestOpenId0000000000000001"
NOTIFY_WECHAT = "/api/v1/payments/wechat/notify"
NOTIFY_ALIPAY = "/api/v1/payments/alipay/notify"


def _pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_public(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="session")
def merchant_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def alipay_keys() -> AlipayTestKeys:
    return AlipayTestKeys.generate()


def _new_wechatpay(
    merchant_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey
) -> FakeWeChatPay:
    return FakeWeChatPay(
        mchid=MCHID,
        appid=WX_APPID,
        merchant_serial=MERCHANT_SERIAL,
        merchant_public_key=merchant_key.public_key(),
        platform_private_key=platform_key,
        platform_serial=PLATFORM_KEY_ID,
        apiv3_key=APIV3_KEY.encode(),
    )


@pytest.fixture(scope="session")
def wechatpay_server(
    merchant_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey
) -> Iterator[tuple[FakeWeChatPay, str]]:
    fake = _new_wechatpay(merchant_key, platform_key)
    with serve(fake.app()) as base_url:
        yield fake, base_url


@pytest.fixture(scope="session")
def alipay_server(alipay_keys: AlipayTestKeys) -> Iterator[tuple[FakeAlipay, str]]:
    fake = FakeAlipay(app_id=ALIPAY_APPID, keys=alipay_keys, seller_id=SELLER_ID)
    with serve(fake.app()) as base_url:
        yield fake, base_url


@pytest.fixture
def wxpay(
    wechatpay_server: tuple[FakeWeChatPay, str],
    merchant_key: rsa.RSAPrivateKey,
    platform_key: rsa.RSAPrivateKey,
) -> FakeWeChatPay:
    """The loopback WeChat Pay, emptied for this test."""
    fake = wechatpay_server[0]
    fresh = _new_wechatpay(merchant_key, platform_key)
    fake.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "lock"})
    return fake


@pytest.fixture
def alipay(alipay_server: tuple[FakeAlipay, str]) -> FakeAlipay:
    fake = alipay_server[0]
    fake.reset()
    return fake


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    wechat_server: Any,
    wechatpay_server: tuple[FakeWeChatPay, str],
    alipay_server: tuple[FakeAlipay, str],
    merchant_key: rsa.RSAPrivateKey,
    platform_key: rsa.RSAPrivateKey,
    alipay_keys: AlipayTestKeys,
) -> Settings:
    tmp = tmp_path_factory.mktemp("paying")
    files = {
        "wx_key.pem": _pem_private(merchant_key),
        "wx_platform.pem": _pem_public(platform_key.public_key()),
        "ali_key.pem": _pem_private(alipay_keys.app_private_key),
        "ali_pub.pem": _pem_public(alipay_keys.alipay_public_key),
    }
    for name, content in files.items():
        (tmp / name).write_bytes(content)
    return Settings.from_env(
        {
            "BAOXIU_ENV": "test",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "BAOXIU_INSTANCE_DIR": str(tmp),
            "WECHAT_APPID": WX_APPID,
            "WECHAT_SECRET": "test-wechat-secret",
            "WECHAT_API_BASE": wechat_server[1],
            "WECHATPAY_MCHID": MCHID,
            "WECHATPAY_APIV3_KEY": APIV3_KEY,
            "WECHATPAY_PRIVATE_KEY_PATH": str(tmp / "wx_key.pem"),
            "WECHATPAY_CERT_SERIAL": MERCHANT_SERIAL,
            "WECHATPAY_PUBLIC_KEY_PATH": str(tmp / "wx_platform.pem"),
            "WECHATPAY_PUBLIC_KEY_ID": PLATFORM_KEY_ID,
            "WECHATPAY_NOTIFY_URL": "https://api.example.com" + NOTIFY_WECHAT,
            "WECHATPAY_API_BASE": wechatpay_server[1],
            "ALIPAY_APPID": ALIPAY_APPID,
            "ALIPAY_PRIVATE_KEY_PATH": str(tmp / "ali_key.pem"),
            "ALIPAY_PUBLIC_KEY_PATH": str(tmp / "ali_pub.pem"),
            "ALIPAY_GATEWAY": alipay_server[1] + "/gateway.do",
            "ALIPAY_NOTIFY_URL": "https://api.example.com" + NOTIFY_ALIPAY,
            "ALIPAY_SELLER_ID": SELLER_ID,
        }
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["baoxiu"].db.dispose()


def deliver_all(app: Flask, *, rounds: int = 5) -> list[str]:
    """Deliver every pending outbox item in-process (what the worker would do), until none."""
    db = app.extensions["baoxiu"].db
    outcomes: list[str] = []
    for _ in range(rounds):
        with db.transaction() as uow:
            due = list(
                uow.session.execute(
                    select(OutboxItem.id, OutboxItem.job)
                    .where(OutboxItem.status == Status.PENDING.value)
                    .order_by(OutboxItem.id)
                )
            )
        if not due:
            break
        for outbox_id, job in due:
            outcomes.append(f"{job}:{delivery.deliver(db, outbox_id=outbox_id, job=job).value}")
    return outcomes


class Shop(World):
    """A world whose tenant logged in with WeChat, with a deposit subtype and a full one."""

    def __init__(self, make: Any) -> None:
        super().__init__(make)
        self.tenant.wechat_openid = OPENID
        self.neighbour.wechat_openid = OPENID + "x"
        self.deposit = make.subtype(
            self.order_type,
            name="换锁（订金）",
            fee_mode="charge_on_order",
            fee_fen=10000,
            prepay="deposit",
            deposit_fen=3000,
        )
        self.full = make.subtype(
            self.order_type,
            name="疏通（全额）",
            fee_mode="charge_on_order",
            fee_fen=8800,
            prepay="full",
        )
        self.after = make.subtype(
            self.order_type, name="维修（完工后收费）", fee_mode="charge_after_completion"
        )
        make.session.flush()


@pytest.fixture
def shop(make: Any) -> Shop:
    return Shop(make)
