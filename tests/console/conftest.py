"""The console in a real browser: Debian's Chromium driven by Playwright, on a live server.

The browser tests get their own database (the run's name + `_console`), migrated and filled
with the demo data (`seed_demo`: two communities, 60 days of history) and committed, behind
the application on a loopback port. Chromium is never downloaded: the tests use the system's
`chromium` (`make install` installs it with apt) and are skipped, with the reason, where
there is none. Every page the tests open fails the test on a browser console error, an
uncaught exception, or a request to any host but the application.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from flask import Flask

from server.app import create_app
from server.config import Settings
from server.db import migrate
from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE, seed_demo
from tests.conftest import TEST_DB, _admin_dsn, _with_database
from tests.fakes.server import serve

SCREENSHOTS = Path(__file__).parent / "screenshots"
CONSOLE_DB = f"{TEST_DB}_console"
VIEWPORT = {"width": 1366, "height": 768}


def chromium_path() -> str | None:
    return os.environ.get("BAOXIU_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def console_app(database_server_url: str, settings: Settings) -> Iterator[Flask]:
    admin = _admin_dsn(database_server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{CONSOLE_DB}"')
        conn.execute(f'CREATE DATABASE "{CONSOLE_DB}"')
    url = _with_database(database_server_url, CONSOLE_DB)
    migrate.upgrade(url)
    own = dataclasses.replace(settings, database_url=url, secret_key=secrets.token_urlsafe(48))
    app = create_app(own)
    with app.extensions["baoxiu"].db.transaction() as uow:
        seed_demo(uow.session)
    yield app
    app.extensions["baoxiu"].db.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{CONSOLE_DB}" WITH (FORCE)')


@pytest.fixture(scope="session")
def console_url(console_app: Flask) -> Iterator[str]:
    with serve(console_app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium 未安装（apt-get install chromium fonts-noto-cjk）：跳过浏览器测试")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


class PageWatch:
    """What went wrong in the browser while a test ran: console errors, uncaught
    exceptions, requests that left the application."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Any, console_url: str, watch: PageWatch) -> Iterator[Any]:
    context = browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    own = urlsplit(console_url).netloc

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            watch.foreign.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.on(
        "console",
        lambda message: watch.errors.append(message.text) if message.type == "error" else None,
    )
    tab.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
    assert not watch.foreign, f"requests to other hosts: {watch.foreign}"
    assert not watch.errors, f"browser console errors: {watch.errors}"


def sign_in(page: Any, base_url: str, *, phone: str = DISPATCHER_PHONE) -> None:
    page.goto(f"{base_url}/console/login")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_label("机构编码（可选）").fill(DEMO_ORG_CODE)
    page.get_by_role("button", name="登录").click()


@pytest.fixture
def desk(page: Any, console_url: str) -> Any:
    """A page signed in as the demo dispatcher, on the workbench."""
    sign_in(page, console_url)
    page.wait_for_url(f"{console_url}/console/workbench")
    return page


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
