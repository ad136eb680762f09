"""The served document, walked: what generated clients rely on is there for every operation."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.kernel.errors import HTTP_STATUS_ERRORS, error_ids
from server.web.openapi import OPERATION_IDS

ROOT = Path(__file__).resolve().parents[2]
REF = "#/components/schemas/"
TYPED = ("type", "$ref", "allOf", "anyOf", "oneOf")


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            yield ref.removeprefix(REF)
        for child in value.values():
            yield from refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from refs(child)


def reachable_from_success(doc: dict[str, Any]) -> set[str]:
    schemas = doc["components"]["schemas"]
    todo = [
        name
        for _, op in operations(doc)
        for status, answer in op["responses"].items()
        if status.startswith("2")
        for name in refs(answer)
    ]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(refs(schemas[name]))
    return seen


def test_every_operation_has_its_stable_unique_id(document):
    ids = {key: op.get("operationId") for key, op in operations(document)}
    assert [k for k, v in ids.items() if not v] == []
    assert [i for i, n in Counter(ids.values()).items() if n > 1] == []
    # The table names exactly the operations served: none missing, none stale.
    assert ids == OPERATION_IDS
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", i) for i in ids.values())


def test_every_operation_declares_its_error_answers(document):
    bare = [
        key
        for key, op in operations(document)
        if not any(s[0] in "45" for s in op["responses"] if s != "default")
    ]
    # Liveness cannot fail while the process answers at all.
    assert bare == ["GET /api/v1/healthz"]


def test_answers_list_what_they_carry_and_type_every_property(document):
    schemas = document["components"]["schemas"]
    missing_required, untyped, write_only = [], [], []
    for name in sorted(reachable_from_success(document)):
        schema = schemas[name]
        properties = schema.get("properties")
        if properties is None:
            assert "enum" in schema or "type" in schema, name
            continue
        if not schema.get("required"):
            missing_required.append(name)
        untyped += [f"{name}.{p}" for p, s in properties.items() if not any(k in s for k in TYPED)]
        write_only += [f"{name}.{p}" for p, s in properties.items() if s.get("writeOnly")]
    assert missing_required == [] and untyped == [] and write_only == []
    order = schemas["Order"]
    assert set(order["required"]) == set(order["properties"])
    assert schemas["StaffListItem"]["properties"].get("password") is None


def test_nullable_links_are_one_reference_or_null(document):
    assignee = document["components"]["schemas"]["Order"]["properties"]["assignee"]
    assert assignee == {"allOf": [{"$ref": REF + "Assignee"}], "nullable": True}
    text = str(document)
    assert "'anyOf'" not in text


def test_enums_are_named_and_error_ids_are_every_id_the_server_answers(document):
    schemas = document["components"]["schemas"]
    assert schemas["Error"]["properties"]["error"]["allOf"] == [{"$ref": REF + "ErrorId"}]
    assert schemas["ErrorId"]["enum"] == list(error_ids())
    assert {"order_taken", "grab_limit_reached", "validation_error"} <= set(error_ids())
    assert schemas["Order"]["properties"]["status"] == {"$ref": REF + "OrderStatus"}
    assert schemas["Order"]["properties"]["payment_status"] == {"$ref": REF + "OrderPaymentStatus"}
    assert schemas["OrderPayment"]["properties"]["status"] == {"$ref": REF + "PaymentStatus"}


def test_every_error_id_written_in_the_code_is_in_the_enum():
    """Ids written as literals (a domain error class, a plumbing answer) are all documented."""
    patterns = (
        re.compile(r'\berror(?:, \w+)* = \(?\s*"([a-z_]+)"'),
        re.compile(r'error_response\(\s*\d+,\s*"([a-z_]+)"'),
        re.compile(r'self\.error(?:, self\.\w+)* = "([a-z_]+)"'),
    )
    found: set[str] = set()
    for folder in ("server", "mobile_api", "workers"):
        for path in (ROOT / folder).rglob("*.py"):
            if "sandbox" in path.parts:
                continue  # the payment sandbox answers in the providers' own error shapes
            text = path.read_text(encoding="utf-8")
            for pattern in patterns:
                found.update(pattern.findall(text))
    found.update(error for error, _ in HTTP_STATUS_ERRORS.values())
    assert "order_taken" in found and "bad_request" in found
    assert found - set(error_ids()) == set()


def test_headers_are_declared_where_they_are_sent(document):
    replaying = []
    for key, op in operations(document):
        # What a create answers: 201, or 202 when the work goes on in the background.
        created = "201" if "201" in op["responses"] else "202"
        created_headers = op["responses"].get(created, {}).get("headers", {})
        idempotent = "Idempotent-Replayed" in created_headers
        replaying += [key] if idempotent else []
        for status, answer in op["responses"].items():
            if "$ref" in answer:
                continue
            headers = answer.get("headers", {})
            assert "X-Request-ID" in headers, (key, status)
            if status.startswith("2") and status != created:
                assert ("Idempotent-Replayed" in headers) == idempotent, (key, status)
            if status == "429":
                assert "Retry-After" in headers, (key, status)
    idempotent_ops = [
        key
        for key, op in operations(document)
        if any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", []))
    ]
    assert "POST /api/v1/tenant/orders" in idempotent_ops
    # The pay call takes a key too, but replays its payment without the header.
    assert "POST /api/v1/tenant/orders/{order_id}/payments" in idempotent_ops
    assert set(replaying) == set(idempotent_ops) - {
        "POST /api/v1/tenant/orders/{order_id}/payments"
    }
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]


def test_defaults_do_not_make_request_fields_required(document):
    create = document["components"]["schemas"]["OrderCreate"]
    assert set(create["required"]) == {"subtype_id", "room_id", "description"}
    assert all("default" not in p for p in create["properties"].values())
    assert "默认" in create["properties"]["priority"]["description"]
