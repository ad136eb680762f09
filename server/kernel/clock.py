"""Time: stored in UTC, shown in Asia/Shanghai, and one instant per request or job.

`use_instant` is set by whoever starts the work (the request, the job) so that everything that
work computes — deadlines, "overdue" in a view — agrees on what "now" is, and tests can pin it.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_instant: ContextVar[datetime | None] = ContextVar("baoxiu_instant", default=None)


def use_instant(moment: datetime | None) -> None:
    """Pin the current work's clock; None unpins it (the work is over)."""
    _instant.set(moment)


def instant() -> datetime:
    """The current work's clock, or the wall clock outside any request or job."""
    return _instant.get() or datetime.now(UTC)


def local_date(moment: datetime) -> date:
    """The calendar date where the properties are."""
    return moment.astimezone(LOCAL_TZ).date()
