"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from marshmallow import Schema, fields
from sqlalchemy import text

from server.web.blueprint import Blueprint
from server.web.context import container

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="健康检查")


class HealthSchema(Schema):
    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String())


@blp.get("/healthz")
@blp.response(200, HealthSchema)
def healthz() -> dict[str, Any]:
    """进程存活"""
    return {"status": "ok", "checks": {}}


@blp.get("/readyz")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="数据库或 Redis 不可用")
def readyz() -> Any:
    """数据库与 Redis 可达"""
    checks: dict[str, str] = {}
    try:
        with container().db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = type(exc).__name__
    try:
        container().redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = type(exc).__name__
    ok = all(v == "ok" for v in checks.values())
    response: Response = jsonify({"status": "ok" if ok else "unavailable", "checks": checks})
    response.status_code = 200 if ok else 503
    return response
