"""Per-process wiring (settings, database, Redis, clients) and per-request state."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

import redis
from flask import current_app, g, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from server.accounts.access import AccessCache, redis_namespace
from server.accounts.tokens import Principal, TokenIssuer
from server.config import Settings
from server.db.replicas import sticky_seconds
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
    """The request's unit of work; committed once after a successful response.

    A read-only one runs on a read replica when one is configured and fresh enough, unless
    the caller wrote lately (see `replica_allowed`)."""
    if "uow" not in g:
        read_only = g.get("read_only", False)
        g.uow = container().db.unit_of_work(
            read_only=read_only, on_replica=read_only and replica_allowed()
        )
    return g.uow  # type: ignore[no-any-return]


# Read-your-writes: a user who changed something reads from the primary for this long (a
# Redis key per user, set after each committed write request; see server.db.replicas).
_WROTE = "primary-reads"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _wrote_key(wiring: Container, user_id: int) -> str:
    return f"{wiring.redis_namespace}:{_WROTE}:{user_id}"


def read_with_fallback(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a read-only view; when its replica fails under it (stopped, connection cut), mark
    the replica failed and run the view again on the primary: a read has no side effects to
    repeat, and the caller sees an answer, not an error."""
    try:
        return view(*args, **kwargs)
    except (OperationalError, InterfaceError) as error:
        unit: UnitOfWork | None = g.get("uow")
        if unit is None or unit.replica is None:
            raise
        container().db.replicas.failed(unit.replica, error)
        g.pop("uow")
        with contextlib.suppress(Exception):
            unit.close()
        g.replica_allowed = False
        return view(*args, **kwargs)


def replica_allowed() -> bool:
    """May this request's reads come from a replica? Not when replicas are absent, nor when
    the caller wrote in the last `sticky_seconds` (or Redis cannot say: the primary, to be
    safe). Callers without a login have no writes of their own to see."""
    if "replica_allowed" not in g:
        wiring = container()
        allowed = bool(wiring.db.replicas)
        who: Principal | None = g.get("principal")
        if allowed and who is not None:
            try:
                allowed = not wiring.redis.exists(_wrote_key(wiring, who.user_id))
            except redis.RedisError:
                allowed = False
        g.replica_allowed = allowed
    return bool(g.replica_allowed)


def note_write() -> None:
    """After a committed write request: its author's next reads go to the primary for a while."""
    wiring = container()
    who: Principal | None = g.get("principal")
    if not wiring.db.replicas or who is None or request.method in _SAFE_METHODS:
        return
    seconds = sticky_seconds(wiring.db.replicas.max_lag_seconds)
    # With Redis away `replica_allowed` sends every read to the primary anyway.
    with contextlib.suppress(redis.RedisError):
        wiring.redis.set(_wrote_key(wiring, who.user_id), b"1", px=int(seconds * 1000))


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
