"""The console's Flask blueprint: pages under /console, its templates, filters and assets."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, request, send_from_directory

from server.console.web import CSRF_FIELD, csrf_token, may, may_open, security_headers
from server.kernel.clock import LOCAL_TZ

HERE = Path(__file__).parent
STATIC = HERE / "static"
# A fingerprinted asset URL (`?v=<hash>`) names one version of the file: cached for a year.
IMMUTABLE = 365 * 24 * 60 * 60

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
bp.after_request(security_headers)


@cache
def _fingerprint(filename: str) -> str:
    path = STATIC / filename
    if not path.is_file():
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset(filename: str) -> str:
    return f"/console/static/{filename}?v={_fingerprint(filename)}"


@bp.get("/static/<path:filename>")
def static(filename: str) -> Response:
    """The console's own files and the libraries `make install` put in static/vendor.

    A browser that accepts gzip gets the file compressed at install time (`*.gz`), when there
    is one.
    """
    max_age = IMMUTABLE if request.args.get("v") else 0
    gz = STATIC / (filename + ".gz")
    if "gzip" in request.headers.get("Accept-Encoding", "") and gz.is_file():
        response = send_from_directory(STATIC, filename + ".gz", max_age=max_age)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Type"] = _media_type(filename)
        response.headers["Vary"] = "Accept-Encoding"
    else:
        response = send_from_directory(STATIC, filename, max_age=max_age)
    if max_age:
        response.headers["Cache-Control"] = f"public, max-age={max_age}, immutable"
    return response


def _media_type(filename: str) -> str:
    if filename.endswith(".js"):
        return "text/javascript; charset=utf-8"
    if filename.endswith(".css"):
        return "text/css; charset=utf-8"
    return "application/octet-stream"


def yuan(fen: int | None) -> str:
    """Money as the desk reads it: fen → yuan with two decimals (¥ added by the template)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def local(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored instant as Beijing time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(LOCAL_TZ).strftime(fmt)


def local_date(value: date | str | None) -> str:
    if value is None or value == "":
        return ""
    return value if isinstance(value, str) else value.isoformat()


@bp.app_template_global()
def console_asset(filename: str) -> str:
    return asset(filename)


@bp.app_context_processor
def _context() -> dict[str, object]:
    return {"csrf_token": csrf_token, "CSRF_FIELD": CSRF_FIELD, "may_open": may_open, "may": may}


bp.add_app_template_filter(yuan, "yuan")
bp.add_app_template_filter(local, "local")
bp.add_app_template_filter(local_date, "local_date")
