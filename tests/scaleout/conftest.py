"""Many processes, one truth: real `baoxiu serve`, `baoxiu worker` and `baoxiu cron` processes
on this run's PostgreSQL and Redis, raced by parallel clients.

The processes get the environment this package's settings are made of: the paying tests'
WeChat Pay and Alipay fakes (keys generated for this run) and the notification tests' FCM
fake, all on loopback ports served by this test process, so the provider calls of every
process are answered (and counted) here. Each process runs in a process group of its own and
is stopped by a finalizer (SIGTERM, then SIGKILL), whatever the test did.

Like tests/concurrency, the tests stay away from the SAVEPOINT fixtures: each commits its
own organisation for real and scopes what it counts to it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from rq import Queue

from server.app import create_app
from server.config import Settings
from server.jobs import QUEUES
from server.sandbox.fcm import FakeFCM, service_account
from tests.fakes.alipay import AlipayTestKeys, FakeAlipay
from tests.fakes.wechat import FakeWeChat
from tests.fakes.wechatpay import FakeWeChatPay
from tests.notifications.conftest import PROJECT, account_key, fcm, fcm_server
from tests.paying.conftest import (
    ALIPAY_APPID,
    APIV3_KEY,
    MCHID,
    MERCHANT_SERIAL,
    NOTIFY_ALIPAY,
    NOTIFY_WECHAT,
    PLATFORM_KEY_ID,
    SELLER_ID,
    WX_APPID,
    _pem_private,
    _pem_public,
    alipay,
    alipay_keys,
    alipay_server,
    merchant_key,
    platform_key,
    wechatpay_server,
    wxpay,
)

__all__ = [  # the fixtures borrowed from the paying and notification tests
    "account_key",
    "alipay",
    "alipay_keys",
    "alipay_server",
    "fcm",
    "fcm_server",
    "merchant_key",
    "platform_key",
    "wechatpay_server",
    "wxpay",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BAOXIU = (sys.executable, "-m", "server.cli")
GRACE_SECONDS = 4.0  # after SIGTERM, before SIGKILL
CRON_LOCK_TTL = 3  # seconds: a killed leader's successor takes over within about this


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Processes:
    """Processes started for a test, each the leader of its own process group."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, *args: str, command: Sequence[str] = BAOXIU
    ) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [*command, *args],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: its forks (gunicorn, RQ) die with it
            )
        self.started.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """What a lost machine does: the whole group dies at once, nothing cleaned up."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for _, process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        # One grace period for all of them (the results are committed): then SIGKILL.
        deadline = time.monotonic() + GRACE_SECONDS
        for name, process in self.started:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.01))
                how = "stopped"
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
                how = "killed"
            sys.stderr.write(f"--- {name} {how}; log tail:\n{self.log(name)[-2000:]}\n")
        self.started.clear()


@pytest.fixture(scope="session")
def environment(
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    wechat_server: tuple[FakeWeChat, str],
    wechatpay_server: tuple[FakeWeChatPay, str],
    alipay_server: tuple[FakeAlipay, str],
    fcm_server: tuple[FakeFCM, str],
    merchant_key: rsa.RSAPrivateKey,
    platform_key: rsa.RSAPrivateKey,
    alipay_keys: AlipayTestKeys,
    account_key: rsa.RSAPrivateKey,
) -> dict[str, str]:
    """The configuration shared by this process (the app) and every process started."""
    tmp = tmp_path_factory.mktemp("scaleout")
    files = {
        "wx_key.pem": _pem_private(merchant_key),
        "wx_platform.pem": _pem_public(platform_key.public_key()),
        "ali_key.pem": _pem_private(alipay_keys.app_private_key),
        "ali_pub.pem": _pem_public(alipay_keys.alipay_public_key),
    }
    for name, content in files.items():
        (tmp / name).write_bytes(content)
    credentials = tmp / "fcm-service-account.json"
    credentials.write_text(
        json.dumps(
            service_account(project_id=PROJECT, token_uri=fcm_server[1] + "/token", key=account_key)
        )
    )
    return {
        "BAOXIU_ENV": "test",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BAOXIU_INSTANCE_DIR": str(tmp),
        "LOG_LEVEL": "INFO",
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
        "FIREBASE_CREDENTIALS": str(credentials),
        "FCM_API_BASE": fcm_server[1],
        "CRON_LOCK_TTL_SECONDS": str(CRON_LOCK_TTL),
    }


@pytest.fixture(scope="session")
def settings(environment: dict[str, str]) -> Settings:
    return Settings.from_env(environment)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["baoxiu"].db.dispose()


@pytest.fixture
def processes(environment: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    running = Processes({**os.environ, **environment}, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


class Cluster:
    """Two API servers and two workers; `url(i)` spreads clients over the servers."""

    def __init__(self, processes: Processes, servers: list[str]) -> None:
        self.processes = processes
        self.servers = servers

    def url(self, index: int) -> str:
        return self.servers[index % len(self.servers)]


@pytest.fixture(scope="module")
def cluster(
    app: Flask, environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """`baoxiu serve` ×2 (2 gunicorn workers of 2 threads each) and `baoxiu worker` ×2."""
    # Earlier tests of the run leave deliveries nobody ran on the shared queues.
    for name in QUEUES:
        Queue(name, connection=app.extensions["baoxiu"].redis).empty()
    running = Processes({**os.environ, **environment}, tmp_path_factory.mktemp("cluster"))
    try:
        ports = [free_port(), free_port()]
        for index, port in enumerate(ports):
            running.start(f"serve-{index}", "serve", "--port", str(port), "--workers", "2")
        for index in range(2):
            running.start(f"worker-{index}", "worker")
        servers = [f"http://127.0.0.1:{port}" for port in ports]
        for (name, process), base in zip(running.started, servers, strict=False):

            def answers(base: str = base, name: str = name, process: Any = process) -> bool:
                assert process.poll() is None, f"{name} exited: {running.log(name)[-2000:]}"
                try:
                    return requests.get(f"{base}/api/v1/readyz", timeout=1).ok
                except requests.RequestException:
                    return False

            wait_for(f"{name} to answer", answers, timeout=60)
        for name in ("worker-0", "worker-1"):
            wait_for(f"{name} to listen", lambda name=name: "Listening on" in running.log(name))
        yield Cluster(running, servers)
    finally:
        running.stop_all()
