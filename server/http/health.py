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
@blp.alt_response(503, schema=HealthSchema, description="数据库不可用")
def readyz() -> Any:
    """数据库可达（Redis 不可达时 status 为 degraded，仍可服务）"""
    # Ready means this process can serve requests: PostgreSQL answers. Redis away is reported
    # (`status` "degraded", `checks.redis` naming the error) but does not fail readiness: reads
    # and writes still work without it, and every instance would fail alike, leaving a load
    # balancer nothing to send requests to (deploy/runbook.md, "Outages").
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
    if checks["database"] != "ok":
        status, code = "unavailable", 503
    elif checks["redis"] != "ok":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    response: Response = jsonify({"status": status, "checks": checks})
    response.status_code = code
    return response
