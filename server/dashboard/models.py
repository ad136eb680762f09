"""What the dashboard adds to the schema: indexes by organisation and time, so a range reads
only its own rows.

On-hold time is read from the timeline's steps into and out of a paused status; an order's
source and escalation from its marks (the desk's filings, the SLA's escalations): a partial
index of each holds those few timeline rows. Revenue reads the range's charge lines.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from server.charges.models import OrderCharge
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

# The marks an order's source and SLA figures read: filed by a dispatcher or an admin (the
# desk's filings, 前台登记), and escalated by the SLA (督办升级, a step at either level). The
# dashboard's statement repeats the predicate word for word.
DESK_ROLES_SQL = ", ".join(f"'{r}'" for r in sorted(DESK_FILER_ROLES))
FILING_ACTIONS_SQL = ", ".join(f"'{a.value}'" for a in (Action.FILE, Action.FILE_UNPAID))
ESCALATE_SQL = f"'{Action.ESCALATE.value}'"
MARKS = (
    f"(action IN ({FILING_ACTIONS_SQL}) AND actor_role IN ({DESK_ROLES_SQL}))"
    f" OR action = {ESCALATE_SQL}"
)

MARKS_INDEX = Index(
    "ix_order_events_dashboard_marks",
    OrderEvent.org_id,
    OrderEvent.created_at,
    postgresql_where=text(MARKS),
)

# Charge lines by organisation and time: a range's revenue reads its own lines only.
CHARGES_INDEX = Index("ix_order_charges_org_created", OrderCharge.org_id, OrderCharge.created_at)
