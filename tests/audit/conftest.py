"""The audit log's rows of this test only: a few other tests commit for real (concurrency,
workers), so rows written before this test began are left out by id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry

_BASELINE: list[int] = [0]


@pytest.fixture(autouse=True)
def audit_baseline(db_session: Session) -> Iterator[int]:
    _BASELINE[0] = int(db_session.scalar(select(func.coalesce(func.max(AuditEntry.id), 0))))
    yield _BASELINE[0]


def new_rows(db_session: Session, **where: object) -> list[AuditEntry]:
    """Audit rows written since this test began, oldest first, filtered by column values."""
    stmt = select(AuditEntry).where(AuditEntry.id > _BASELINE[0]).order_by(AuditEntry.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, name) == value)
    db_session.expire_all()
    return list(db_session.scalars(stmt))
