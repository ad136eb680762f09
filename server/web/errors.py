"""The one error shape of docs/api.md, produced for every failure by these handlers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import psycopg
import redis
from flask import Flask, Response, g, jsonify, request
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from server.kernel.errors import HTTP_STATUS_ERRORS, DomainError

log = logging.getLogger(__name__)

# Generic HTTP failures: the stable id and the zh-CN message the apps show.
HTTP_ERRORS = HTTP_STATUS_ERRORS


def error_body(
    status: int, error: str, message: str, errors: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "error": error,
        "message": message,
    }
    if errors:
        body["errors"] = dict(errors)
    return body


def error_response(
    status: int,
    error: str,
    message: str,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    response = jsonify(error_body(status, error, message, errors))
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests errors by location and field; docs/api.md wants `{field: [text, ...]}`."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "form", "files", "headers", "view_args"):
                name = ""
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for field, texts in flatten_messages(value, name).items():
                flat.setdefault(field, []).extend(texts)
    elif isinstance(messages, list | tuple):
        texts = [str(m) for m in messages if not isinstance(m, Mapping | list)]
        if texts:
            flat[prefix or "_schema"] = texts
        for m in messages:
            if isinstance(m, Mapping | list):
                for field, more in flatten_messages(m, prefix).items():
                    flat.setdefault(field, []).extend(more)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def handle_domain_error(exc: DomainError) -> Response:
    if exc.keeps_changes:
        g.keep_changes = True
    return error_response(exc.status, exc.error, exc.message, exc.errors)


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    # A status without its own id (406, 416 …) answers the generic one of its class.
    error, message = HTTP_ERRORS.get(status) or HTTP_ERRORS[400 if status < 500 else 500]
    data = getattr(exc, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    errors = flatten_messages(messages) if messages else None
    if status == 400 and errors:
        # webargs answers 400 for a body that is not JSON at all: still a bad body.
        status, (error, message) = 422, HTTP_ERRORS[422]
        errors = {"_schema": ["请求体不是合法的 JSON"]}
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return error_response(status, error, message, errors, headers)


def handle_integrity_error(exc: IntegrityError) -> Response:
    """Constraint violations that slipped past the services' checks (races, mostly)."""
    orig = exc.orig
    if isinstance(orig, pg_errors.UniqueViolation):
        return error_response(409, "conflict", "数据已存在，请勿重复提交")
    if isinstance(orig, pg_errors.ForeignKeyViolation | pg_errors.RestrictViolation):
        return error_response(409, "in_use", "该记录仍被引用或引用的记录不存在")
    if isinstance(orig, pg_errors.CheckViolation):
        return error_response(422, "validation_error", "数据不符合约束条件")
    log.exception("integrity error")
    return error_response(500, *HTTP_ERRORS[500])


# Values only the database refused. The request guard and the schemas should stop them first;
# reaching here means a validation is missing, but it is still the caller's bad input: 422, and
# nothing of the SQL or its parameters in the answer.
REFUSED_VALUES: tuple[tuple[type[Exception], str], ...] = (
    (pg_errors.NumericValueOutOfRange, "数值超出范围"),
    (pg_errors.StringDataRightTruncation, "内容过长"),
    (pg_errors.CharacterNotInRepertoire, "包含不允许的字符"),
    (pg_errors.UntranslatableCharacter, "包含不允许的字符"),
)
BAD_CHARACTER_TEXT = "包含不允许的字符"


def handle_data_error(exc: DataError) -> Response | None:
    """A value PostgreSQL (or psycopg, before sending it) would not take; None if not one."""
    orig = exc.orig
    text = next((t for cls, t in REFUSED_VALUES if isinstance(orig, cls)), None)
    if text is None and type(orig) is psycopg.DataError:
        # psycopg refuses NUL in text client-side, with the bare DataError class.
        text = BAD_CHARACTER_TEXT
    if text is None:
        return None
    return _refused_value(type(orig).__name__, text)


def _refused_value(kind: str, text: str) -> Response:
    rule = request.url_rule.rule if request.url_rule is not None else "-"
    log.warning("value refused by the database (%s) on %s %s", kind, request.method, rule)
    return error_response(422, "validation_error", HTTP_ERRORS[422][1], {"_schema": [text]})


# --- a store that cannot answer -------------------------------------------------------------

# Seconds a client is asked to wait when PostgreSQL or Redis cannot answer: a restart or a
# failover takes about this long (docs/runbook.md, "Outages").
RETRY_AFTER_SECONDS = 5

# SQLSTATEs of a server that is gone, going or not there yet: class 08 (connection exception)
# and the operator interventions 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
# cannot_connect_now (starting up, shutting down, in recovery).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def store_unavailable(exc: BaseException) -> str | None:
    """ "database" or "redis" when `exc` says that store cannot answer right now, else None.

    Only the store's absence: a serialization failure, a lock or statement timeout (also
    OperationalError) are answers of a working database and stay errors of their own.
    """
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return "redis"
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return "database"  # the pool waited in vain for a connection, or found it dead
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return "database"
        orig: BaseException | None = exc.orig
    else:
        orig = exc
    if isinstance(orig, psycopg.InterfaceError):
        return "database"  # the connection is closed
    if isinstance(orig, psycopg.OperationalError):
        sqlstate = orig.sqlstate
        if sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES:
            return "database"  # no SQLSTATE: refused or dropped before the server spoke
    return None


# Paths answered with a page of their own rather than the JSON error (the console registers
# "/console"): the renderer gets the seconds for `Retry-After`.
UNAVAILABLE_PAGES: dict[str, Callable[[int], Response]] = {}


def unavailable_response() -> Response:
    """503 `service_unavailable` with `Retry-After`: nothing was done, try again shortly."""
    return error_response(503, *HTTP_ERRORS[503], headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def render_error(exc: Exception) -> Response:
    """Every failure of a request ends here, raised in a view or at commit."""
    if (store := store_unavailable(exc)) is not None:
        log.warning("%s unavailable (request %s): answered 503", store, g.get("request_id", "-"))
        for prefix, render in UNAVAILABLE_PAGES.items():
            if request.path.startswith(prefix):
                return render(RETRY_AFTER_SECONDS)
        return unavailable_response()
    if isinstance(exc, DomainError):
        return handle_domain_error(exc)
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    if isinstance(exc, IntegrityError):
        return handle_integrity_error(exc)
    if isinstance(exc, DataError) and (refused := handle_data_error(exc)) is not None:
        return refused
    if isinstance(exc, UnicodeEncodeError) and "surrogates" in exc.reason:
        # A lone surrogate from a JSON escape met the UTF-8 encoder of the driver.
        return _refused_value(type(exc).__name__, BAD_CHARACTER_TEXT)
    log.exception("unhandled error (request %s)", g.get("request_id", "-"))
    return error_response(500, *HTTP_ERRORS[500])


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(Exception, render_error)
