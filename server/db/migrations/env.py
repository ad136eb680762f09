"""Alembic environment: the URL comes from `server.db.migrate`, never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import server.models  # noqa: F401 - registers every table on the metadata
from server.db.base import Base
from server.runtime import sqlalchemy_url

config = context.config
url: str | None = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
if not url:
    from server import runtime
    from server.config import Settings

    url = runtime.resolve(Settings.from_env()).database_url
assert url
DATABASE_URL: str = url


def run_migrations_offline() -> None:
    context.configure(
        url=sqlalchemy_url(DATABASE_URL),
        target_metadata=Base.metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(
        sqlalchemy_url(DATABASE_URL), poolclass=pool.NullPool, hide_parameters=True
    )
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
