"""desk notification kinds: urging (督办, 催单), return visits, complaints, notices, surveys;
the timeline's urge, tenant_urge and return_visit actions

Revision ID: 0015_desk_notification_kinds
Revises: 0014_payment_certificates
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

from alembic import op

from server.kernel.values import sql_in

revision = "0015_desk_notification_kinds"
down_revision = "0014_payment_certificates"
branch_labels = None
depends_on = None

_KINDS_BEFORE = (
    "order_assigned",
    "order_transferred",
    "pool_order",
    "tenant_message",
    "sla_reminder",
    "visit_reminder",
    "order_taken",
    "order_completed",
    "payment_received",
    "refund_done",
    "desk_reply",
    "visit_reminder_tenant",
    "order_rejected",
    "low_rating",
    "order_overdue",
    "order_escalated",
    "reconciliation_discrepancy",
    "payment_cert_expiring",
)
_NEW = (
    "order_urged",
    "tenant_urged",
    "tenant_urged_tech",
    "return_visit_due",
    "complaint_filed",
    "complaint_assigned",
    "complaint_reply",
    "notice",
    "notice_urgent",
    "staff_notice",
    "survey_open",
)
_KINDS_AFTER = (*_KINDS_BEFORE, *_NEW)

_ACTIONS_BEFORE = (
    "file",
    "file_unpaid",
    "payment_received",
    "assign",
    "grab",
    "accept",
    "reject",
    "transfer",
    "hold",
    "resume",
    "complete",
    "rate",
    "auto_close",
    "reopen",
    "reopen_to_assignee",
    "cancel_by_tenant",
    "cancel_by_desk",
    "adjust_fee",
    "reschedule",
    "hold_expired",
    "escalate",
)
_NEW_ACTIONS = ("urge", "tenant_urge", "return_visit")


def _action_check(actions: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_order_events_action_known"), "order_events", type_="check")
    op.create_check_constraint(
        op.f("ck_order_events_action_known"), "order_events", sql_in("action", actions)
    )


def _quoted(kinds: tuple[str, ...]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)


def _kind_checks(kinds: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_known"), "notifications", f"kind IN ({_quoted(kinds)})"
    )
    op.drop_constraint(
        op.f("ck_notification_preferences_muted_kinds_known"),
        "notification_preferences",
        type_="check",
    )
    op.create_check_constraint(
        op.f("ck_notification_preferences_muted_kinds_known"),
        "notification_preferences",
        f"muted_kinds <@ ARRAY[{_quoted(kinds)}]::varchar[]",
    )


def upgrade() -> None:
    _kind_checks(_KINDS_AFTER)
    _action_check((*_ACTIONS_BEFORE, *_NEW_ACTIONS))


def downgrade() -> None:
    op.execute(f"DELETE FROM notifications WHERE kind IN ({_quoted(_NEW)})")
    for kind in _NEW:
        op.execute(
            f"UPDATE notification_preferences SET muted_kinds = array_remove(muted_kinds, '{kind}')"
        )
    _kind_checks(_KINDS_BEFORE)
    op.execute(f"DELETE FROM order_events WHERE {sql_in('action', _NEW_ACTIONS)}")
    _action_check(_ACTIONS_BEFORE)
