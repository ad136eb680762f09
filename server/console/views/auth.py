"""Signing in and out of the console: staff with a desk role only (admin, dispatcher)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, g, redirect, request
from sqlalchemy import select

from server.accounts import auth as auth_service
from server.accounts.access import current_access
from server.audit import log as audit_log
from server.console.blueprint import bp
from server.console.web import (
    COOKIE,
    SessionStore,
    clear_session_cookie,
    current_session,
    desk_page,
    page,
    set_session_cookie,
)
from server.kernel.errors import DomainError, InvalidCredentials
from server.kernel.personal_data import normalise_phone
from server.staff.models import Staff
from server.web.context import container, now, session
from server.web.throttle import Throttled, login_throttle

NOT_DESK = (
    "控制台仅供调度员、管理员及有控制台权限的员工使用；住户请使用小程序，维修师傅请使用师傅 App。"
)


def _next_url() -> str:
    """Where to go after signing in: a console path of this site, never another host."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/console") or "\\" in target:
        return "/console/"
    return target


@bp.get("/login")
def login() -> Any:
    if current_session() is not None:
        return redirect(_next_url())
    return page("console/login.html", next=_next_url(), phone="", org="", message="")


@bp.post("/login")
def login_submit() -> Any:
    phone_raw = request.form.get("phone", "").strip()[:20]
    password = request.form.get("password", "")[:128]
    org = request.form.get("org", "").strip()[:32] or None
    phone = normalise_phone(phone_raw) or phone_raw

    def refused(message: str) -> Response:
        # The answer is a 200: the request's unit of work commits this row.
        audit_log.record_login_failure(
            session(), at=now(), channel="console", phone=phone, org_code=org, reason=message
        )
        return again(message)

    def again(message: str) -> Response:
        # 200 with the message: a 4xx document would be an error in the browser's own log.
        return page(
            "console/login.html",
            next=_next_url(),
            phone=phone_raw,
            org=org or "",
            message=message,
        )

    if not phone or not password:
        return again("请输入手机号和密码")
    throttle = login_throttle(org_code=org, phone=phone)
    try:
        throttle.check()
        user = auth_service.password_user(session(), phone=phone, password=password, org_code=org)
    except Throttled as exc:
        return again(exc.message)
    except InvalidCredentials as exc:
        throttle.failed()
        return refused(exc.message)
    except DomainError as exc:
        messages = [m for texts in (exc.errors or {}).values() for m in texts]
        return refused("；".join(messages) or exc.message)
    throttle.succeeded()
    wiring = container()
    state = current_access(wiring.access, user_id=user.id, open_session=wiring.db.session_factory)
    if state is None or not state.permissions:
        return refused(NOT_DESK)
    user.last_login_at = now()
    audit_log.record_login(session(), user=user, at=now(), channel="console")
    staff_id = session().scalar(select(Staff.id).where(Staff.user_id == user.id))
    sid = SessionStore().create(
        user_id=user.id, org_id=user.org_id, staff_id=staff_id, version=state.version
    )
    response = redirect(_next_url(), code=303)
    set_session_cookie(response, sid)  # type: ignore[arg-type]
    return response


@bp.post("/logout")
@desk_page
def logout() -> Any:
    SessionStore().delete(request.cookies.get(COOKIE, ""))
    g.pop("console_session", None)
    response = redirect("/console/login", code=303)
    clear_session_cookie(response)  # type: ignore[arg-type]
    return response
