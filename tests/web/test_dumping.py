"""The compiled dumpers answer exactly what `Schema.dump` answers, for every response schema."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from marshmallow import Schema, fields, post_dump

import schemas
from server.web.dumping import dumper

NOW = datetime(2026, 11, 30, 8, 15, 30, 123456, tzinfo=UTC)


def _all_schemas() -> list[type[Schema]]:
    for module in pkgutil.iter_modules(schemas.__path__):
        importlib.import_module(f"schemas.{module.name}")
    found: dict[str, type[Schema]] = {}
    stack = list(Schema.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("schemas."):
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


def _value(field: Any, variant: int, depth: int) -> Any:
    """A plausible value for `field`; variant 1 prefers None, 2 strings where numbers go."""
    if variant == 1 and depth > 0:
        return None
    if isinstance(field, fields.Nested):
        nested = field.schema
        one = _object(nested, variant, depth + 1)
        return [one, _object(nested, 0, depth + 1)] if (nested.many or field.many) else one
    if isinstance(field, fields.List):
        return [_value(field.inner, variant, depth + 1) for _ in range(2)]
    if isinstance(field, fields.Dict):
        return {"k": 1, "nested": {"a": [1, 2]}}
    if isinstance(field, fields.DateTime):
        return NOW
    if isinstance(field, fields.Date):
        return date(2026, 11, 30)
    if isinstance(field, fields.Boolean):
        return variant != 2
    if isinstance(field, fields.Integer):
        return "42" if variant == 2 else 42
    if isinstance(field, fields.Decimal | fields.Float | fields.Number):
        return Decimal("12.50")
    if isinstance(field, fields.String):
        return 13800000001 if variant == 2 else "13800000001"
    return "x"


def _object(schema: Schema, variant: int, depth: int = 0) -> Any:
    values: dict[str, Any] = {}
    for name, field in schema.dump_fields.items():
        if variant == 3 and hash(name) % 3 == 0:
            continue  # absent attribute: the field is left out
        path = (field.attribute or name).split(".")
        target = values
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _value(field, variant, depth) if depth < 4 else None
    return _namespace(values) if variant % 2 == 0 else values


def _namespace(values: dict[str, Any]) -> Any:
    return SimpleNamespace(
        **{
            k: _namespace(v) if isinstance(v, dict) and k != "data" else v
            for k, v in values.items()
        }
    )


def _outcome(dump: Any, obj: Any) -> Any:
    try:
        return ("ok", dump(obj))
    except Exception as error:  # the same failure is the same answer
        return ("error", type(error))


@pytest.mark.parametrize("schema_class", _all_schemas(), ids=lambda c: c.__qualname__)
@pytest.mark.parametrize("variant", [0, 1, 2, 3])
def test_compiled_dump_matches_marshmallow(schema_class: type[Schema], variant: int) -> None:
    try:
        schema = schema_class()
    except TypeError:
        pytest.skip("needs constructor arguments")
    obj = _object(schema, variant)
    expected = _outcome(schema.dump, obj)
    assert _outcome(dumper(schema), obj) == expected
    many = schema_class(many=True)
    assert _outcome(dumper(many), [obj, obj]) == _outcome(many.dump, [obj, obj])


def test_the_walk_covers_the_response_schemas() -> None:
    names = {cls.__name__ for cls in _all_schemas()}
    assert {"OrderSchema", "OrderDetailSchema", "PoolSchema"} <= names


def test_schemas_with_dump_hooks_keep_marshmallow() -> None:
    class Shouting(Schema):
        name = fields.String()

        @post_dump
        def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {k: v.upper() for k, v in data.items()}

    class Holder(Schema):
        inner = fields.Nested(Shouting)
        many = fields.List(fields.Nested(Shouting))

    obj = {"inner": {"name": "a"}, "many": [{"name": "b"}]}
    assert (
        dumper(Holder())(obj)
        == Holder().dump(obj)
        == {
            "inner": {"name": "A"},
            "many": [{"name": "B"}],
        }
    )


def test_dump_default_data_key_and_dotted_attributes() -> None:
    class Row(Schema):
        a = fields.Integer(dump_default=7)
        b = fields.String(data_key="bee")
        c = fields.String(attribute="x.y")
        d = fields.Function(lambda obj: obj["a"] * 2 if "a" in obj else None)

    for obj in ({"b": 1, "x": {"y": "z"}, "a": 3}, {}, {"x": {}}):
        assert dumper(Row())(obj) == Row().dump(obj)
