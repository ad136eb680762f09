"""What a login may do right now: its token version, roles and state, checked on every request.

An access token names its user and the `token_version` it was issued under; it grants nothing
by itself. Each request compares that version with the user's current one and takes the roles
from the user's current state: one Redis GET, or on a miss one database read that then fills
the cache. Whatever narrows what a user may do (deactivation, a change of roles, a new
password, logging out everywhere) calls `revoke_access` in the same transaction: the version
goes up in the database and, once committed, the new state replaces the cached one, so every
access token issued before answers 401 at once and a demoted admin gets 403 on the next call.

Cache entries are namespaced per deployment (derived from SECRET_KEY, the scope of the tokens
themselves), live CACHE_SECONDS, and are only ever replaced by a state of the same or a higher
version: a request that read the database just before a change and fills the cache just after
cannot put the old state back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from server.accounts.models import User
from server.db.session import on_commit
from server.roles.grants import user_grant

log = logging.getLogger(__name__)

# How long a cached state lives. Every change publishes the new state right after its commit;
# the expiry only bounds how long a cache that missed such an update could lag behind.
CACHE_SECONDS = 10 * 60

# Publish: replace the entry unless it holds a higher version than ours.
_PUBLISH = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and tonumber(doc['v']) and tonumber(doc['v']) > tonumber(ARGV[2])
  then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


def redis_namespace(secret_key: str) -> str:
    """A per-deployment prefix for Redis keys: deployments sharing a Redis never mix state."""
    digest = hmac.new(secret_key.encode(), b"baoxiu redis namespace", hashlib.sha256)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class AccessState:
    """A user's current standing: what every request is checked against."""

    user_id: int
    org_id: int
    version: int
    roles: frozenset[str]
    active: bool
    # What the desk may do and where: the presets' and the organisation's roles together
    # (server.roles); communities None = all of the organisation's.
    permissions: frozenset[str] = frozenset()
    communities: frozenset[int] | None = None

    def dumps(self) -> str:
        return json.dumps(
            {
                "u": self.user_id,
                "o": self.org_id,
                "v": self.version,
                "r": sorted(self.roles),
                "a": self.active,
                "p": sorted(self.permissions),
                "c": None if self.communities is None else sorted(self.communities),
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: bytes | str) -> AccessState | None:
        """The state from its cached form; None for anything not written by `dumps`."""
        try:
            doc = json.loads(raw)
            state = cls(
                user_id=_int(doc["u"]),
                org_id=_int(doc["o"]),
                version=_int(doc["v"]),
                roles=frozenset(_str(r) for r in doc["r"]),
                active=doc["a"] is True,
                permissions=frozenset(_str(p) for p in doc["p"]),
                communities=(None if doc["c"] is None else frozenset(_int(c) for c in doc["c"])),
            )
        except (ValueError, TypeError, KeyError):
            return None
        return state


class AccessCache:
    """The Redis side: one GET per request, a fill on a miss, a publish after each change."""

    def __init__(
        self, client: redis.Redis, *, namespace: str, ttl_seconds: int = CACHE_SECONDS
    ) -> None:
        self.redis = client
        self.namespace = namespace
        self.ttl_seconds = ttl_seconds
        self._publish = client.register_script(_PUBLISH)

    def key(self, user_id: int) -> str:
        return f"baoxiu:{self.namespace}:access:{user_id}"

    def cached(self, user_id: int) -> AccessState | None:
        """The cached state, or None on a miss (or when Redis cannot answer: read the database)."""
        try:
            raw = self.redis.get(self.key(user_id))
        except redis.RedisError as exc:
            log.warning("access cache unavailable: %s", type(exc).__name__)
            return None
        if raw is None:
            return None
        state = AccessState.loads(raw)
        return state if state is not None and state.user_id == user_id else None

    def fill(self, state: AccessState) -> None:
        """Cache a state read from the database, unless a change has published one meanwhile."""
        try:
            self.redis.set(self.key(state.user_id), state.dumps(), ex=self.ttl_seconds, nx=True)
        except redis.RedisError as exc:
            log.warning("access cache fill failed: %s", type(exc).__name__)

    def publish(self, state: AccessState) -> None:
        """Replace the cached state after a committed change (never by an older version)."""
        key = self.key(state.user_id)
        try:
            self._publish(keys=[key], args=[state.dumps(), state.version, self.ttl_seconds])
        except redis.RedisError:
            log.exception("access cache publish failed; dropping the entry")
            # Without the entry the next request reads the database.
            self.redis.delete(key)  # raises too when Redis is down: the caller logs it


def current_access(
    cache: AccessCache, *, user_id: int, open_session: Callable[[], Session]
) -> AccessState | None:
    """The user's current state (None: no such user): cached, else read and cached.

    The database read on a miss runs in a session of its own that ends at once, so that
    checking a token never opens the request's transaction (a view may still have a network
    call to make before its database work).
    """
    state = cache.cached(user_id)
    if state is not None:
        return state
    with open_session() as session:
        row = session.execute(
            select(User.org_id, User.token_version, User.roles, User.is_active).where(
                User.id == user_id
            )
        ).one_or_none()
        if row is None:
            return None
        state = _state(session, user_id, row)
    cache.fill(state)
    return state


def revoke_access(session: Session, *, cache: AccessCache, user_id: int) -> int:
    """End every access token of the user issued so far; the new state is cached on commit.

    Call it after the change (roles, `is_active`, password) has been made: the version is
    raised in SQL, so that two concurrent changes get two versions, and the state cached is
    the row as this transaction leaves it. Returns the new version.
    """
    session.flush()
    row = session.execute(
        update(User)
        .where(User.id == user_id)
        .values(token_version=User.token_version + 1)
        .returning(User.org_id, User.token_version, User.roles, User.is_active)
        .execution_options(synchronize_session=False)
    ).one()
    loaded = session.identity_map.get(session.identity_key(User, user_id))
    if isinstance(loaded, User):
        set_committed_value(loaded, "token_version", row.token_version)
    state = _state(session, user_id, row)
    on_commit(session, lambda: cache.publish(state))
    return int(row.token_version)


def refresh_access(session: Session, *, cache: AccessCache, user_ids: list[int]) -> None:
    """What these users may do changed without ending their tokens (a role they hold was
    redefined, granted or taken back): their state, as this transaction leaves it, replaces
    the cached one on commit, so the next request of each is checked against it."""
    session.flush()
    rows = session.execute(
        select(User.id, User.org_id, User.token_version, User.roles, User.is_active).where(
            User.id.in_(user_ids)
        )
    ).all()
    states = [_state(session, row.id, row) for row in rows]

    def publish() -> None:
        for state in states:
            cache.publish(state)

    on_commit(session, publish)


def forget_user(session: Session, *, cache: AccessCache, user: User) -> None:
    """A user row about to be deleted: once committed, its tokens find an inactive state."""
    state = AccessState(
        user_id=user.id,
        org_id=user.org_id,
        version=user.token_version + 1,
        roles=frozenset(),
        active=False,
    )
    on_commit(session, lambda: cache.publish(state))


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _state(session: Session, user_id: int, row: Any) -> AccessState:
    """The access state of a `users` row read with org_id, token_version, roles, is_active,
    with the grant of the roles the user holds."""
    roles = frozenset(row.roles or ())
    grant = user_grant(session, user_id=user_id, preset_roles=roles)
    return AccessState(
        user_id=user_id,
        org_id=row.org_id,
        version=row.token_version,
        roles=roles,
        active=row.is_active,
        permissions=grant.permissions,
        communities=grant.communities,
    )
