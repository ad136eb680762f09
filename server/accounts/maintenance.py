"""Housekeeping that the cron runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from server.accounts.models import RefreshToken

# Keep revoked tokens a while: a replay inside this window is still recognised as one.
REVOKED_RETENTION = timedelta(days=7)


def purge_refresh_tokens(session: Session, *, now: datetime) -> int:
    """Delete refresh tokens that expired, or were revoked more than a week ago."""
    result = session.execute(
        delete(RefreshToken).where(
            or_(RefreshToken.expires_at < now, RefreshToken.revoked_at < now - REVOKED_RETENTION)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
