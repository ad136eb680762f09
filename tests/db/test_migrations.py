"""Every migration applies to an empty database, downgrades cleanly, and matches the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

import server.models  # noqa: F401
from server.db import migrate
from server.db.base import Base
from server.runtime import sqlalchemy_url
from tests.conftest import _admin_dsn, _with_database


@pytest.fixture
def empty_database(database_server_url: str) -> Iterator[str]:
    name = f"baoxiu_migr_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _admin_dsn(database_server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _with_database(database_server_url, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config("postgresql://unused"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_each_migration_applies_in_turn_and_reverts(empty_database):
    config = migrate.alembic_config(empty_database)
    revisions = _revisions()
    assert revisions, "no migrations found"
    for revision in revisions:
        command.upgrade(config, revision)
    command.downgrade(config, "base")
    command.upgrade(config, "head")


def test_models_and_migrations_agree(empty_database):
    migrate.upgrade(empty_database)
    engine = create_engine(sqlalchemy_url(empty_database), poolclass=pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert diff == [], f"models differ from migrations: {diff}"


def test_single_head():
    script = ScriptDirectory.from_config(migrate.alembic_config("postgresql://unused"))
    assert len(script.get_heads()) == 1
