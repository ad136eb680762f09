"""The worker process's wiring: settings, database and Redis, built once per process."""

from __future__ import annotations

from functools import cache

import redis

from server import runtime
from server.config import Settings
from server.db.session import Database
from server.outbox.dispatch import attach_dispatcher


@cache
def settings() -> Settings:
    return runtime.resolve(Settings.from_env())


@cache
def database() -> Database:
    url = settings().database_url
    assert url
    db = Database(url, pool_size=2, max_overflow=2)
    # Deliveries, retries and the sweeper enqueue outbox jobs after their commits.
    attach_dispatcher(db, redis_connection())
    # External outbox handlers (provider calls) read the settings from the database's info.
    db.session_info["settings"] = settings()
    return db


def redis_connection() -> redis.Redis:
    url = settings().redis_url
    assert url
    return redis.Redis.from_url(url)
