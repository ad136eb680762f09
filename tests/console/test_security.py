"""The console as a browser sees it, without a browser: sign-in, sessions, CSRF, headers.

On the console's own committed database (demo data), through Flask's test client: each test
makes the staff account it needs through the admin JSON API, so no test depends on another.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.console.web import CONTENT_SECURITY_POLICY, COOKIE
from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD, DISPATCHER_PHONE

PASSWORD = "desk2026ok"


def api_login(app: Flask, phone: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    answer = app.test_client().post(
        "/api/v1/auth/login", json={"phone": phone, "password": password, "org": DEMO_ORG_CODE}
    )
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def new_staff(app: Flask, roles: list[str]) -> dict[str, Any]:
    """A fresh staff account of the demo organisation, made by its admin through the API."""
    phone = "137" + str(secrets.randbelow(10**8)).zfill(8)
    answer = app.test_client().post(
        "/api/v1/admin/staff",
        json={"name": "测试调度", "phone": phone, "password": PASSWORD, "roles": roles},
        headers=api_login(app, DISPATCHER_PHONE),
    )
    assert answer.status_code == 201, answer.json
    return {**answer.json, "phone": phone}


def sign_in(client: FlaskClient, phone: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/console/login",
        data={"phone": phone, "password": password, "org": DEMO_ORG_CODE},
    )


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


@pytest.fixture
def dispatcher(console_app: Flask) -> dict[str, Any]:
    return new_staff(console_app, ["dispatcher"])


@pytest.fixture
def signed_in(console_app: Flask, dispatcher: dict[str, Any]) -> FlaskClient:
    client = console_app.test_client()
    answer = sign_in(client, dispatcher["phone"])
    assert answer.status_code == 303 and answer.headers["Location"] == "/console/"
    return client


def test_signing_in_sets_an_httponly_samesite_cookie(
    console_app: Flask, dispatcher: dict[str, Any]
) -> None:
    answer = sign_in(console_app.test_client(), dispatcher["phone"])
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    # Plain HTTP here; behind HTTPS the cookie is Secure.
    assert "Secure" not in cookie
    over_https = console_app.test_client().post(
        "/console/login",
        data={"phone": dispatcher["phone"], "password": PASSWORD, "org": DEMO_ORG_CODE},
        base_url="https://localhost",
    )
    assert "Secure" in over_https.headers["Set-Cookie"]


def test_pages_need_a_session(console_app: Flask) -> None:
    answer = console_app.test_client().get("/console/workbench?queue=overdue")
    assert answer.status_code == 302
    assert (
        answer.headers["Location"] == "/console/login?next=%2Fconsole%2Fworkbench%3Fqueue%3Doverdue"
    )
    partial = console_app.test_client().get("/console/workbench", headers={"HX-Request": "true"})
    assert partial.status_code == 401 and partial.headers["HX-Redirect"].startswith(
        "/console/login"
    )


def test_tenants_and_technicians_are_refused(console_app: Flask) -> None:
    for phone in ("13800000001", "13900000001"):
        client = console_app.test_client()
        answer = client.post(
            "/console/login",
            data={"phone": phone, "password": DEMO_PASSWORD, "org": DEMO_ORG_CODE},
        )
        assert answer.status_code == 200
        assert "控制台仅供调度员、管理员及有控制台权限的员工使用" in answer.get_data(as_text=True)
        assert COOKIE not in answer.headers.get("Set-Cookie", "")
        assert client.get("/console/workbench").status_code == 302


def test_a_wrong_password_is_refused_and_then_throttled(
    console_app: Flask, dispatcher: dict[str, Any]
) -> None:
    client = console_app.test_client()
    texts = [
        sign_in(client, dispatcher["phone"], "wrong-1234").get_data(as_text=True) for _ in range(11)
    ]
    assert "手机号或密码错误" in texts[0]
    # The API's limits: ten wrong passwords for one account from one address lock that pair.
    assert "次数过多" in texts[-1]
    assert "次数过多" in sign_in(client, dispatcher["phone"]).get_data(as_text=True)


def test_after_sign_in_only_console_paths_are_followed(
    console_app: Flask, dispatcher: dict[str, Any]
) -> None:
    for target, expected in (
        ("/console/orders?status=pending", "/console/orders?status=pending"),
        ("https://evil.example/console", "/console/"),
        ("//evil.example/console", "/console/"),
        ("/console\\@evil.example", "/console/"),
        ("/api/v1/me", "/console/"),
    ):
        answer = console_app.test_client().post(
            "/console/login",
            data={
                "phone": dispatcher["phone"],
                "password": PASSWORD,
                "org": DEMO_ORG_CODE,
                "next": target,
            },
        )
        assert answer.headers["Location"] == expected, target


def test_a_deactivated_user_is_out_on_the_next_request(
    console_app: Flask, signed_in: FlaskClient, dispatcher: dict[str, Any]
) -> None:
    assert signed_in.get("/console/workbench").status_code == 200
    admin = console_app.test_client()
    gone = admin.delete(
        f"/api/v1/admin/staff/{dispatcher['id']}", headers=api_login(console_app, DISPATCHER_PHONE)
    )
    assert gone.status_code == 204
    assert signed_in.get("/console/workbench").status_code == 302


def test_a_demoted_user_is_out_on_the_next_request(
    console_app: Flask, signed_in: FlaskClient, dispatcher: dict[str, Any]
) -> None:
    assert signed_in.get("/console/workbench").status_code == 200
    demoted = console_app.test_client().patch(
        f"/api/v1/admin/staff/{dispatcher['id']}",
        json={"roles": ["technician"]},
        headers=api_login(console_app, DISPATCHER_PHONE),
    )
    assert demoted.status_code == 200, demoted.json
    assert signed_in.get("/console/workbench").status_code == 302


def test_logging_out_ends_the_session_for_every_copy_of_the_cookie(
    console_app: Flask, signed_in: FlaskClient
) -> None:
    page = signed_in.get("/console/workbench")
    cookie = signed_in.get_cookie(COOKIE, path="/console")
    assert cookie is not None
    answer = signed_in.post(
        "/console/logout", data={"csrf_token": csrf_of(page.get_data(as_text=True))}
    )
    assert answer.status_code == 303
    replay = console_app.test_client()
    replay.set_cookie(COOKIE, cookie.value, path="/console")
    assert replay.get("/console/workbench").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(signed_in: FlaskClient) -> None:
    refused = signed_in.post("/console/logout")
    assert refused.status_code == 403
    assert "CSRF" in refused.get_data(as_text=True)
    wrong = signed_in.post("/console/logout", headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    # Still signed in: the refused logout did nothing.
    assert signed_in.get("/console/workbench").status_code == 200


def test_pages_are_private_and_scripts_only_from_the_application(signed_in: FlaskClient) -> None:
    answer = signed_in.get("/console/workbench")
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Cookie" in answer.headers["Vary"] and "HX-Request" in answer.headers["Vary"]
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    html = answer.get_data(as_text=True)
    # No inline script: every <script> names a file of the application (or is JSON data).
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="/console/static/' in tag or 'type="application/json"' in tag, tag
    assert "style=" not in html and "<style" not in html
    login = signed_in.application.test_client().get("/console/login")
    assert login.headers["Cache-Control"] == "no-store"


def test_assets_are_fingerprinted_cached_and_gzipped(console_app: Flask) -> None:
    client = console_app.test_client()
    html = client.get("/console/login").get_data(as_text=True)
    css = re.search(r'href="(/console/static/console\.css\?v=[0-9a-f]{12})"', html)
    assert css
    answer = client.get(css.group(1))
    assert answer.status_code == 200
    assert "immutable" in answer.headers["Cache-Control"]
    htmx = client.get("/console/static/vendor/htmx.min.js?v=1", headers={"Accept-Encoding": "gzip"})
    assert htmx.status_code == 200
    assert htmx.headers["Content-Encoding"] == "gzip"
    assert htmx.headers["Content-Type"].startswith("text/javascript")
    plain = client.get("/console/static/vendor/htmx.min.js")
    assert "Content-Encoding" not in plain.headers
    assert len(plain.data) > len(htmx.data)  # the same file, uncompressed
    assert client.get("/console/static/../app.py").status_code == 404
