"""Per-process wiring (settings, database, Redis, clients) and per-request state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property

import redis
from flask import current_app, g
from sqlalchemy.orm import Session

from server.accounts.access import AccessCache, redis_namespace
from server.accounts.tokens import Principal, TokenIssuer
from server.config import Settings
from server.db.session import Database, UnitOfWork
from server.integrations.wechat import WeChatMiniClient
from server.kernel.clock import LOCAL_TZ, use_instant


@dataclass
class Container:
    settings: Settings
    db: Database
    redis: redis.Redis
    tokens: TokenIssuer
    wechat: WeChatMiniClient

    @cached_property
    def redis_namespace(self) -> str:
        """Prefix of this deployment's own Redis keys (derived from SECRET_KEY)."""
        return redis_namespace(self.settings.secret_key)

    @cached_property
    def access(self) -> AccessCache:
        """Users' current token versions and roles, cached (see server.accounts.access)."""
        return AccessCache(self.redis, namespace=self.redis_namespace)


def container() -> Container:
    return current_app.extensions["baoxiu"]  # type: ignore[no-any-return]


def uow() -> UnitOfWork:
    """The request's unit of work; committed once after a successful response."""
    if "uow" not in g:
        g.uow = container().db.unit_of_work(read_only=g.get("read_only", False))
    return g.uow  # type: ignore[no-any-return]


def session() -> Session:
    return uow().session


def now() -> datetime:
    """The request's clock: one instant for everything a request does."""
    if "now" not in g:
        g.now = datetime.now(UTC)
        use_instant(g.now)
    return g.now  # type: ignore[no-any-return]


def today() -> date:
    """Today's date where the properties are (slot and tenancy dates are local)."""
    return now().astimezone(LOCAL_TZ).date()


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]
