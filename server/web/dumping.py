"""Response schemas turned into plain functions once, at start-up.

marshmallow's `Schema.dump` walks its fields on every call: per field a `serialize` that looks
the accessor up, handles `dump_default`, dotted attributes and data keys, then `_serialize`.
On a list of orders that is most of the request's Python time. `dumper(schema)` does that walk
once and returns a function of the object alone: per field a precomputed key, a getter and the
field's own `_serialize` (or a plain conversion for the exact built-in `Integer`, `String` and
`Boolean`), nested schemas compiled the same way.

The schema stays the one definition: the OpenAPI document and request validation read it as
before, and the output is the output of `schema.dump` (tests/web/test_dumping.py compares them
on every response schema). A schema with dump hooks (`pre_dump`, `post_dump`) keeps `dump`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow import utils as mm_utils

Dump = Callable[[Any], Any]
Getter = Callable[[Any], Any]
Convert = Callable[[Any, Any], Any]  # (value, parent object) -> output

_DUMP_HOOKS = ("pre_dump", "post_dump")


def dumper(schema: Schema) -> Dump:
    """A function equivalent to `schema.dump` (honouring `schema.many`)."""
    if not _compilable(schema):
        return schema.dump
    one = _compile(schema)
    if schema.many:
        return lambda objs: [one(obj) for obj in objs]
    return one


def _compilable(schema: Schema) -> bool:
    """No dump hooks (they may reshape the whole object) and marshmallow's own accessor."""
    hooks = schema._hooks
    return not any(hooks.get(hook) for hook in _DUMP_HOOKS) and (
        type(schema).get_attribute is Schema.get_attribute
    )


def _compile(schema: Schema) -> Dump:
    steps: list[tuple[str, Getter | None, Convert]] = []
    for attr_name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else attr_name
        steps.append(_step(schema, attr_name, field, key))
    plan = tuple(steps)

    def dump(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, get, convert in plan:
            if get is None:
                value = convert(None, obj)
                if value is not missing:
                    out[key] = value
                continue
            value = get(obj)
            if value is not missing:
                out[key] = convert(value, obj)
        return out

    return dump


def _step(
    schema: Schema, attr_name: str, field: Any, key: str
) -> tuple[str, Getter | None, Convert]:
    kind = type(field)
    if kind.serialize is not fields.Field.serialize or kind.get_value is not fields.Field.get_value:
        # A field that reads its value its own way: let it, as `Schema.dump` would.
        def whole(_value: Any, obj: Any) -> Any:
            return field.serialize(attr_name, obj, accessor=schema.get_attribute)

        return key, None, whole
    if not field._CHECK_ATTRIBUTE:
        # Function and Method fields compute from the whole object.
        def computed(_value: Any, obj: Any) -> Any:
            return field._serialize(None, attr_name, obj)

        return key, None, computed
    get = _getter(field.attribute if field.attribute is not None else attr_name, field)
    return key, get, _converter(attr_name, field)


def _getter(path: str, field: Any) -> Getter:
    """`utils.get_value` for one attribute path, then the field's `dump_default`."""
    default = field.dump_default
    if "." in path:

        def lookup(obj: Any) -> Any:
            return mm_utils.get_value(obj, path, missing)

    else:

        def lookup(obj: Any) -> Any:
            if type(obj) is dict:
                value = obj.get(path, missing)
                return getattr(obj, path, missing) if value is missing else value
            if not hasattr(obj, "__getitem__"):
                return getattr(obj, path, missing)
            return mm_utils.get_value(obj, path, missing)

    if default is missing:
        return lookup

    def with_default(obj: Any) -> Any:
        value = lookup(obj)
        if value is missing:
            return default() if callable(default) else default
        return value

    return with_default


def _converter(attr_name: str, field: Any) -> Convert:
    kind = type(field)
    if kind is fields.Integer and not field.as_string:
        return lambda value, _obj: None if value is None else int(value)
    if kind is fields.String:
        return lambda value, _obj: None if value is None else mm_utils.ensure_text_type(value)
    if kind is fields.Nested:
        nested = field.schema
        many = nested.many or field.many
        if not _compilable(nested):
            return lambda value, _obj: None if value is None else nested.dump(value, many=many)
        one = _compile(nested)
        if many:
            return lambda value, _obj: None if value is None else [one(v) for v in value]
        return lambda value, _obj: None if value is None else one(value)
    if kind is fields.List:
        inner = _converter(attr_name, field.inner)
        return lambda value, obj: None if value is None else [inner(v, obj) for v in value]
    serialize = field._serialize
    return lambda value, obj: serialize(value, attr_name, obj)
