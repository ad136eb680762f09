"""audit log (日志管理): `audit_log`, append-only

One row per login (success and failure) and key operation (money, refunds, assignments, staff
role changes, exports of personal data, WeChat unbinding, deletes), written in the operation's
own transaction. A trigger refuses UPDATE and DELETE, as on `order_events`.

Revision ID: 0025_audit_log
Revises: 0024_vehicles_parking
Create Date: 2026-12-07 10:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.kernel.values import sql_in

revision = "0025_audit_log"
down_revision = "0024_vehicles_parking"
branch_labels = None
depends_on = None

# Frozen copies of the value lists as this revision created them.
_KINDS = (
    "login_succeeded",
    "login_failed",
    "fee_adjusted",
    "offline_payment",
    "refund",
    "order_assigned",
    "order_transferred",
    "staff_changed",
    "staff_deactivated",
    "export",
    "wechat_unbound",
    "deleted",
    "wechat_bound",
    "imported",
)
_ACTOR_ROLES = ("tenant", "technician", "dispatcher", "admin")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("org_id", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=True),
        sa.Column("actor_name", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("target_type", sa.String(length=30), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(sql_in("kind", _KINDS), name=op.f("ck_audit_log_kind_known")),
        sa.CheckConstraint(
            sql_in("actor_role", _ACTOR_ROLES, nullable=True),
            name=op.f("ck_audit_log_actor_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_audit_log_org_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_org_id_at", "audit_log", ["org_id", "at"], unique=False)
    op.create_index(
        "ix_audit_log_org_id_kind_at", "audit_log", ["org_id", "kind", "at"], unique=False
    )
    op.create_index(
        "ix_audit_log_org_id_actor_user_id_at",
        "audit_log",
        ["org_id", "actor_user_id", "at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_log_org_id_target",
        "audit_log",
        ["org_id", "target_type", "target_id"],
        unique=False,
    )
    # The log is evidence: refuse to rewrite or delete it (TRUNCATE, used by tests only, does
    # not fire row triggers).
    op.execute("""
        CREATE FUNCTION audit_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log rows are immutable' USING ERRCODE = 'restrict_violation';
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_immutable();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_immutable ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_immutable()")
    op.drop_index("ix_audit_log_org_id_target", table_name="audit_log")
    op.drop_index("ix_audit_log_org_id_actor_user_id_at", table_name="audit_log")
    op.drop_index("ix_audit_log_org_id_kind_at", table_name="audit_log")
    op.drop_index("ix_audit_log_org_id_at", table_name="audit_log")
    op.drop_table("audit_log")
