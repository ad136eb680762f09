"""JWT access and refresh tokens.

Access tokens are short-lived; they carry the user's `token_version` (`ver`), which every
request checks against the user's current one (`server.accounts.access`), and the roles the
user had when it was issued, for the apps' information only: authorisation takes the roles
from the user's current state. Refresh tokens are JWTs whose `jti` has a row in
`refresh_tokens`: refreshing rotates the token, and presenting a revoked one (a stolen copy
being replayed) revokes every refresh token of that user and ends its access tokens.

A token signed with our key but with a claim missing or of the wrong type is as unusable as a
forged one: 401, never an error further down.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.accounts.access import AccessCache, revoke_access
from server.accounts.models import RefreshToken, User
from server.db.scoping import find_owned
from server.kernel.errors import RefreshTokenReplayed, TokenExpired, Unauthorized
from server.staff.models import Staff

ALGORITHM = "HS256"
ISSUER = "baoxiu"
# Ids are PostgreSQL bigints.
_ID_MAX = 2**63 - 1
_INVALID = "登录凭证无效"


@dataclass(frozen=True)
class Principal:
    """Who is calling: decoded from a valid access token."""

    user_id: int
    org_id: int
    roles: frozenset[str]
    staff_id: int | None = None
    # The desk's permissions and data scope (see server.roles; None: every community).
    permissions: frozenset[str] = frozenset()
    communities: frozenset[int] | None = None

    def has_any(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)

    def may(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class AccessClaims:
    """What a well-formed access token says; who it grants what is decided by the caller."""

    user_id: int
    org_id: int
    staff_id: int | None
    version: int


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class TokenIssuer:
    secret_key: str
    access_minutes: int
    refresh_days: int

    def issue(self, session: Session, *, user: User, now: datetime) -> TokenPair:
        """Issue an access token and a fresh refresh token for `user`."""
        # The staff id rides in the token so that technician requests need no lookup for it.
        staff_id = session.scalar(select(Staff.id).where(Staff.user_id == user.id))
        access = self._encode(
            {
                "sub": str(user.id),
                "org": user.org_id,
                "roles": list(user.roles),
                "typ": "access",
                "stf": staff_id,
                "ver": user.token_version,
            },
            now=now,
            lifetime=timedelta(minutes=self.access_minutes),
        )
        jti = str(uuid.uuid4())
        expires_at = now + timedelta(days=self.refresh_days)
        session.add(
            RefreshToken(
                jti=jti, user_id=user.id, org_id=user.org_id, issued_at=now, expires_at=expires_at
            )
        )
        refresh = self._encode(
            {"sub": str(user.id), "org": user.org_id, "typ": "refresh", "jti": jti},
            now=now,
            lifetime=timedelta(days=self.refresh_days),
        )
        return TokenPair(access, refresh, self.access_minutes * 60)

    def access_claims(self, token: str, *, now: datetime) -> AccessClaims:
        """Decode an access token, or raise Unauthorized (TokenExpired when only too old)."""
        claims = self._decode(token, "access", now=now)
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthorized(_INVALID)
        staff_id = claims.get("stf")
        # Tokens issued before versions existed carry none: they are version 0.
        version = claims.get("ver", 0)
        if not _is_int(version) or version < 0:
            raise Unauthorized(_INVALID)
        return AccessClaims(
            user_id=_subject(claims),
            org_id=_id(claims.get("org")),
            staff_id=None if staff_id is None else _id(staff_id),
            version=version,
        )

    def rotate(
        self, session: Session, *, refresh_token: str, now: datetime, access: AccessCache
    ) -> tuple[User, TokenPair]:
        """Exchange a refresh token for a new pair; the old refresh token stops working.

        A replayed (already rotated) one ends every session of its user: refresh tokens and
        the access tokens issued so far, which the thief may hold too.
        """
        claims = self._decode(refresh_token, "refresh", now=now)
        jti = claims.get("jti")
        if not isinstance(jti, str) or len(jti) > 36:
            raise Unauthorized(_INVALID)
        user_id, org_id = _subject(claims), _id(claims.get("org"))
        row = find_owned(session, RefreshToken, jti, org_id=org_id, for_update=True)
        if row is None or row.user_id != user_id:
            raise Unauthorized(_INVALID)
        if row.revoked_at is not None:
            # Replay of a rotated token: assume theft, end every session of this user.
            session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == row.user_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            revoke_access(session, cache=access, user_id=row.user_id)
            raise RefreshTokenReplayed()
        user = session.scalar(select(User).where(User.id == row.user_id))
        if user is None or not user.is_active:
            raise Unauthorized("账号已停用")
        row.revoked_at = now
        return user, self.issue(session, user=user, now=now)

    def _encode(self, claims: dict[str, Any], *, now: datetime, lifetime: timedelta) -> str:
        payload = {**claims, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + lifetime}
        return jwt.encode(payload, self.secret_key, algorithm=ALGORITHM)

    def _decode(self, token: str, expected_type: str, *, now: datetime) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret_key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "require": ["exp", "iat", "sub", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(_INVALID) from exc
        # Expiry is checked against the injected clock, not the wall clock.
        expires = claims.get("exp")
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            raise Unauthorized(_INVALID)
        if not math.isfinite(expires):
            raise Unauthorized(_INVALID)
        if expires <= now.timestamp():
            raise TokenExpired()
        if claims.get("typ") != expected_type:
            raise Unauthorized("登录凭证类型不正确")
        return claims


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id(value: Any) -> int:
    """A row id claim: a positive integer that fits a bigint."""
    if not _is_int(value) or not 0 < value <= _ID_MAX:
        raise Unauthorized(_INVALID)
    return int(value)


def _subject(claims: dict[str, Any]) -> int:
    """`sub`: the user id as decimal digits (JWT wants a string)."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.isascii() or not sub.isdigit() or len(sub) > 19:
        raise Unauthorized(_INVALID)
    return _id(int(sub))
