"""Two ticks at once (two cron runs overlapping, or a retried job) send every alert once.

Real commits on the real database, as in tests/concurrency: each tick runs in its own
transaction on its own connection, the rows are taken with SKIP LOCKED.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from server.sla.timers import tick
from tests.concurrency.conftest import RaceOrg


def test_overlapping_ticks_escalate_each_order_once(app):
    org = RaceOrg(app, "", technicians=1, cap=3)
    orders = org.file(12)  # no policy: the type's 24 h on the wall clock
    late = datetime.now(UTC) + timedelta(days=3)
    barrier = threading.Barrier(2)

    def run(_: int) -> int:
        barrier.wait(timeout=30)
        escalated = 0
        while True:
            with org.db.transaction() as uow:
                report = tick(uow.session, now=late, batch=4)
            escalated += report.escalated
            if report.seen < 4:
                return escalated

    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(run, range(2)))
    mine = org.scalar(
        "SELECT count(*) FROM order_events WHERE org_id = :org_id AND action = 'escalate'"
    )
    assert mine == len(orders)
    assert sum(counts) >= len(orders)  # other organisations' orders may be escalated too
    per_order = org.rows(
        "SELECT order_id, count(*) FROM notifications WHERE org_id = :org_id"
        " AND kind = 'order_escalated' GROUP BY order_id"
    )
    assert sorted(per_order) == sorted((oid, 1) for oid in orders)
    # A third run afterwards: nothing more.
    with org.db.transaction() as uow:
        tick(uow.session, now=late + timedelta(minutes=1))
    assert org.scalar(
        "SELECT count(*) FROM order_events WHERE org_id = :org_id AND action = 'escalate'"
    ) == len(orders)
