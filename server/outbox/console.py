"""What operators do with the outbox: see failed and waiting jobs, retry a failed one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db.pagination import Page, paginate
from server.db.scoping import get_owned
from server.kernel.errors import InvalidTransition
from server.outbox.dispatch import dispatch_on_commit
from server.outbox.models import OutboxItem
from server.outbox.registry import spec_for
from server.outbox.rules import RETRYABLE, Status, attempts_allowed

NOT_FOUND = "任务不存在"


def list_items(
    session: Session, *, org_id: int, status: str | None, page: int, page_size: int
) -> Page[OutboxItem]:
    """The organisation's outbox items, newest first, optionally of one status."""
    stmt = select(OutboxItem).where(OutboxItem.org_id == org_id)
    if status is not None:
        stmt = stmt.where(OutboxItem.status == status)
    return paginate(session, stmt.order_by(OutboxItem.id.desc()), page=page, page_size=page_size)


def retry_item(session: Session, *, org_id: int, outbox_id: int, now: datetime) -> OutboxItem:
    """Give a failed item a fresh set of attempts, the first one now."""
    item = get_owned(
        session, OutboxItem, outbox_id, org_id=org_id, message=NOT_FOUND, for_update=True
    )
    if item.status not in RETRYABLE:
        raise InvalidTransition("只有失败的任务可以重试")
    spec = spec_for(item.job)
    item.status = Status.PENDING.value
    item.max_attempts = item.attempts + attempts_allowed(spec.retries)
    item.next_attempt_at = item.updated_at = now
    session.flush()
    dispatch_on_commit(session, outbox_id=item.id, job=spec, attempts=item.attempts)
    return item


def summary(session: Session) -> list[tuple[str, str, int]]:
    """(job, status, count) over every organisation, for the command line."""
    rows = session.execute(
        select(OutboxItem.job, OutboxItem.status, func.count())
        .group_by(OutboxItem.job, OutboxItem.status)
        .order_by(OutboxItem.job, OutboxItem.status)
    ).all()
    return [(job, status, int(count)) for job, status, count in rows]
