"""Engine, sessions and the unit of work.

A unit of work owns one transaction. Services add and flush, never commit; the caller (the
request, the job) commits once, and side effects registered with `on_commit` run only after
that commit succeeded — a rolled-back grab must not notify anyone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from server.db.replicas import Replica, Replicas
from server.runtime import sqlalchemy_url

log = logging.getLogger(__name__)

# Seconds to open a connection before giving up (the request answers 503).
CONNECT_TIMEOUT_SECONDS = 5

# Marks a read-only unit of work: on its session (`info`) and its connection (execution option).
_READ_ONLY = "baoxiu_read_only"


class Database:
    """The engine and session factory of one process."""

    def __init__(
        self,
        database_url: str,
        *,
        replica_urls: tuple[str, ...] = (),
        replica_max_lag_seconds: float = 5.0,
        **engine_options: Any,
    ) -> None:
        options: dict[str, Any] = {
            "pool_size": 10,
            "max_overflow": 20,
            # Statement errors otherwise quote their parameters (phones, ID numbers, password
            # hashes) into the exception text, and from there into logs and tracebacks.
            "hide_parameters": True,
        }
        if "connect_timeout" not in database_url:
            # A database host gone silent fails a connection in seconds (a 503), not minutes.
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        options.update(engine_options)
        self.engine: Engine = create_engine(sqlalchemy_url(database_url), **options)
        if not options.get("pool_pre_ping"):
            ping_when_idle(self.engine)
        self.session_factory: Callable[[], Session] = sessionmaker(
            self.engine, expire_on_commit=False, autoflush=True
        )
        # Reads that need no transaction (see `_read_factories`).
        self.read_session_factory: Callable[[], Session] = _read_factories(self.engine)[0]
        # Read replicas (server.db.replicas): where read-only units of work go when one is
        # fresh enough; none configured, or none well: the primary.
        self.replicas = Replicas(
            replica_urls,
            primary=self.engine,
            max_lag_seconds=replica_max_lag_seconds,
            make_factories=_read_factories,
        )
        # Per-process services that work after a commit needs (the outbox's job queue), handed
        # to every unit of work in its `session.info`: use cases hold only a session.
        self.session_info: dict[str, Any] = {}

    def unit_of_work(self, *, read_only: bool = False, on_replica: bool = False) -> UnitOfWork:
        """A unit of work; `read_only` for requests that only read (see `refuse_writes`).

        `on_replica`: the reads need not see the caller's own latest writes, so they may run on
        a read replica when one is fresh enough (see server.db.replicas). With `read_only` the
        session is autocommit; without, a read-only transaction (for server-side cursors, one
        snapshot). A replica failing to connect is skipped here: the primary answers instead.
        """
        if self.replicas and (read_only or on_replica):
            replica = self.replicas.pick() if on_replica else None
            if replica is not None:
                factory = (
                    replica.read_session_factory if read_only else replica.snapshot_session_factory
                )
                session = factory()
                try:
                    session.connection()  # connect now: a failing replica falls back below
                except Exception as error:
                    session.close()
                    self.replicas.failed(replica, error)
                else:
                    self.replicas.count("replica")
                    session.info.update(self.session_info)
                    session.info[_READ_ONLY] = True
                    return UnitOfWork(session, replica=replica)
            self.replicas.count("primary")
        session = (self.read_session_factory if read_only else self.session_factory)()
        session.info.update(self.session_info)
        if read_only:
            session.info[_READ_ONLY] = True  # also when the factory was swapped (tests)
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
        self.replicas.dispose()
        self.engine.dispose()


def _read_factories(engine: Engine) -> tuple[Callable[[], Session], Callable[[], Session]]:
    """Read-only sessions on `engine`: autocommit ones, and ones in a read-only transaction."""
    # Reads that need no transaction: no BEGIN, no COMMIT, one round trip per statement.
    # A read-only unit of work runs in autocommit, where a write would commit on its own:
    # writes are refused at once, as programming errors (ORM flushes and statements by the
    # session's flag, anything else on the connection by its execution option).
    autocommit: Callable[[], Session] = sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT", **{_READ_ONLY: True}),
        expire_on_commit=False,
        info={_READ_ONLY: True},
    )
    snapshot: Callable[[], Session] = sessionmaker(
        engine.execution_options(**{_READ_ONLY: True}),
        expire_on_commit=False,
        info={_READ_ONLY: True},
    )
    refuse_writes(engine)
    return autocommit, snapshot


# A connection idle longer than this is pinged before use (the server may have restarted or
# a firewall dropped it). Busy connections are not: `pool_pre_ping` would add a round trip to
# every request, the cost of one more statement.
PING_AFTER_IDLE_SECONDS = 5.0
_LAST_USED = "baoxiu_last_used"


def ping_when_idle(engine: Engine) -> None:
    """Ping connections that sat idle in the pool; a dead one is replaced transparently."""

    @event.listens_for(engine, "checkin")
    def note_last_use(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is None or time.monotonic() - last_used < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError() from error
        if not alive:
            raise exc.DisconnectionError()


@event.listens_for(Session, "before_flush")
def _no_flush_when_read_only(session: Session, *_args: Any) -> None:
    if session.info.get(_READ_ONLY):
        raise RuntimeError("read-only unit of work: nothing may be written")


@event.listens_for(Session, "do_orm_execute")
def _selects_only_when_read_only(state: ORMExecuteState) -> None:
    if state.session.info.get(_READ_ONLY) and (
        state.is_insert or state.is_update or state.is_delete
    ):
        raise RuntimeError("read-only unit of work: only SELECT statements may run")


def refuse_writes(engine: Engine) -> None:
    """Statements on connections marked read-only (`_READ_ONLY` execution option) must read."""

    @event.listens_for(engine, "before_cursor_execute")
    def reads_only(
        conn: Connection, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if conn.get_execution_options().get(_READ_ONLY) and (
            context.isinsert or context.isupdate or context.isdelete
        ):
            raise RuntimeError("read-only unit of work: only SELECT statements may run")


def core(session: Session) -> Connection:
    """The session's connection, for a prebuilt Core statement on a hot path.

    `session.execute` runs every statement through the ORM's execution layer (≈ 70 µs of CPU
    more than the connection, measured on the grab path); statements that load no ORM objects
    need none of it. Pending ORM changes are flushed first, as autoflush would have done.
    """
    session.flush()
    return session.connection()


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

    def __init__(self, session: Session, *, replica: Replica | None = None) -> None:
        self.session = session
        self.committed = False
        # The read replica it reads from; None: the primary.
        self.replica = replica

    def on_commit(self, callback: Callable[[], None]) -> None:
        on_commit(self.session, callback)

    def commit(self) -> None:
        if self.replica is None:
            self.session.commit()
        else:
            # Nothing was written on a replica: no COMMIT to fail when it just went away.
            with suppress(Exception):
                self.session.rollback()
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
