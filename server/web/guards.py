"""Input no field of this API accepts, refused before any view or the database sees it.

PostgreSQL stores ids as bigint and text as UTF-8 without NUL: a larger number, a NUL byte or a
lone surrogate (valid JSON, `"\\ud800"`, but not encodable) would otherwise surface as a driver
error deep inside a service. Absurdly nested JSON would exhaust the parser's recursion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter

from server.kernel.errors import NotFound, ValidationFailed

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# Real bodies nest a handful of levels; this leaves room without inviting recursion trouble.
MAX_JSON_DEPTH = 32

BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
BAD_CHARACTER_TEXT = "包含不允许的字符"
OUT_OF_RANGE_TEXT = "数值超出范围"
TOO_DEEP_TEXT = "请求体嵌套层级过深"
NOT_JSON_TEXT = "请求体不是合法的 JSON"


class BigintConverter(IntegerConverter):
    """`<int:...>` path segments that fit a PostgreSQL bigint; anything larger matches no route.

    ASCII digits only: werkzeug's `\\d` also matches other scripts' digits, so that `/rooms/١`
    (Arabic-Indic one) or a full-width `１` would name row 1 under a second spelling.
    """

    regex = r"[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", BIGINT_MAX)
        super().__init__(map, *args, **kwargs)


def reject_unsafe_input() -> None:
    """Refuse NUL bytes, lone surrogates, bigint overflows and deep nesting (422).

    A path segment with such characters names nothing: 404, like an id beyond bigint.
    """
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and BAD_CHARACTERS.search(value):
            raise NotFound()
    errors: dict[str, list[str]] = {}
    for key, value in request.args.items(multi=True):
        if BAD_CHARACTERS.search(key) or BAD_CHARACTERS.search(value):
            errors.setdefault(_printable(key), []).append(BAD_CHARACTER_TEXT)
    if request.is_json:
        raw = request.get_data(cache=True)
        if raw.strip():
            for field, text in body_problems(raw):
                errors.setdefault(field, []).append(text)
    if errors:
        raise ValidationFailed(errors={name: sorted(set(texts)) for name, texts in errors.items()})


def body_problems(raw: bytes) -> Iterator[tuple[str, str]]:
    """(field, text) for each value of a JSON body PostgreSQL could not take."""
    try:
        document = json.loads(raw)
    except RecursionError:
        yield "_schema", TOO_DEEP_TEXT
        return
    except ValueError:
        # Not JSON at all: the arguments parser answers that, for the views that read a body.
        return
    yield from value_problems(document)


def value_problems(document: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Iterator[tuple[str, str]]:
    """Walk a decoded JSON document (iteratively: depth is what is being checked)."""
    stack: list[tuple[str, Any, int]] = [("", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > max_depth:
            yield "_schema", TOO_DEEP_TEXT
            return
        if isinstance(value, str):
            if BAD_CHARACTERS.search(value):
                yield path or "_schema", BAD_CHARACTER_TEXT
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not BIGINT_MIN <= value <= BIGINT_MAX:
                yield path or "_schema", OUT_OF_RANGE_TEXT
        elif isinstance(value, dict):
            for key, item in value.items():
                name = _printable(str(key))
                if BAD_CHARACTERS.search(str(key)):
                    yield _join(path, name), BAD_CHARACTER_TEXT
                stack.append((_join(path, name), item, depth + 1))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                stack.append((_join(path, str(index)), item, depth + 1))


def out_of_range_ints(data: Any, path: str = "") -> dict[str, list[str]]:
    """Fields of loaded arguments holding an integer PostgreSQL cannot store as bigint."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not BIGINT_MIN <= value <= BIGINT_MAX:
                errors.setdefault(where or "_schema", []).append(OUT_OF_RANGE_TEXT)
        elif isinstance(value, dict):
            stack.extend((_join(where, str(k)), v) for k, v in value.items())
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend((_join(where, str(i)), v) for i, v in enumerate(value))
    return errors


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _printable(name: str) -> str:
    """A field name fit to be echoed back in `errors` (and to be serialised at all)."""
    return BAD_CHARACTERS.sub("\ufffd", name)
