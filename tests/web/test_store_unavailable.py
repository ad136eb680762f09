"""Which failures mean "a store is away" (503 `service_unavailable`) and which do not."""

from __future__ import annotations

import psycopg
import pytest
import redis
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc

from server.web.errors import store_unavailable


def _wrapped(orig: Exception, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("exc", "store"),
    [
        (_wrapped(psycopg.OperationalError("connection refused")), "database"),
        (_wrapped(pg_errors.AdminShutdown("terminating connection")), "database"),
        (_wrapped(pg_errors.CannotConnectNow("the database system is starting up")), "database"),
        (_wrapped(pg_errors.ConnectionFailure("lost")), "database"),
        (_wrapped(pg_errors.SerializationFailure("x"), invalidated=True), "database"),
        (sa_exc.InterfaceError("SELECT 1", {}, psycopg.InterfaceError("closed")), "database"),
        (sa_exc.TimeoutError("QueuePool limit reached"), "database"),
        (psycopg.OperationalError("server closed the connection unexpectedly"), "database"),
        (redis.ConnectionError("Connection refused"), "redis"),
        (redis.TimeoutError("Timeout reading from socket"), "redis"),
        # Answers of a working database: not an outage.
        (_wrapped(pg_errors.SerializationFailure("could not serialize")), None),
        (_wrapped(pg_errors.DeadlockDetected("deadlock")), None),
        (_wrapped(pg_errors.QueryCanceled("statement timeout")), None),
        (_wrapped(pg_errors.LockNotAvailable("lock timeout")), None),
        (redis.ResponseError("WRONGTYPE"), None),
        (RuntimeError("bug"), None),
    ],
)
def test_store_unavailable(exc: BaseException, store: str | None) -> None:
    assert store_unavailable(exc) == store
