"""Read replicas: where a read-only unit of work may run instead of the primary.

A replica is used only while it is known to be fresh enough: at most once per `CHECK_SECONDS`
(per process) one caller measures it, the others use the last answer. Fresh means it has
replayed everything the primary had written when the check began (the replay LSN against
the primary's WAL position), or, when it is behind, that the last transaction it replayed
committed at most `max_lag_seconds` ago. A replica behind by more, or that fails to answer,
is skipped until a later check finds it well again: the read goes to the primary, never an
error. State changes are logged once each (the URL without its password).

Read-your-writes is the caller's part (server.web.context): a user who wrote in the last
`sticky_seconds` reads from the primary. A replica chosen at a check had every commit older
than `max_lag_seconds` at the time of the check, at most `CHECK_SECONDS` ago, so a write
older than `max_lag_seconds + CHECK_SECONDS` (plus a margin for clocks) is on it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from server.runtime import sqlalchemy_url

log = logging.getLogger(__name__)

# How often one process measures a replica's lag (seconds); between checks the last answer.
CHECK_SECONDS = 1.0
# Seconds to connect to a replica before it counts as failing (the read then goes to the primary).
REPLICA_CONNECT_TIMEOUT_SECONDS = 2
# Added to the sticky window for clock differences between the database hosts.
STICKY_MARGIN_SECONDS = 1.0

_PRIMARY_LSN = text("SELECT pg_current_wal_lsn()")
_REPLICA_STATE = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(),"
    " extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
)
_LSN_DIFF = text("SELECT pg_wal_lsn_diff(:replayed, :primary)")


def sticky_seconds(max_lag_seconds: float) -> float:
    """How long after a write its author's reads stay on the primary."""
    return max_lag_seconds + CHECK_SECONDS + STICKY_MARGIN_SECONDS


@dataclass
class Replica:
    """One replica: its engine, its session factories and what the last check found."""

    name: str  # the URL without its password, for logs
    engine: Engine
    read_session_factory: Callable[[], Session]
    snapshot_session_factory: Callable[[], Session]
    healthy: bool = False
    checked_at: float = float("-inf")
    reason: str = "not checked yet"
    lock: threading.Lock = field(default_factory=threading.Lock)


class Replicas:
    """The replicas of one process and the choice among them."""

    def __init__(
        self,
        urls: tuple[str, ...],
        *,
        primary: Engine,
        max_lag_seconds: float,
        make_factories: Callable[[Engine], tuple[Callable[[], Session], Callable[[], Session]]],
        **engine_options: Any,
    ) -> None:
        self.primary = primary
        self.max_lag_seconds = max_lag_seconds
        self.replicas: list[Replica] = []
        for url in urls:
            options: dict[str, Any] = {
                "pool_size": 10,
                "max_overflow": 20,
                "hide_parameters": True,
                # A stopped replica is found at checkout, not by a failing query.
                "pool_pre_ping": True,
                "connect_args": {"connect_timeout": REPLICA_CONNECT_TIMEOUT_SECONDS},
            }
            options.update(engine_options)
            engine = create_engine(sqlalchemy_url(url), **options)
            read, snapshot = make_factories(engine)
            name = make_url(sqlalchemy_url(url)).render_as_string(hide_password=True)
            self.replicas.append(Replica(name, engine, read, snapshot))
        self._turn = itertools.count()
        # Reading units of work (read-only or on_replica) sent to a replica and to the primary.
        self.routed = {"replica": 0, "primary": 0}

    def __bool__(self) -> bool:
        return bool(self.replicas)

    def pick(self) -> Replica | None:
        """A replica fresh enough to read from, in turn; None: read from the primary."""
        count = len(self.replicas)
        start = next(self._turn)
        for i in range(count):
            replica = self.replicas[(start + i) % count]
            self._check_if_due(replica)
            if replica.healthy:
                return replica
        return None

    def count(self, where: str) -> None:
        self.routed[where] += 1

    def failed(self, replica: Replica, error: BaseException) -> None:
        """A replica failed under a caller: skipped until the next check. Not under the lock:
        the caller must not wait for a check in progress (up to a connect timeout)."""
        replica.checked_at = time.monotonic()
        self._set(replica, healthy=False, reason=_reason(error))

    def _check_if_due(self, replica: Replica) -> None:
        if time.monotonic() - replica.checked_at < CHECK_SECONDS:
            return
        if not replica.lock.acquire(blocking=False):
            return  # another thread is checking: the last answer meanwhile
        try:
            if time.monotonic() - replica.checked_at < CHECK_SECONDS:
                return
            healthy, reason = self._measure(replica)
            replica.checked_at = time.monotonic()
            self._set(replica, healthy=healthy, reason=reason)
        finally:
            replica.lock.release()

    def _measure(self, replica: Replica) -> tuple[bool, str]:
        primary_lsn: str | None = None
        try:
            with self.primary.connect() as conn:
                primary_lsn = conn.execute(_PRIMARY_LSN).scalar()
        except Exception:  # the primary's own trouble is answered elsewhere
            primary_lsn = None
        try:
            with replica.engine.connect() as conn:
                in_recovery, replayed, lag = conn.execute(_REPLICA_STATE).one()
                if not in_recovery:
                    return False, "not a standby (pg_is_in_recovery() is false)"
                if primary_lsn is not None and replayed is not None:
                    behind = conn.execute(
                        _LSN_DIFF, {"replayed": replayed, "primary": primary_lsn}
                    ).scalar()
                    if behind is not None and behind >= 0:
                        return True, "caught up"
        except Exception as error:
            return False, _reason(error)
        if lag is None:
            return False, "has replayed nothing yet"
        if float(lag) > self.max_lag_seconds:
            return False, f"lagging {float(lag):.1f} s (bound {self.max_lag_seconds:g} s)"
        return True, f"lagging {float(lag):.1f} s"

    def _set(self, replica: Replica, *, healthy: bool, reason: str) -> None:
        changed = healthy != replica.healthy or replica.reason == "not checked yet"
        replica.healthy, replica.reason = healthy, reason
        if not changed:
            return
        if healthy:
            log.info("database replica %s in use (%s)", replica.name, reason)
        else:
            log.warning(
                "database replica %s skipped, reads go to the primary: %s", replica.name, reason
            )

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


def _reason(error: BaseException) -> str:
    """An error for the log: its type and first line (no SQL, no parameters)."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"
