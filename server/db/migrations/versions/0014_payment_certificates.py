"""payment certificates: Alipay certificate mode (公钥证书) on key versions; the
payment_cert_expiring notification kind (WeChat Pay platform certificates about to expire)

Revision ID: 0014_payment_certificates
Revises: 0013_notifications
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_payment_certificates"
down_revision = "0013_notifications"
branch_labels = None
depends_on = None

_CERT_COLUMNS = ("app_public_key_cert", "alipay_public_key_cert", "alipay_root_cert")

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
)
_KINDS_AFTER = (*_KINDS_BEFORE, "payment_cert_expiring")


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
    for name in _CERT_COLUMNS:
        op.add_column(
            "payment_account_secrets",
            sa.Column(name, sa.Text(), nullable=False, server_default=""),
        )
        op.alter_column("payment_account_secrets", name, server_default=None)
    _kind_checks(_KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'payment_cert_expiring'")
    op.execute(
        "UPDATE notification_preferences "
        "SET muted_kinds = array_remove(muted_kinds, 'payment_cert_expiring')"
    )
    _kind_checks(_KINDS_BEFORE)
    for name in reversed(_CERT_COLUMNS):
        op.drop_column("payment_account_secrets", name)
