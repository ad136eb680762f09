"""Phones, ID numbers and password hashes never reach a log line.

Captured twice: with pytest's `caplog`, and through the app's own handler and formatter (the
ones `configure_logging` installs), written to a buffer.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from server.accounts import auth as auth_service
from server.web.logging import redact_query_string, redact_url

ID_NUMBER = "110101199003074477"
PHONE = "13912345678"
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bm90LWEtcmVhbC1zYWx0$c2VjcmV0LWhhc2gtdmFsdWU"
GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
# Log lines carry the request id. A random one (32 hex digits) sometimes holds four digits of
# PHONE and failed the search below by chance, so the requests here bring their own, digit-free.
REQUEST_ID = "log-privacy-test"
LOGIN_HEADERS = {"X-Request-ID": REQUEST_ID}


def digit_runs(value: str, length: int = 4) -> set[str]:
    """Every run of `length` consecutive characters of a personal value."""
    return {value[i : i + length] for i in range(len(value) - length + 1)}


@pytest.fixture
def app_log(app) -> Iterator[io.StringIO]:
    """What the app's own stderr handler (its filters and formatter) writes, during a test."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_baoxiu", False))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(original)


def run_sql_on_login(monkeypatch, statement: str, params: dict[str, Any]) -> None:
    """Make the password login run `statement` (which fails) instead of checking a password."""

    def failing_login(session, **_: Any) -> Any:
        session.execute(text(statement), params)
        raise AssertionError("the statement was expected to fail")

    monkeypatch.setattr(auth_service, "login_with_password", failing_login)


def test_a_failing_statement_logs_neither_its_parameters_nor_the_values_it_quotes(
    client, monkeypatch, caplog, app_log
):
    # PostgreSQL quotes the ID number back in its message; phone and hash are parameters only.
    run_sql_on_login(
        monkeypatch,
        "SELECT CAST(:id_number AS date) WHERE :phone <> :password_hash",
        {"id_number": ID_NUMBER, "phone": PHONE, "password_hash": PASSWORD_HASH},
    )
    with caplog.at_level(logging.INFO):
        r = client.post(
            "/api/v1/auth/login",
            json={"phone": PHONE, "password": "secret-pass-1"},
            headers=LOGIN_HEADERS,
        )
    assert r.status_code == 500 and r.json["error"] == "internal_error"

    written = app_log.getvalue()
    assert f"[{REQUEST_ID}]" in written and f"(request {REQUEST_ID})" in caplog.text
    assert "unhandled error" in written and "Traceback" in written
    assert "sqlalchemy.exc.DataError" in written  # the exception is there, its secrets are not
    for output in (caplog.text, written):
        assert "[parameters:" not in output
        assert PASSWORD_HASH[-20:] not in output and "argon2id" not in output
        assert not any(run in output for run in digit_runs(PHONE)), output
        assert ID_NUMBER not in output
        assert ID_NUMBER[6:14] not in output  # the birth date the mask hides
        assert "110101********4477" in output
    assert all(ID_NUMBER not in (rec.exc_text or "") for rec in caplog.records)


def test_a_message_and_its_arguments_are_masked_in_every_handler(caplog, app_log):
    log = logging.getLogger("baoxiu.test")
    with caplog.at_level(logging.INFO):
        log.info("customer %s with id %s", PHONE, ID_NUMBER)
        log.info("no arguments 13912345678")
        try:
            raise ValueError(f"bad id {ID_NUMBER}")
        except ValueError:
            log.exception("failed for %s", PHONE)
    for output in (caplog.text, app_log.getvalue()):
        assert PHONE not in output and ID_NUMBER not in output, output
        assert "139****5678" in output and "110101********4477" in output


def test_a_refused_value_is_a_validation_error_logged_without_the_value(
    client, monkeypatch, caplog, app_log
):
    """The last line of defence: PostgreSQL refused a value no validation caught."""
    run_sql_on_login(monkeypatch, "SELECT CAST(:n AS integer)", {"n": ID_NUMBER})
    with caplog.at_level(logging.INFO):
        r = client.post(
            "/api/v1/auth/login",
            json={"phone": PHONE, "password": "secret-pass-1"},
            headers=LOGIN_HEADERS,
        )
    assert r.status_code == 422
    assert r.json["error"] == "validation_error" and r.json["message"] == "请求参数有误"
    assert ID_NUMBER not in r.get_data(as_text=True) and "SQL" not in r.get_data(as_text=True)
    assert "NumericValueOutOfRange" in caplog.text
    assert f"[{REQUEST_ID}]" in app_log.getvalue()
    for output in (caplog.text, app_log.getvalue()):
        assert not any(run in output for run in digit_runs(ID_NUMBER, 6)), output


def test_a_lone_surrogate_reaching_the_driver_is_a_validation_error(client, monkeypatch):
    run_sql_on_login(monkeypatch, "SELECT CAST(:s AS text)", {"s": "a\ud800"})
    r = client.post("/api/v1/auth/login", json={"phone": PHONE, "password": "secret-pass-1"})
    assert r.status_code == 422 and r.json["error"] == "validation_error"


def test_a_nul_reaching_the_driver_is_a_validation_error(client, monkeypatch):
    run_sql_on_login(monkeypatch, "SELECT CAST(:s AS text)", {"s": "a\x00b"})
    r = client.post("/api/v1/auth/login", json={"phone": PHONE, "password": "secret-pass-1"})
    assert r.status_code == 422 and r.json["error"] == "validation_error"


# --- the access log (gunicorn, as `baoxiu serve` configures it) ------------------------------


class _Response:
    status = "200 OK"
    sent = 321
    headers = [("Content-Type", "application/json"), ("X-Request-ID", "rid-1")]


class _Request:
    headers = [("AUTHORIZATION", "Bearer secret.token.value"), ("REFERER", f"/x?q={PHONE}")]


def gunicorn_logger() -> Any:
    """gunicorn's logger built from deploy/gunicorn.conf.py, the way `baoxiu serve` loads it."""
    from gunicorn.config import Config

    cfg = Config()
    namespace: dict[str, Any] = {"__file__": str(GUNICORN_CONF)}
    exec(compile(GUNICORN_CONF.read_text(), str(GUNICORN_CONF), "exec"), namespace)
    for key, value in namespace.items():
        if key in cfg.settings and value is not None:
            cfg.set(key, value)
    return cfg.logger_class(cfg)


def test_the_access_log_drops_query_values(capsys):
    logger = gunicorn_logger()
    query = f"q={ID_NUMBER}&phone={PHONE}&page=2"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/v1/admin/customers?{query}",
        "PATH_INFO": "/api/v1/admin/customers",
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
    }
    logger.access(_Response(), _Request(), environ, timedelta(milliseconds=12))
    line = capsys.readouterr().out.strip()
    request_line = "GET /api/v1/admin/customers?q=***&phone=***&page=*** HTTP/1.1"
    assert line.startswith(f'10.0.0.7 "{request_line}"')
    assert "rid=rid-1" in line
    assert not any(run in line for run in digit_runs(ID_NUMBER) | digit_runs(PHONE)), line

    # Atoms a different log format might use are redacted too.
    atoms = logger.atoms(_Response(), _Request(), environ, timedelta(milliseconds=12))
    for key in ("q", "{query_string}e", "{raw_uri}e", "{referer}i", "{authorization}i", "f"):
        assert not re.search(r"\d{4}|secret", str(atoms.get(key, ""))), (key, atoms.get(key))


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        ("", ""),
        ("q=1", "q=***"),
        ("q=&page=2", "q=&page=***"),
        (f"{PHONE}", "***"),
        ("a=1&a=2&b", "a=***&a=***&***"),
    ],
)
def test_redact_query_string(raw, redacted):
    assert redact_query_string(raw) == redacted


def test_redact_url_keeps_the_path():
    assert redact_url("GET /api/v1/x?q=13912345678 HTTP/1.1") == "GET /api/v1/x?q=*** HTTP/1.1"
    assert redact_url("/api/v1/x") == "/api/v1/x"
