"""What the dashboard adds to the schema: one partial index on the orders' timeline.

On-hold time is read from the timeline's steps into and out of a paused status; this index
holds those few rows by organisation and time, so a range reads only them.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from server.orders.models import OrderEvent
from server.sla.clocks import PAUSED

PAUSED_SQL = ", ".join(f"'{v}'" for v in sorted(PAUSED))
# The index's predicate, which the dashboard's statements repeat word for word (alias `e`).
PAUSE_STEPS = (
    f"(to_status IN ({PAUSED_SQL}) OR from_status IN ({PAUSED_SQL}))"
    " AND from_status IS DISTINCT FROM to_status"
)

PAUSE_STEPS_INDEX = Index(
    "ix_order_events_pauses",
    OrderEvent.org_id,
    OrderEvent.created_at,
    postgresql_where=text(PAUSE_STEPS),
)
