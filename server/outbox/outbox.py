"""Asking for a side effect: an outbox row in the caller's transaction, a delivery after it."""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.db.session import core
from server.jobs import DELIVER_OUTBOX, JobSpec
from server.kernel.clock import instant
from server.outbox.dispatch import dispatch_on_commit
from server.outbox.models import OutboxItem
from server.outbox.rules import DEDUPE_KEY_LENGTH, Status, attempts_allowed

# Built once: every grab, filing and payment writes one (values arrive as parameters).
_INSERT = (
    insert(cast(Table, OutboxItem.__table__))
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(OutboxItem.__table__.c.id)
)


def enqueue_on_commit(
    session: Session,
    job: JobSpec,
    *,
    org_id: int | None = None,
    dedupe_key: str | None = None,
    **kwargs: Any,
) -> int:
    """Write `job(**kwargs)` to the outbox now; enqueue its delivery once this commits.

    The row is part of the caller's transaction: a rollback leaves neither the row nor a job.
    `kwargs` must be JSON values (stored as JSON; the handler sees them as loaded back).
    `org_id` scopes the row for operators; a `dedupe_key` makes a second enqueue with the same
    key return the first row's id and enqueue nothing. Returns the outbox row's id.
    """
    if not job.name or job.func != DELIVER_OUTBOX:
        raise ValueError(f"not an outbox job (use server.jobs.outbox_job): {job!r}")
    if dedupe_key is not None and not 1 <= len(dedupe_key) <= DEDUPE_KEY_LENGTH:
        raise ValueError(f"dedupe_key must be 1–{DEDUPE_KEY_LENGTH} characters")
    arguments = json.loads(json.dumps(kwargs, ensure_ascii=False))  # TypeError if not JSON
    now = instant()
    outbox_id: int | None = core(session).scalar(
        _INSERT,
        {
            "org_id": org_id,
            "job": job.name,
            "kwargs": arguments,
            "status": Status.PENDING.value,
            "attempts": 0,
            "max_attempts": attempts_allowed(job.retries),
            "next_attempt_at": now,
            "dedupe_key": dedupe_key,
            "created_at": now,
            "updated_at": now,
        },
    )
    if outbox_id is None:
        existing: int | None = session.scalar(
            select(OutboxItem.id).where(OutboxItem.dedupe_key == dedupe_key)
        )
        assert existing is not None
        return existing
    dispatch_on_commit(session, outbox_id=outbox_id, job=job, attempts=0)
    return outbox_id
