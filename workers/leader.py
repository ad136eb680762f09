"""A leader lock in Redis: of all the `baoxiu cron` processes started, one schedules.

The lock is one key holding the leader's token, set with `SET NX PX` (whoever sets it leads)
and kept alive by its holder, which renews it every third of its time to live with a Lua
compare-and-expire (only while the key still holds its own token) and deletes it on a clean
exit with a Lua compare-and-delete. A holder that dies stops renewing: the key expires and a
follower, which keeps trying `SET NX`, takes over within about one time to live. A holder that
cannot renew in time (Redis away, the process paused) stops acting as leader at once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import cast

import redis

log = logging.getLogger(__name__)

CRON_LOCK_KEY = "baoxiu:cron:leader"

# KEYS[1] the lock, ARGV[1] the token, ARGV[2] the time to live in milliseconds.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class LeaderLock:
    """One process's claim on the lock `key`; `hold()` says, and keeps, whether it leads."""

    def __init__(self, connection: redis.Redis, *, key: str, ttl_seconds: float) -> None:
        self.connection = connection
        self.key = key
        self.ttl_ms = int(ttl_seconds * 1000)
        # Who leads, readable by operators: `redis-cli get baoxiu:cron:leader`.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew = connection.register_script(_RENEW)
        self._release = connection.register_script(_RELEASE)
        self._valid_until = 0.0  # monotonic time up to which this process surely leads

    @property
    def renew_every(self) -> float:
        return self.ttl_ms / 3000

    def leading(self) -> bool:
        """Whether the lock is surely still ours (without asking Redis)."""
        return time.monotonic() < self._valid_until

    def hold(self) -> bool:
        """Take the lock if free, renew it if ours; True while this process leads."""
        started = time.monotonic()
        try:
            if self._valid_until:  # ours at the last look: renew only if still ours
                ours = bool(self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))
            else:
                ours = False
            if not ours:
                ours = bool(self.connection.set(self.key, self.token, nx=True, px=self.ttl_ms))
        except redis.RedisError as exc:
            log.warning("cron leader lock unavailable: %s", type(exc).__name__)
            ours = False
        # Counted from before the call: the key may have been set just before the answer came.
        self._valid_until = started + self.ttl_ms / 1000 if ours else 0.0
        return ours

    def holder(self) -> str | None:
        value = self.connection.get(self.key)
        return None if value is None else cast(bytes, value).decode()

    def release(self) -> None:
        """Let a follower take over now rather than after the time to live."""
        if not self._valid_until:
            return
        self._valid_until = 0.0
        try:
            self._release(keys=[self.key], args=[self.token])
        except redis.RedisError as exc:
            log.warning("cron leader lock not released: %s", type(exc).__name__)
