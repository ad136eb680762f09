"""Overdue (超时, 督办): past its promised time and still open.

The one definition the console's overdue filter, the order views and the export share; the
SQL spelling is `orders.clauses.overdue_clause`, kept in step by a test.
"""

from __future__ import annotations

from datetime import datetime

from server.orders.rules.states import OPEN

OPEN_VALUES: frozenset[str] = frozenset(s.value for s in OPEN)


def is_overdue(*, status: str, due_at: datetime | None, now: datetime) -> bool:
    return status in OPEN_VALUES and due_at is not None and due_at < now
