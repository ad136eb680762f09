"""value lists: CHECK constraints built from the kernel's value lists

The CHECKs of 0001/0002 already read as the value lists now spell them (`column IN (...)`), so
none is recreated. Added: a CHECK on every column that holds a listed value and had none —
orders.channel, the timeline's action, statuses and actor role, a message's author role, and a
login's roles. Also two range CHECKs the models have declared since 0002 but no migration created
(order_types.sla_hours, organisations.reopen_window_days; the console validates the same ranges).
The values are written out here, as they are on this date: a migration is a record of history and
must not change when a list in the code grows (that takes a new migration).

Revision ID: 0006_value_lists
Revises: 0005_uploads
Create Date: 2026-11-30 12:25:00
"""

from __future__ import annotations

from alembic import op

revision = "0006_value_lists"
down_revision = "0005_uploads"
branch_labels = None
depends_on = None

STATUSES = (
    "'awaiting_payment', 'pending', 'assigned', 'in_progress', 'on_hold', 'completed', "
    "'closed', 'cancelled'"
)
ACTIONS = (
    "'file', 'file_unpaid', 'payment_received', 'assign', 'grab', 'accept', 'reject', "
    "'transfer', 'hold', 'resume', 'complete', 'rate', 'auto_close', 'reopen', "
    "'reopen_to_assignee', 'cancel_by_tenant', 'cancel_by_desk'"
)
ROLES = "'tenant', 'technician', 'dispatcher', 'admin'"

# (table, constraint name as the naming convention spells it, condition)
CHECKS = (
    ("orders", "ck_orders_channel_known", "channel IN ('tenant', 'staff')"),
    ("order_events", "ck_order_events_action_known", f"action IN ({ACTIONS})"),
    (
        "order_events",
        "ck_order_events_from_status_known",
        f"from_status IS NULL OR from_status IN ({STATUSES})",
    ),
    (
        "order_events",
        "ck_order_events_to_status_known",
        f"to_status IS NULL OR to_status IN ({STATUSES})",
    ),
    (
        "order_events",
        "ck_order_events_actor_role_known",
        f"actor_role IN ({ROLES}, 'system')",
    ),
    ("order_messages", "ck_order_messages_author_role_known", f"author_role IN ({ROLES})"),
    ("users", "ck_users_roles_known", f"roles <@ ARRAY[{ROLES}]::varchar[]"),
    ("order_types", "ck_order_types_sla_hours_range", "sla_hours BETWEEN 1 AND 8760"),
    (
        "organisations",
        "ck_organisations_reopen_window_range",
        "reopen_window_days BETWEEN 0 AND 365",
    ),
)


def upgrade() -> None:
    for table, name, condition in CHECKS:
        op.create_check_constraint(op.f(name), table, condition)


def downgrade() -> None:
    for table, name, _ in reversed(CHECKS):
        op.drop_constraint(op.f(name), table, type_="check")
