"""`baoxiu outbox`: what operators on the command line see of the outbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from server.cli import main
from server.outbox.outbox import enqueue_on_commit
from tests.outbox import handlers
from workers import runtime


@pytest.fixture
def committed_row(app: Any) -> Iterator[int]:
    """One pending item committed for real (the command opens its own connections)."""
    db = app.extensions["baoxiu"].db
    with db.transaction() as uow:
        outbox_id = enqueue_on_commit(uow.session, handlers.NOTE, reason="cli")
    yield outbox_id
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox WHERE id = :id"), {"id": outbox_id})


@pytest.fixture
def worker_env(
    database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    runtime.settings.cache_clear()
    runtime.database.cache_clear()
    yield
    runtime.settings.cache_clear()
    runtime.database.cache_clear()


@pytest.mark.usefixtures("worker_env", "committed_row")
def test_the_outbox_command_counts_by_job_and_status_and_sweeps():
    result = CliRunner().invoke(main, ["outbox", "--sweep"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # Other tests commit work too (concurrency tests settle real orders): count only ours.
    assert re.fullmatch(r"swept: \d+ lost deliveries re-armed, \d+ re-enqueued", lines[0])
    assert ["tests.note", "pending", "1"] in [line.split() for line in lines[1:]]
