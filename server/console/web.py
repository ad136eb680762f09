"""The console's browser plumbing: sign-in sessions, CSRF, the desk guard, pages' headers.

A signed-in desk user holds one random session id in an HttpOnly, SameSite=Lax cookie (Secure
over HTTPS); the session itself lives in Redis (user, organisation, token version, CSRF
token), so logging out ends it everywhere at once and nothing the browser holds can be
replayed after. Every request checks the user's current state the way the API checks a token
(`accounts.access.current_access`): a deactivated, demoted or re-passworded user is out on
the next request. Every state-changing request carries the session's CSRF token (a form
field, or the `X-CSRF-Token` header htmx sends).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Response, g, make_response, redirect, render_template, request, url_for

from server.accounts.access import current_access
from server.accounts.tokens import Principal
from server.db.scoping import belongs_to
from server.kernel.permissions import LABELS, Permission
from server.web.context import container, read_with_fallback

COOKIE = "baoxiu_console"
# A desk session lasts a working day without activity; each request extends it.
IDLE_SECONDS = 10 * 60 * 60
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# No inline script or style: every script and stylesheet is a file of the application's own.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class SessionStore:
    """Console sessions in Redis, keyed by a hash of the cookie's id (the id is not stored)."""

    def __init__(self) -> None:
        wiring = container()
        self._redis = wiring.redis
        self._prefix = f"{wiring.redis_namespace}:console:"

    def _key(self, sid: str) -> str:
        return self._prefix + hashlib.sha256(sid.encode()).hexdigest()

    def create(self, *, user_id: int, org_id: int, staff_id: int | None, version: int) -> str:
        sid = secrets.token_urlsafe(32)
        doc = {
            "u": user_id,
            "o": org_id,
            "s": staff_id,
            "v": version,
            "c": secrets.token_urlsafe(32),
        }
        self._redis.set(self._key(sid), json.dumps(doc), ex=IDLE_SECONDS)
        return sid

    def load(self, sid: str) -> dict[str, Any] | None:
        key = self._key(sid)
        pipe = self._redis.pipeline()
        pipe.get(key)
        pipe.expire(key, IDLE_SECONDS)
        raw, _ = pipe.execute()
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def delete(self, sid: str) -> None:
        self._redis.delete(self._key(sid))


def set_session_cookie(response: Response, sid: str) -> None:
    response.set_cookie(
        COOKIE,
        sid,
        max_age=IDLE_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
        path="/console",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="Lax")


def current_session() -> dict[str, Any] | None:
    """The request's desk session when it is valid now, else None (and the session ended)."""
    if "console_session" in g:
        return g.console_session  # type: ignore[no-any-return]
    sid = request.cookies.get(COOKIE, "")
    doc = SessionStore().load(sid) if 20 <= len(sid) <= 128 else None
    if doc is not None and not _still_allowed(doc):
        SessionStore().delete(sid)
        doc = None
    g.console_session = doc
    if doc is not None:
        state = g.console_state
        g.principal = Principal(
            int(doc["u"]),
            int(doc["o"]),
            state.roles,
            int(doc["s"]) if doc["s"] else None,
            permissions=state.permissions,
            communities=state.communities,
        )
    return doc


def _still_allowed(doc: dict[str, Any]) -> bool:
    wiring = container()
    try:
        user_id, org_id, version = int(doc["u"]), int(doc["o"]), int(doc["v"])
    except (KeyError, TypeError, ValueError):
        return False
    state = current_access(wiring.access, user_id=user_id, open_session=wiring.db.session_factory)
    if state is None or not state.active or not belongs_to(state, org_id):
        return False
    if state.version != version or not state.permissions:
        return False
    g.console_state = state
    return True


# The permission each screen needs to be opened (GET) and to act (any other method), by path
# under /console: the longest matching prefix decides. The navigation shows only what the
# caller may open; the use cases check again what each action needs (assign, refund…).
SCREENS: tuple[tuple[str, Permission, Permission], ...] = (
    ("/workbench", Permission.ORDERS_VIEW, Permission.ORDERS_ACT),
    ("/orders/new", Permission.ORDERS_ACT, Permission.ORDERS_ACT),
    ("/orders", Permission.ORDERS_VIEW, Permission.ORDERS_ACT),
    ("/service-images", Permission.ORDERS_VIEW, Permission.ORDERS_ACT),
    ("/dashboard", Permission.REPORTS_VIEW, Permission.REPORTS_VIEW),
    ("/visits", Permission.ORDERS_VIEW, Permission.ORDERS_ACT),
    ("/complaints", Permission.ORDERS_VIEW, Permission.ORDERS_ACT),
    ("/notices", Permission.NOTICES_VIEW, Permission.NOTICES_ACT),
    ("/surveys", Permission.NOTICES_VIEW, Permission.NOTICES_ACT),
    ("/parking", Permission.CUSTOMERS_VIEW, Permission.CUSTOMERS_ACT),
    ("/search", Permission.CUSTOMERS_VIEW, Permission.CUSTOMERS_ACT),
    ("/wechat-unbind", Permission.CUSTOMERS_ACT, Permission.CUSTOMERS_ACT),
    ("/imports", Permission.IMPORTS_ACT, Permission.IMPORTS_ACT),
    ("/audit", Permission.AUDIT_VIEW, Permission.AUDIT_VIEW),
    ("/roles", Permission.ROLES_ACT, Permission.ROLES_ACT),
    ("/rooms", Permission.CUSTOMERS_VIEW, Permission.CUSTOMERS_ACT),
    ("/customers", Permission.CUSTOMERS_VIEW, Permission.CUSTOMERS_ACT),
    ("/residency", Permission.REPORTS_VIEW, Permission.CUSTOMERS_ACT),
    ("/residency/reshape", Permission.CUSTOMERS_ACT, Permission.CUSTOMERS_ACT),
    ("/dictionary", Permission.SETTINGS_VIEW, Permission.SETTINGS_ACT),
)


def screen_permission(path: str, method: str = "GET") -> Permission | None:
    """What opening (or acting on) a console path needs; None for a path no screen claims."""
    path = path.removeprefix("/console")
    best: tuple[str, Permission, Permission] | None = None
    for screen in SCREENS:
        prefix = screen[0]
        if (path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = screen
    if best is None:
        return None
    return best[1] if method in SAFE_METHODS else best[2]


def may(permission: str) -> bool:
    """Whether the signed-in desk user's roles carry `permission` (a page hides what they
    may not do; the use case refuses it anyway)."""
    caller = g.get("principal")
    return caller is not None and caller.may(permission)


def may_open(path: str) -> bool:
    """Whether the signed-in desk user may open this console path (the navigation asks)."""
    caller = g.get("principal")
    needed = screen_permission(path)
    return caller is not None and (needed is None or caller.may(needed.value))


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def desk_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """A console page or action: a valid desk session, and the CSRF token on every write."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        doc = current_session()
        if doc is None:
            return _to_login()
        if request.method in SAFE_METHODS:
            # A page only reads: no transaction round trips, and a write would be refused.
            g.read_only = True
        else:
            sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
            if not hmac.compare_digest(str(sent), str(doc["c"])):
                return page(
                    "console/error.html",
                    status=403,
                    title="请求已失效",
                    message="页面已过期或请求来源不明（缺少 CSRF 令牌），请刷新页面后重试。",
                )
        needed = screen_permission(request.path, request.method)
        if needed is not None and not g.principal.may(needed.value):
            # 200 with the reason, as for every refusal the console shows: a 4xx document
            # would be an error in the browser's own log.
            return page(
                "console/error.html",
                title="没有权限",
                message=f"您的角色没有此权限：{LABELS[needed]}。如需开通，请联系管理员。",
            )
        # A page read from a replica that fails under it is read again from the primary.
        return read_with_fallback(view, *args, **kwargs)

    return wrapper


def _to_login() -> Response:
    target = request.full_path if request.method == "GET" else request.path
    location = url_for("console.login") + "?" + urlencode({"next": target.rstrip("?")})
    if is_htmx():
        # htmx follows this header with a full page load (a partial must not render the form).
        response = make_response("", 401)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)  # type: ignore[return-value]


def csrf_token() -> str:
    doc = current_session()
    return "" if doc is None else str(doc["c"])


def unavailable_page(retry_after: int) -> Response:
    """503 while PostgreSQL or Redis cannot answer: a page of its own, since the usual layout
    asks the session store (Redis) for the CSRF token. An htmx request reloads the whole page
    (`HX-Refresh`), which then shows this page instead of a partial."""
    again = request.full_path.rstrip("?") if request.method == "GET" else "/console/workbench"
    response = page("console/unavailable.html", status=503, retry_after=retry_after, again=again)
    response.headers["Retry-After"] = str(retry_after)
    if is_htmx():
        response.headers["HX-Refresh"] = "true"
    return response


def page(template: str, *, status: int = 200, **context: Any) -> Response:
    """A rendered page or partial with the console's headers."""
    response = make_response(render_template(template, **context), status)
    return private(response)


def private(response: Response) -> Response:
    """Nothing behind the sign-in is stored by a cache, and a partial is never shown for the
    page of the same URL (htmx asks with `HX-Request`)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Cookie, HX-Request"
    return response


def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def discard_changes() -> None:
    """A refused action: undo whatever the use case wrote before refusing.

    The page then answers 200 with the API's message beside the action (a 4xx document or
    XHR is an error in the browser's own log), and the request's commit finds nothing to
    commit. Reads after this start a new transaction.
    """
    current = g.get("uow")
    if current is not None:
        current.rollback()
