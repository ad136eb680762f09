"""The worker process's wiring: settings, database and Redis, built once per process."""

from __future__ import annotations

from functools import cache

import redis

from server import runtime
from server.config import Settings
from server.db.session import Database


@cache
def settings() -> Settings:
    return runtime.resolve(Settings.from_env())


@cache
def database() -> Database:
    url = settings().database_url
    assert url
    return Database(url, pool_size=2, max_overflow=2)


def redis_connection() -> redis.Redis:
    url = settings().redis_url
    assert url
    return redis.Redis.from_url(url)
