"""The composition root: settings, database, Redis, clients, blueprints, error handling."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

import flask_smorest
import orjson
import redis
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, g, request, send_from_directory
from marshmallow import Schema
from swagger_ui_bundle import swagger_ui_path

from schemas.common import ErrorSchema
from server import console, runtime
from server.accounts.tokens import TokenIssuer
from server.config import Settings
from server.db.session import Database
from server.integrations.wechat import WeChatMiniClient
from server.kernel.clock import use_instant
from server.outbox.dispatch import attach_dispatcher
from server.roles import scope  # noqa: F401  (its listener: the data scope on every statement)
from server.web.audit import attach_request_origin
from server.web.blueprint import BEARER
from server.web.context import Container, note_write
from server.web.errors import register_error_handlers, render_error
from server.web.grants import attach_request_grant
from server.web.guards import BigintConverter, reject_unsafe_input
from server.web.json_provider import OrjsonProvider
from server.web.logging import configure_logging
from server.web.openapi import finish_document

# Redis: seconds to connect, and to wait for any answer (the web process sends no blocking
# command). Redis down answers at once (connection refused); these bound a host gone silent.
REDIS_CONNECT_TIMEOUT_SECONDS = 2.0
REDIS_TIMEOUT_SECONDS = 5.0

API_DESCRIPTION = """报修（Baoxiu）v1 接口：住户小程序、维修工 App 与管理控制台。

认证：`Authorization: Bearer <access_token>`。错误统一为
`{code, status, error, message, errors?}`，客户端按 `error` 分支。金额单位为分（`*_fen`），
时间为带时区的 ISO 8601（Asia/Shanghai 展示）。"""


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
    _document: dict[str, Any] | None = None

    def _register_error_handlers(self) -> None:
        """Errors are rendered by `server.web.errors`, in the shape of docs/api.md."""

    def document(self) -> dict[str, Any]:
        """The OpenAPI document as served: apispec's, finished for generated clients."""
        if self._document is None:
            self._document = finish_document(self.spec.to_dict())
        return self._document

    def _openapi_json(self) -> Response:
        return Response(orjson.dumps(self.document()), mimetype="application/json")


def create_app(settings: Settings | None = None) -> Flask:
    settings = runtime.resolve(settings or Settings.from_env())
    assert settings.database_url and settings.redis_url
    configure_logging(settings.log_level)

    app = Flask(__name__)
    # Before any blueprint: every `<int:...>` id in a path is then bounded to a bigint.
    app.url_map.converters["int"] = BigintConverter
    app.json = OrjsonProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.upload_max_bytes + 64 * 1024,
        API_TITLE="Baoxiu API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/static/",
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION}},
    )

    # Bounded waits: with Redis gone a request fails fast (503, or the fallback of the caller)
    # instead of hanging on a socket.
    redis_client = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    app.extensions["baoxiu"] = Container(
        settings=settings,
        db=Database(
            settings.database_url,
            replica_urls=settings.database_replica_urls,
            replica_max_lag_seconds=settings.database_replica_max_lag_seconds,
        ),
        redis=redis_client,
        tokens=TokenIssuer(
            settings.secret_key, settings.jwt_access_minutes, settings.jwt_refresh_days
        ),
        wechat=WeChatMiniClient(
            appid=settings.wechat_appid,
            secret=settings.wechat_secret,
            base_url=settings.wechat_api_base,
            redis_client=redis_client,
            timeout=settings.wechat_timeout_seconds,
        ),
    )
    # Outbox deliveries are enqueued after each request's commit.
    attach_dispatcher(app.extensions["baoxiu"].db, redis_client)
    # External outbox handlers (provider calls) read the settings from the database's info.
    app.extensions["baoxiu"].db.session_info["settings"] = settings
    # The audit log reads each request's client and caller from the session's info.
    attach_request_origin(app.extensions["baoxiu"].db)
    attach_request_grant(app.extensions["baoxiu"].db)

    api = Api(
        app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)}
    )
    api.spec.components.security_scheme(
        BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    _register_blueprints(api)
    # The desk's console in the browser: pages, not part of the OpenAPI document.
    app.register_blueprint(console.pages())
    register_error_handlers(app)
    _register_request_hooks(app)

    @app.get("/docs/static/<path:filename>")
    def swagger_static(filename: str) -> Response:
        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)

    return app


def schema_name(schema: type[Schema] | Schema) -> str:
    """Component names: `RoomSchema` → `Room`; a partial instance (PATCH body) → `RoomPatch`."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and schema.partial:
        name += "Patch"
    return name


def _register_blueprints(api: Api) -> None:
    from mobile_api import auth, catalog, me, tech, tenant, uploads
    from mobile_api.tech import charges as tech_charges
    from mobile_api.tech import notices as tech_notices
    from mobile_api.tenant import complaints as tenant_complaints
    from mobile_api.tenant import notices as tenant_notices
    from mobile_api.tenant import surveys as tenant_surveys
    from server.http import admin, health
    from server.http.callbacks import payments as payment_callbacks

    for module in (
        health,
        auth,
        me,
        catalog,
        tenant,
        tech,
        tech_charges,
        tenant_complaints,
        tenant_notices,
        tenant_surveys,
        tech_notices,
        uploads,
        payment_callbacks,
    ):
        api.register_blueprint(module.blp)
    for blp in admin.blueprints():
        api.register_blueprint(blp)


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        # One instant per request, also for what schemas compute while dumping ("overdue").
        g.now = datetime.now(UTC)
        use_instant(g.now)

    app.before_request(reject_unsafe_input)

    @app.after_request
    def commit_unit_of_work(response: Response) -> Response:
        uow = g.pop("uow", None)
        if uow is not None:
            try:
                if response.status_code < 400 or g.pop("keep_changes", False):
                    uow.commit()
                else:
                    uow.rollback()
            except Exception as exc:
                # With the database gone the rollback fails too; the server rolls back anyway.
                with contextlib.suppress(Exception):
                    uow.rollback()
                response = render_error(exc)
            finally:
                uow.close()
        if response.status_code < 400:
            # Also for writes through a unit of work of their own (imports, audit rows).
            note_write()
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if "Cache-Control" not in response.headers and request.path.startswith("/api/"):
            # Answers behind a login carry names, phones and rooms: no cache may keep them.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.teardown_request
    def close_unit_of_work(exc: BaseException | None) -> None:
        use_instant(None)  # the next request, or code outside one, must not see this instant
        uow = g.pop("uow", None)
        if uow is not None:
            uow.close()
