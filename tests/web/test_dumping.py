"""The compiled dumpers answer exactly what `Schema.dump` answers, for every response schema.

Two walks over every schema in `schemas/`: hand-made odd inputs (None, strings for numbers,
absent attributes, dicts and objects), where marshmallow may raise and the compiled dumper must
raise the same; and objects hypothesis builds from the fields themselves (values of the field's
type, choices from its OneOf, None where allowed), which `Schema.dump` must dump (for every hot
schema) and the compiled dumper must answer equally. Both are reproducible: fields and choices
are walked in a fixed order and hypothesis runs derandomized, whatever PYTHONHASHSEED is.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields, post_dump, validate

import schemas
from schemas.common import MaskedPhone, page_of
from schemas.orders import (
    DeskOrderPageSchema,
    MessageSchema,
    OrderDetailSchema,
    OrderSchema,
    PoolSchema,
    TimelineEventSchema,
)
from server.kernel.clock import use_instant
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
    for position, (name, field) in enumerate(schema.dump_fields.items()):
        if variant == 3 and position % 3 == 0:
            continue  # absent attribute: the field is left out (by position, not by hash)
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


# --- valid objects, generated ----------------------------------------------------------------

# What a Function or Method field reads besides the schema's own fields (a new schema whose
# generated objects fail to dump may need its entry here).
_READS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "RoomSchema": {"unit": st.none() | st.builds(SimpleNamespace, name=st.text(max_size=8))},
    "DeviceSchema": {"token": st.text(min_size=1, max_size=40)},
    "CustomerListItemSchema": {"id_number": st.none() | st.text(max_size=18)},
}
# Related objects that may be absent (a room in no unit): a nullable "unit.name" is null
# because there is no unit, never a unit without a name.
_OPTIONAL_PARENTS = frozenset({"unit"})
_NO_PARENT = object()
_PHONES = st.from_regex(r"\A1[3-9][0-9]{9}\Z") | st.none() | st.just("")
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=6,
)


def _choices(field: Any) -> list[Any] | None:
    validators = field.validators if isinstance(field.validators, list) else [field.validators]
    for validator in validators:
        if isinstance(validator, validate.OneOf):
            return sorted(validator.choices, key=repr)
    return None


def _values(field: Any) -> st.SearchStrategy[Any]:
    """Values of the field's own type (what a model or a row holds for it)."""
    strategy = _plain_values(field)
    return st.none() | strategy if field.allow_none else strategy


def _plain_values(field: Any) -> st.SearchStrategy[Any]:
    if isinstance(field, fields.Nested):
        many = field.many or field.schema.many
        one = _objects(type(field.schema), field.schema)
        return st.lists(one, max_size=3) if many else one
    if isinstance(field, fields.List):
        return st.lists(_values(field.inner), max_size=3)
    if isinstance(field, fields.Dict):
        values = _JSON if field.value_field is None else _values(field.value_field)
        return st.dictionaries(st.text(max_size=6), values, max_size=3)
    if isinstance(field, fields.DateTime):
        return st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        )
    if isinstance(field, fields.Date):
        return st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
    if isinstance(field, fields.Time):
        return st.times()
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.Integer):
        return st.integers(-(2**63), 2**63 - 1)
    if isinstance(field, fields.Decimal):
        return st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2, allow_nan=False)
    if isinstance(field, fields.Float):
        return st.floats(allow_nan=False, allow_infinity=False)
    choices = _choices(field)
    if choices is not None:
        return st.sampled_from(choices)
    if isinstance(field, MaskedPhone):
        return _PHONES
    return st.text(max_size=20)


def _objects(schema_class: type[Schema], schema: Schema) -> st.SearchStrategy[Any]:
    """Objects as the views hand them over: attributes (dotted ones nested), one per field."""
    values: dict[str, st.SearchStrategy[Any]] = {}
    for name in sorted(schema.dump_fields):
        field = schema.dump_fields[name]
        if not field._CHECK_ATTRIBUTE:
            continue  # Function / Method: computed from the rest of the object
        path = field.attribute or name
        if "." in path and field.allow_none and path.split(".")[-2] in _OPTIONAL_PARENTS:
            values[path] = st.just(_NO_PARENT) | _plain_values(field)
        else:
            values[path] = _values(field)
    values.update(_READS.get(schema_class.__name__, {}))
    return st.fixed_dictionaries(dict(sorted(values.items()))).map(_nest)


def _nest(flat: dict[str, Any]) -> Any:
    """{"id": 1, "user.name": "x"} → an object with `id` and `user.name`."""
    root = SimpleNamespace()
    for path, value in flat.items():
        *parents, last = path.split(".")
        node = root
        for depth, part in enumerate(parents):
            if value is _NO_PARENT and depth == len(parents) - 1:
                setattr(node, part, None)
                break
            if not hasattr(node, part):
                setattr(node, part, SimpleNamespace())
            node = getattr(node, part)
            if node is None:
                break  # its parent is absent
        else:
            setattr(node, last, value)
    return root


# The schemas of the hot paths (the pool, the lists, an order's detail): generated objects must
# dump without error, so the comparison below is between two real answers.
HOT: list[type[Schema]] = [
    OrderSchema,
    OrderDetailSchema,
    PoolSchema,
    DeskOrderPageSchema,
    page_of(OrderSchema),
    TimelineEventSchema,
    MessageSchema,
]
CHECKED = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=list(HealthCheck),
    # No shrinking: an order detail is a big tree, and the first difference found says enough.
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
)


@pytest.fixture
def pinned_instant() -> Iterator[None]:
    """One fixed instant for both dumps: "overdue" is computed at the work's instant."""
    use_instant(NOW)
    try:
        yield
    finally:
        use_instant(None)


def _same_answer(schema_class: type[Schema], schema: Schema, obj: Any) -> Any:
    """The compiled dumper's outcome equals marshmallow's, for one object and for a list."""
    expected = _outcome(schema.dump, obj)
    assert _outcome(dumper(schema), obj) == expected
    many = schema_class(many=True)
    assert _outcome(dumper(many), [obj, obj]) == _outcome(many.dump, [obj, obj])
    return expected


@pytest.mark.usefixtures("pinned_instant")
@pytest.mark.parametrize("schema_class", HOT, ids=lambda c: c.__qualname__)
def test_hot_schemas_dump_generated_objects_exactly_like_marshmallow(
    schema_class: type[Schema],
) -> None:
    schema = schema_class()

    @CHECKED
    @given(obj=_objects(schema_class, schema))
    def check(obj: Any) -> None:
        outcome, _ = _same_answer(schema_class, schema, obj)
        assert outcome == "ok"  # a valid object: a real answer is compared, not an exception

    check()


@pytest.mark.usefixtures("pinned_instant")
@pytest.mark.parametrize("schema_class", _all_schemas(), ids=lambda c: c.__qualname__)
def test_every_schema_dumps_generated_objects_like_marshmallow(schema_class: type[Schema]) -> None:
    try:
        schema = schema_class()
    except TypeError:
        pytest.skip("needs constructor arguments")

    @settings(CHECKED, max_examples=10)
    @given(obj=_objects(schema_class, schema))
    def check(obj: Any) -> None:
        outcome, _ = _same_answer(schema_class, schema, obj)
        assert outcome == "ok"

    check()
