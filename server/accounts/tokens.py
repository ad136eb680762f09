"""JWT access and refresh tokens.

Access tokens are short-lived and stateless. Refresh tokens are JWTs whose `jti` has a row in
`refresh_tokens`: refreshing rotates the token, and presenting a revoked one (a stolen copy
being replayed) revokes every refresh token of that user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.accounts.models import RefreshToken, User
from server.kernel.errors import RefreshTokenReplayed, TokenExpired, Unauthorized
from server.staff.models import Staff

ALGORITHM = "HS256"
ISSUER = "baoxiu"


@dataclass(frozen=True)
class Principal:
    """Who is calling: decoded from a valid access token."""

    user_id: int
    org_id: int
    roles: frozenset[str]
    staff_id: int | None = None

    def has_any(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)


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

    def principal(self, token: str, *, now: datetime) -> Principal:
        """Decode an access token into the caller, or raise Unauthorized."""
        claims = self._decode(token, "access", now=now)
        roles = claims.get("roles")
        if not isinstance(roles, list):
            raise Unauthorized("登录凭证无效")
        staff_id = claims.get("stf")
        return Principal(
            int(claims["sub"]),
            int(claims["org"]),
            frozenset(map(str, roles)),
            int(staff_id) if staff_id is not None else None,
        )

    def rotate(
        self, session: Session, *, refresh_token: str, now: datetime
    ) -> tuple[User, TokenPair]:
        """Exchange a refresh token for a new pair; the old refresh token stops working."""
        claims = self._decode(refresh_token, "refresh", now=now)
        row = session.get(RefreshToken, str(claims.get("jti")), with_for_update=True)
        if row is None or row.user_id != int(claims["sub"]):
            raise Unauthorized("登录凭证无效")
        if row.revoked_at is not None:
            # Replay of a rotated token: assume theft, end every session of this user.
            session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == row.user_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
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
            raise Unauthorized("登录凭证无效") from exc
        # Expiry is checked against the injected clock, not the wall clock.
        if int(claims["exp"]) <= int(now.timestamp()):
            raise TokenExpired()
        if claims.get("typ") != expected_type:
            raise Unauthorized("登录凭证类型不正确")
        return claims
