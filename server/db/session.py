"""Engine, sessions and the unit of work.

A unit of work owns one transaction. Services add and flush, never commit; the caller (the
request, the job) commits once, and side effects registered with `on_commit` run only after
that commit succeeded — a rolled-back grab must not notify anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from server.runtime import sqlalchemy_url

log = logging.getLogger(__name__)


class Database:
    """The engine and session factory of one process."""

    def __init__(self, database_url: str, **engine_options: Any) -> None:
        options: dict[str, Any] = {
            "pool_pre_ping": True,
            "pool_size": 10,
            "max_overflow": 20,
            # Statement errors otherwise quote their parameters (phones, ID numbers, password
            # hashes) into the exception text, and from there into logs and tracebacks.
            "hide_parameters": True,
        }
        options.update(engine_options)
        self.engine: Engine = create_engine(sqlalchemy_url(database_url), **options)
        self.session_factory: Callable[[], Session] = sessionmaker(
            self.engine, expire_on_commit=False, autoflush=True
        )
        # Per-process services that work after a commit needs (the outbox's job queue), handed
        # to every unit of work in its `session.info`: use cases hold only a session.
        self.session_info: dict[str, Any] = {}

    def unit_of_work(self) -> UnitOfWork:
        session = self.session_factory()
        session.info.update(self.session_info)
        return UnitOfWork(session)

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """Run a block in one unit of work: commit on success, roll back on any error."""
        uow = self.unit_of_work()
        try:
            yield uow
            uow.commit()
        finally:
            uow.close()

    def dispose(self) -> None:
        self.engine.dispose()


_AFTER_COMMIT = "baoxiu_after_commit"


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the unit of work owning `session` has committed; never on rollback.

    Use cases hold a session, not the unit of work: this is how they ask for local work that
    must follow the commit (moving a staged file into place, enqueueing an outbox delivery).
    Anything whose loss matters is also written to the outbox in the same transaction.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


_EVENTS = "baoxiu_domain_events"


def record_domain_event(session: Session, name: str, **data: Any) -> None:
    """Note that something happened in this transaction (an order moved, money came in), for
    whoever listens before the commit (notifications). Kept with the transaction it happened
    in: a rolled-back savepoint forgets its events, a rolled-back transaction all of them."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_EVENTS, []).append((transaction, name, data))


def take_domain_events(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """The events of transactions still alive, removed from the session."""
    events = session.info.pop(_EVENTS, [])
    return [(name, data) for transaction, name, data in events if _alive(transaction)]


def forget_dead_domain_events(session: Session) -> None:
    """After a rollback: drop what the rolled-back (sub)transaction recorded."""
    events = session.info.get(_EVENTS)
    if events:
        session.info[_EVENTS] = [e for e in events if _alive(e[0])]


def _alive(transaction: Any) -> bool:
    return transaction is None or bool(transaction.is_active)


class UnitOfWork:
    """One session, one transaction, and the side effects that wait for its commit."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.committed = False

    def on_commit(self, callback: Callable[[], None]) -> None:
        on_commit(self.session, callback)

    def commit(self) -> None:
        self.session.commit()
        self.committed = True
        callbacks = self.session.info.pop(_AFTER_COMMIT, [])
        for callback in callbacks:
            try:
                callback()
            except Exception:
                # The data is committed; a failed side effect is retried by its outbox sweeper.
                log.exception("after-commit callback failed")

    def rollback(self) -> None:
        self.session.info.pop(_AFTER_COMMIT, None)
        self.session.info.pop(_EVENTS, None)
        self.session.rollback()

    def close(self) -> None:
        if not self.committed:
            self.session.info.pop(_AFTER_COMMIT, None)
        self.session.close()
