"""What the dashboard adds to the schema: indexes by organisation and time, so a range reads
only its own rows, and the daily rollup (`dashboard.rollup`) its job keeps.

On-hold time is read from the timeline's steps into and out of a paused status; an order's
source and escalation from its marks (the desk's filings, the SLA's escalations): a partial
index of each holds those few timeline rows. Revenue reads the range's charge lines.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    text,
)

from server.charges.models import OrderCharge
from server.dashboard.rules import DESK_FILER_ROLES
from server.db.base import Base
from server.orders.models import Order, OrderEvent
from server.orders.rules.overdue import OPEN_VALUES
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

# The rollup job finds the orders changed since its last run by `updated_at` (every ORM write
# of an order bumps it, a removed charge line included).
UPDATED_INDEX = Index("ix_orders_org_id_updated_at", Order.org_id, Order.updated_at)

# Overdue now (`orders.overdue`) is the one figure that moves with the clock, so it is always
# counted live: the open orders of a range, with their deadlines, from the index alone.
OPEN_SQL = ", ".join(f"'{v}'" for v in sorted(OPEN_VALUES))
OPEN_INDEX = Index(
    "ix_orders_open_created",
    Order.org_id,
    Order.created_at,
    Order.due_at,
    postgresql_where=text(f"status IN ({OPEN_SQL})"),
)


def _day_keys() -> list[Column[object]]:
    """The columns every rollup row is keyed by: the cohort's own filters, per filing day.

    A row of a day (`span` 'day'), or of a whole past ISO week ('week', `day` its Monday) or
    month ('month', `day` its first): the sum of that span's day rows, so a long range reads
    a few month and week rows and the days at its ends rather than every day.
    """
    return [
        Column("org_id", BigInteger, nullable=False),
        Column("day", Date, nullable=False),  # local (Asia/Shanghai) filing day
        Column("span", Text, nullable=False),
        Column("community_id", BigInteger, nullable=False),
        Column("order_type_id", BigInteger, nullable=False),
    ]


# Derived data, rebuilt by day from the orders: no foreign keys (an organisation's rows go
# when it does not matter; nothing references them).
COUNTS = (
    "filed",
    "completed",
    "closed",
    "cancelled",
    "reopened",
    "reopens",
    "in_time",
    "escalated",
    "rated",
    "rating_sum",
    "low_scores",
    "finished",
    "outstanding_fen",
    "taken_n",
    "completed_n",
    "closed_n",
    "handling_n",
)
TIME_SUMS = ("taken_sum", "completed_sum", "closed_sum", "handling_sum")
TIMES = ("taken", "completed", "closed", "handling")

# One row per (day, community, type) and set: `kind` names the breakdown ('base': the whole
# group, 'status', 'subtype', 'source', 'priority', 'score', 'technician'), `key` its value.
DASHBOARD_DAYS = Table(
    "dashboard_days",
    Base.metadata,
    *_day_keys(),
    Column("kind", Text, nullable=False),
    Column("key", Text, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in COUNTS),
    *(Column(name, Float, nullable=False) for name in TIME_SUMS),
    Index("ix_dashboard_days_org_id_span_day", "org_id", "span", "day"),
    # The trends read the whole groups' rows only, a day each.
    Index(
        "ix_dashboard_days_base",
        "org_id",
        "day",
        postgresql_where=text("kind = 'base' AND span = 'day'"),
    ),
)

# The durations' histograms (`rules.duration_bucket_sql`) per technician (NULL: none).
DASHBOARD_TIME_DAYS = Table(
    "dashboard_time_days",
    Base.metadata,
    *_day_keys(),
    Column("assignee_id", BigInteger),
    Column("bucket", SmallInteger, nullable=False),
    *(Column(name, Integer, nullable=False) for name in TIMES),
    Index("ix_dashboard_time_days_org_id_span_day", "org_id", "span", "day"),
)

# Cancelled orders' cancel steps by who and why.
DASHBOARD_CANCEL_DAYS = Table(
    "dashboard_cancel_days",
    Base.metadata,
    *_day_keys(),
    Column("action", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_dashboard_cancel_days_org_id_span_day", "org_id", "span", "day"),
)

# Money in fen: `book` 'ledger' (kind × channel) or 'charge' (the charge lines' kind × staff).
DASHBOARD_MONEY_DAYS = Table(
    "dashboard_money_days",
    Base.metadata,
    *_day_keys(),
    Column("book", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("staff_id", BigInteger),
    Column("fen", BigInteger, nullable=False),
    Index("ix_dashboard_money_days_org_id_span_day", "org_id", "span", "day"),
)

# Per organisation: every local day before `built_until` is in the rollup (today never is),
# as of the run that started at `run_started_at`.
DASHBOARD_ROLLUP_STATE = Table(
    "dashboard_rollup_state",
    Base.metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("built_until", Date, nullable=False),
    Column("run_started_at", DateTime(timezone=True), nullable=False),
)

# What each rollup table sums (the other columns key its rows).
MEASURES = {
    DASHBOARD_DAYS.name: (*COUNTS, *TIME_SUMS),
    DASHBOARD_TIME_DAYS.name: TIMES,
    DASHBOARD_CANCEL_DAYS.name: ("n",),
    DASHBOARD_MONEY_DAYS.name: ("fen",),
}
