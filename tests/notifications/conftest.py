"""Notifications through the real HTTP API, firebase-admin and the WeChat client, against
loopback fakes: FCM (with its OAuth token endpoint) and WeChat (subscribe messages).

These tests get their own application, whose settings name a service account generated for
this run (its `token_uri` is the fake's) and the fake FCM as `FCM_API_BASE`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from server.app import create_app
from server.config import Settings
from server.sandbox.fcm import FakeFCM, service_account
from tests.fakes.server import serve
from tests.fakes.wechat import FakeWeChat
from tests.paying.conftest import deliver_all  # noqa: F401  (re-exported for the tests here)
from tests.world import World

PROJECT = "baoxiu-test"
TEMPLATES = {"order_taken": "TPL_TAKEN_0001", "order_completed": "TPL_DONE_0001"}


@pytest.fixture(scope="session")
def account_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def fcm_server(account_key: rsa.RSAPrivateKey) -> Iterator[tuple[FakeFCM, str]]:
    fake = FakeFCM(project_id=PROJECT, account_key=account_key.public_key())
    with serve(fake.app()) as base_url:
        yield fake, base_url


@pytest.fixture
def fcm(fcm_server: tuple[FakeFCM, str]) -> FakeFCM:
    fake = fcm_server[0]
    fake.reset()
    return fake


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    wechat_server: tuple[FakeWeChat, str],
    fcm_server: tuple[FakeFCM, str],
    account_key: rsa.RSAPrivateKey,
) -> Settings:
    tmp = tmp_path_factory.mktemp("notifications")
    credentials = tmp / "fcm-service-account.json"
    credentials.write_text(
        json.dumps(
            service_account(project_id=PROJECT, token_uri=fcm_server[1] + "/token", key=account_key)
        )
    )
    return Settings.from_env(
        {
            "BAOXIU_ENV": "test",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "BAOXIU_INSTANCE_DIR": str(tmp),
            "WECHAT_APPID": "wx0000000000test01",
            "WECHAT_SECRET": "test-wechat-secret",
            "WECHAT_API_BASE": wechat_server[1],
            "FIREBASE_CREDENTIALS": str(credentials),
            "FCM_API_BASE": fcm_server[1],
            "WECHAT_SUBSCRIBE_TEMPLATES": json.dumps(TEMPLATES),
        }
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["baoxiu"].db.dispose()


class Town(World):
    """A world whose people have phones: each technician and the tenant registered one."""

    def __init__(self, make: Any, client: Any) -> None:
        super().__init__(make)
        self.tenant.wechat_openid = "oTownTenant0000000000000001"
        make.session.flush()
        self.phones: dict[int, str] = {}
        for person in [*self.techs, self.outsider]:
            token = "fcm-" + secrets.token_hex(12)
            r = client.post(
                "/api/v1/me/devices",
                json={"platform": "android", "token": token},
                headers=self.headers(person),
            )
            assert r.status_code == 201, r.json
            self.phones[person.id] = token


@pytest.fixture
def town(make: Any, client: Any) -> Town:
    return Town(make, client)
