"""The HTTP foundation: error shape, docs, health, request ids."""

from __future__ import annotations

import logging

import pytest
from openapi_spec_validator import validate


def test_openapi_document_is_valid_openapi_3(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert "401" in me["responses"]
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert "422" in login["responses"] and "security" not in login
    error = spec["components"]["schemas"]["Error"]["properties"]
    assert {"code", "status", "error", "message", "errors"} <= set(error)


def test_every_protected_operation_documents_its_security(client):
    spec = client.get("/openapi.json").json
    public = {
        "/api/v1/auth/login",
        "/api/v1/auth/wechat/login",
        "/api/v1/auth/refresh",
        "/api/v1/healthz",
        "/api/v1/readyz",
        # Called by the payment providers: their signature is the proof, not a token.
        "/api/v1/payments/wechat/notify",
        "/api/v1/payments/alipay/notify",
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            if path in public:
                assert "security" not in operation, (method, path)
            else:
                assert operation.get("security") == [{"bearerAuth": []}], (method, path)
                assert "401" in operation["responses"], (method, path)


def test_swagger_ui(client):
    r = client.get("/docs")
    assert r.status_code == 200 and b"swagger-ui-bundle.js" in r.data
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200


def test_health(client):
    assert client.get("/api/v1/healthz").json["status"] == "ok"
    r = client.get("/api/v1/readyz")
    assert r.status_code == 200
    assert r.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_reports_a_dead_redis_and_stays_ready(client, app, monkeypatch):
    """Reads and writes work without Redis: the instance stays in rotation, reported degraded."""
    import redis

    monkeypatch.setattr(
        app.extensions["baoxiu"],
        "redis",
        redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5),
    )
    r = client.get("/api/v1/readyz")
    assert r.status_code == 200 and r.json["status"] == "degraded"
    assert r.json["checks"]["database"] == "ok" and r.json["checks"]["redis"] != "ok"


def test_unknown_path_and_method(client):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json["error"] == "not_found" and r.json["message"]
    r = client.delete("/api/v1/auth/login")
    assert r.status_code == 405 and r.json["error"] == "method_not_allowed"
    assert "POST" in r.headers["Allow"]


def test_body_that_is_not_json(client):
    r = client.post("/api/v1/auth/login", data="{oops", content_type="application/json")
    assert r.status_code == 422 and r.json["error"] == "validation_error"


def test_unexpected_error_is_500_without_traceback(client, make, monkeypatch, caplog):
    from server.catalog import browse as catalog

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals 13800000001")

    monkeypatch.setattr(catalog, "active_catalog", boom)
    monkeypatch.setattr("mobile_api.catalog.active_catalog", boom)
    headers = make.headers(make.tenant(make.org()))
    with caplog.at_level(logging.ERROR):
        r = client.get("/api/v1/catalog/order-types", headers=headers)
    assert r.status_code == 500
    assert r.json == {
        "code": 500,
        "status": "Internal Server Error",
        "error": "internal_error",
        "message": "服务器内部错误，请稍后再试",
    }
    assert "secret internals" not in r.get_data(as_text=True)
    assert any("unhandled error" in rec.getMessage() for rec in caplog.records)


def test_request_id_is_echoed_or_made(client):
    r = client.get("/api/v1/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/api/v1/healthz").headers["X-Request-ID"]
    assert len(generated) == 32


def test_logs_mask_phone_numbers():
    from server.web.logging import PersonalDataFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login %s", ("13800000001",), None)
    PersonalDataFilter().filter(record)
    assert record.getMessage() == "login 138****0001"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me",
        "/api/v1/catalog/order-types",
        "/api/v1/tenant/rooms",
        "/api/v1/admin/communities",
    ],
)
def test_protected_without_token(client, path):
    r = client.get(path)
    assert r.status_code == 401 and r.json["error"] == "unauthorized"


def test_catalogue_is_scoped_and_hides_inactive(client, make):
    org, other = make.org(), make.org()
    water = make.order_type(org, name="水电维修", sort_order=1)
    make.subtype(water, name="水管漏水")
    make.subtype(water, name="停用子类", is_active=False)
    make.order_type(org, name="停用类型", is_active=False)
    doors = make.order_type(org, name="门窗维修", sort_order=0)
    make.subtype(doors, name="门锁更换", fee_mode="charge_on_order", fee_fen=5000)
    make.order_type(other, name="别家的类型")
    r = client.get("/api/v1/catalog/order-types", headers=make.headers(make.tenant(org)))
    assert r.status_code == 200
    assert [t["name"] for t in r.json["items"]] == ["门窗维修", "水电维修"]
    assert [s["name"] for s in r.json["items"][1]["subtypes"]] == ["水管漏水"]
    lock = r.json["items"][0]["subtypes"][0]
    assert lock["fee_mode"] == "charge_on_order" and lock["fee_fen"] == 5000


def test_error_responses_document_the_error_shape(client):
    spec = client.get("/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if status == "default" or int(status) < 400 or path.endswith("/readyz"):
                    continue
                ref = (
                    response.get("$ref")
                    or response["content"]["application/json"]["schema"]["$ref"]
                )
                assert ref.endswith(("/Error", "/UNPROCESSABLE_ENTITY")), (method, path, status)
