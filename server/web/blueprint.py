"""flask-smorest Blueprint with authentication that enforces and documents itself."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import flask_smorest
from flask import g, request

from server.domain.errors import Forbidden, Unauthorized
from server.domain.roles import Role
from server.web.context import container, now

BEARER = "bearerAuth"


class Blueprint(flask_smorest.Blueprint):
    def auth(self, *roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Require a valid access token carrying one of `roles` (any login when none given)."""
        allowed = frozenset(r.value for r in roles)

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                principal = authenticate()
                if allowed and not principal.has_any(allowed):
                    raise Forbidden()
                return view(*args, **kwargs)

            wrapper = self.doc(security=[{BEARER: []}])(wrapper)
            wrapper = self.alt_response(401, description="未登录或登录已过期")(wrapper)
            if allowed:
                wrapper = self.alt_response(403, description="角色不允许")(wrapper)
            return wrapper

        return decorator


def authenticate() -> Any:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    principal = container().tokens.principal(token.strip(), now=now())
    g.principal = principal
    return principal
