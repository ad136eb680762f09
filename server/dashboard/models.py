"""What the dashboard adds to the schema: two partial indexes on the orders' timeline.

On-hold time is read from the timeline's steps into and out of a paused status, and an
order's source from who filed it (the desk's filings); each index holds those few rows by
organisation and time, so a range reads only them.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from server.dashboard.rules import DESK_FILER_ROLES
from server.orders.models import OrderEvent
from server.orders.rules.states import Action
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

# Filed by a dispatcher or an admin: the desk's filings (前台登记). The dashboard's statement
# repeats the predicate word for word.
DESK_ROLES_SQL = ", ".join(f"'{r}'" for r in sorted(DESK_FILER_ROLES))
FILING_ACTIONS_SQL = ", ".join(f"'{a.value}'" for a in (Action.FILE, Action.FILE_UNPAID))
DESK_FILINGS = f"action IN ({FILING_ACTIONS_SQL}) AND actor_role IN ({DESK_ROLES_SQL})"

DESK_FILINGS_INDEX = Index(
    "ix_order_events_desk_filings",
    OrderEvent.org_id,
    OrderEvent.created_at,
    postgresql_where=text(DESK_FILINGS),
)
