"""flask-smorest Blueprint with authentication that enforces and documents itself."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

import flask_smorest
from flask import g, jsonify, make_response, request
from flask_smorest.utils import resolve_schema_instance
from webargs.flaskparser import FlaskParser

from schemas.common import ErrorSchema
from server.accounts.access import current_access
from server.accounts.tokens import Principal
from server.db.scoping import belongs_to
from server.idempotency import keys as idempotency
from server.kernel.errors import Forbidden, Unauthorized, ValidationFailed
from server.kernel.permissions import Permission
from server.kernel.roles import Role
from server.web.context import container, now, read_with_fallback, session
from server.web.dumping import dumper
from server.web.guards import out_of_range_ints

BEARER = "bearerAuth"


class ArgumentsParser(FlaskParser):
    """webargs' parser; also refuses integers beyond PostgreSQL's bigint, wherever loaded.

    Schemas declare plain `fields.Integer`, unbounded in Python: a page number or a filter id
    of 10**20 would otherwise reach the database and fail there.
    """

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        data = super().parse(*args, **kwargs)
        errors = out_of_range_ints(data)
        if errors:
            raise ValidationFailed(errors=errors)
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ArgumentsParser()

    def alt_response(self, status_code: int, *args: Any, **kwargs: Any) -> Any:
        """Error answers are documented with the one error shape unless told otherwise."""
        if (
            int(status_code) >= 400
            and not args
            and kwargs.get("schema") is None
            and kwargs.get("response") is None
        ):
            kwargs["schema"] = ErrorSchema
        return super().alt_response(status_code, *args, **kwargs)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """flask-smorest's arguments, given a schema instance made once.

        Passed a class, webargs instantiates it on every request, deep-copying its fields.
        """
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def response(self, status_code: Any, schema: Any = None, **kwargs: Any) -> Any:
        """flask-smorest's response, dumping with the schema compiled once (server.web.dumping).

        The documentation is built from the same schema instance, unchanged.
        """
        if schema is not None and not isinstance(schema, str | dict):
            schema = resolve_schema_instance(schema)
            schema.dump = _compiled_dump(schema)
        return super().response(status_code, schema, **kwargs)

    def add_url_rule(self, rule: str, *args: Any, **kwargs: Any) -> None:
        """Register the rule; a path naming a row (`<int:order_id>`) also documents 404."""
        super().add_url_rule(rule, *args, **kwargs)
        if "<" not in rule:
            return
        # The row may not exist (or not for this caller), or the id may not fit a bigint.
        not_found = self.alt_response(404, description="not_found：资源不存在")(_undocumented)
        response_doc = not_found._apidoc["response"]["responses"][404][0]
        for method, doc in self._docs[self._endpoints[-1]].items():
            if method == "parameters":
                continue
            responses = doc.setdefault("response", {}).setdefault("responses", {})
            if 404 not in responses and "404" not in responses:
                responses[404] = [dict(response_doc)]

    def auth(self, *roles: Role | Permission) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Require a valid access token carrying one of `roles` (any login when none given),
        or, for the console's operations, the one permission named (see server.roles)."""
        permissions = [r for r in roles if isinstance(r, Permission)]
        allowed = frozenset(r.value for r in roles if not isinstance(r, Permission))
        if permissions and (allowed or len(permissions) > 1):
            raise TypeError("an operation needs one permission, or roles")
        needed = permissions[0].value if permissions else None

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                principal = authenticate()
                if allowed and not principal.has_any(allowed):
                    raise Forbidden()
                if needed is not None and not principal.may(needed):
                    raise Forbidden()
                return view(*args, **kwargs)

            wrapper = self.doc(security=[{BEARER: []}])(wrapper)
            wrapper = self.alt_response(401, description="未登录或登录已过期")(wrapper)
            if needed is not None:
                wrapper = self.doc(**{PERMISSION: needed})(wrapper)
                wrapper = self.alt_response(403, description=f"需要权限 {needed}")(wrapper)
            elif allowed:
                wrapper = self.alt_response(403, description="角色不允许")(wrapper)
            return wrapper

        return decorator

    def read_only(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """The view only reads: its unit of work runs without a transaction (no BEGIN/COMMIT
        round trips) and refuses writes. For views whose reads are one statement each, or whose
        statements need not see one snapshot. Goes below `auth`."""

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                g.read_only = True
                return read_with_fallback(view, *args, **kwargs)

            return wrapper

        return decorator

    def idempotent(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Honour an `Idempotency-Key` header: same key and body → the first answer, once.

        Goes below `auth` (the key is per user) and above `arguments`/`response`.
        """

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                key = request.headers.get("Idempotency-Key")
                if key is None:
                    return view(*args, **kwargs)
                key = key.strip()
                if not 1 <= len(key) <= 128 or not key.isprintable():
                    raise ValidationFailed.field("Idempotency-Key", "长度应为 1–128 个可见字符")
                caller = g.principal
                claim = idempotency.begin(
                    session(),
                    org_id=caller.org_id,
                    user_id=caller.user_id,
                    key=key,
                    request_hash=request_hash(),
                    now=now(),
                )
                if isinstance(claim, idempotency.Replay):
                    replay = jsonify(claim.body)
                    replay.status_code = claim.status_code
                    replay.headers["Idempotent-Replayed"] = "true"
                    return replay
                response = make_response(view(*args, **kwargs))
                if response.status_code < 400:
                    idempotency.finish(
                        session(),
                        claim_id=claim,
                        status_code=response.status_code,
                        body=response.get_json(silent=True),
                    )
                return response

            # REPLAYS: the document declares the Idempotent-Replayed header on these answers.
            documented: Callable[..., Any] = self.doc(
                parameters=[IDEMPOTENCY_HEADER], **{REPLAYS: True}
            )(wrapper)
            return documented

        return decorator


def _compiled_dump(schema: Any) -> Callable[..., Any]:
    compiled, original = dumper(schema), schema.dump

    def dump(obj: Any, *, many: bool | None = None) -> Any:
        if many is not None and many != schema.many:
            return original(obj, many=many)
        return compiled(obj)

    return dump


def _undocumented() -> None:
    """A stand-in view: `alt_response` builds the 404 documentation on it."""


REPLAYS = "x-replays-idempotent"
# The permission an operation needs, in the document (the generated permission walk reads it).
PERMISSION = "x-permission"

IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 128},
    "description": "同一键与相同请求体在 24 小时内只执行一次，重复请求返回首次结果；"
    "同一键配不同请求体返回 409 idempotency_conflict",
}


def request_hash() -> str:
    raw = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, ensure_ascii=False).encode()
    except ValueError:
        canonical = raw
    return hashlib.sha256(request.method.encode() + request.path.encode() + canonical).hexdigest()


def authenticate() -> Principal:
    """The caller, as their token and their current state say; 401 when either does not hold.

    The token must be well formed and name the user's current token version; roles come from
    the user's current state (cached: one Redis GET on the hot path), never from the token. A
    deactivated, demoted or re-passworded user's older tokens stop working at once.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    wiring = container()
    claims = wiring.tokens.access_claims(token.strip(), now=now())
    state = current_access(
        wiring.access, user_id=claims.user_id, open_session=wiring.db.session_factory
    )
    if state is None or not state.active or not belongs_to(state, claims.org_id):
        raise Unauthorized("账号不存在或已停用")
    if state.version != claims.version:
        raise Unauthorized("登录凭证已失效，请重新登录")
    principal = Principal(
        claims.user_id,
        claims.org_id,
        state.roles,
        claims.staff_id,
        permissions=state.permissions,
        communities=state.communities,
    )
    g.principal = principal
    return principal
