"""Idempotency keys: the same key and body within 24 h return the first answer, once done.

The key row is inserted in the same transaction as the work it guards. A concurrent request
with the same key blocks on the unique index until the first commits (then replays its
answer) or rolls back (then does the work itself). A failed request stores nothing, so the
client may retry with the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.idempotency.models import IdempotencyKey
from server.kernel.errors import IdempotencyConflict

KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


def begin(
    session: Session, *, org_id: int, user_id: int, key: str, request_hash: str, now: datetime
) -> Replay | int:
    """Claim `key` for this request (returns the claim's id) or return the stored answer."""
    claimed = session.scalar(
        insert(IdempotencyKey)
        .values(org_id=org_id, user_id=user_id, key=key, request_hash=request_hash, created_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    )
    if claimed is not None:
        return int(claimed)
    existing = session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .with_for_update()
    )
    assert existing is not None
    if existing.created_at < now - KEY_LIFETIME:
        # An old key is free again: this request starts afresh under it.
        existing.request_hash, existing.created_at = request_hash, now
        existing.status_code = existing.response_body = None
        session.flush()
        return existing.id
    if existing.request_hash != request_hash:
        raise IdempotencyConflict()
    assert existing.status_code is not None
    return Replay(existing.status_code, existing.response_body)


def finish(session: Session, *, claim_id: int, status_code: int, body: Any) -> None:
    """Store the answer given under the claimed key."""
    row = session.get(IdempotencyKey, claim_id)
    assert row is not None
    row.status_code, row.response_body = status_code, body
    session.flush()


def purge_expired(session: Session, *, now: datetime) -> int:
    """Forget keys older than their lifetime."""
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEY_LIFETIME)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
