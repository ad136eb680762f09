"""JSON answers encoded by orjson: the same bytes as Flask's encoder, without its cost.

Flask's provider runs `json.dumps` in Python with `ensure_ascii=False` and compact separators;
orjson writes the same UTF-8 compact text in C. Types orjson would write differently from
Flask (datetimes, dataclasses) are passed through to Flask's own `default`, and anything orjson
refuses (integers beyond 64 bits, non-string keys) falls back to Flask's encoder, so an answer
never changes with the encoder. Request bodies are still parsed by the standard library: the
input guards rely on its arbitrary-precision integers.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def encode(self, obj: Any) -> bytes:
        """Compact UTF-8 JSON, as `dumps` with Flask's production settings would write it."""
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().dumps(obj, separators=(",", ":")).encode()

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.keys() <= {"separators"} and kwargs.get("separators", (",", ":")) == (",", ":"):
            return self.encode(obj).decode()
        return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return cast(Response, super().response(*args, **kwargs))  # indented for people
        body = self.encode(self._prepare_response_obj(args, kwargs))
        response_class = cast(type[Response], self._app.response_class)
        return response_class(body + b"\n", mimetype=self.mimetype)
