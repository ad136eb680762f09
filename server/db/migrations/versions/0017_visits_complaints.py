"""return visits (回访) and complaints and suggestions (投诉建议)

Revision ID: 0017_visits_complaints
Revises: 0016_workbench_urging
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from server.kernel.values import sql_in

revision = "0017_visits_complaints"
down_revision = "0016_workbench_urging"
branch_labels = None
depends_on = None

# Value lists as they stand at this revision (a migration never reads today's lists).
VISIT_REASONS = ("low_rating", "reopen", "sample")
VISIT_STATUSES = ("due", "done")
COMPLAINT_KINDS = ("complaint", "suggestion")
COMPLAINT_CATEGORIES = (
    "service_attitude",
    "repair_quality",
    "response_speed",
    "charges",
    "environment",
    "security",
    "facilities",
    "other",
)
COMPLAINT_SEVERITIES = ("low", "normal", "high")
COMPLAINT_STATUSES = ("open", "processing", "closed")
AUTHOR_ROLES = ("tenant", "desk")


def _org(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organisations.id"],
        name=op.f(f"fk_{table}_org_id_organisations"),
        ondelete="CASCADE",
    )


def _user(table: str, column: str, ondelete: str = "SET NULL") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete=ondelete
    )


def _at(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _now(name: str) -> sa.Column[datetime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column("visit_low_rating_at_or_below", sa.Integer(), server_default="2", nullable=False),
    )
    op.add_column(
        "organisations",
        sa.Column("visit_sample_percent", sa.Integer(), server_default="10", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_organisations_visit_low_rating_range"),
        "organisations",
        "visit_low_rating_at_or_below BETWEEN 0 AND 5",
    )
    op.create_check_constraint(
        op.f("ck_organisations_visit_sample_percent_range"),
        "organisations",
        "visit_sample_percent BETWEEN 0 AND 100",
    )

    op.create_table(
        "return_visits",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("visited_by_user_id", sa.BigInteger(), nullable=True),
        _at("visited_at"),
        _at("created_at", nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            sql_in("reason", VISIT_REASONS), name=op.f("ck_return_visits_reason_known")
        ),
        sa.CheckConstraint(
            sql_in("status", VISIT_STATUSES), name=op.f("ck_return_visits_status_known")
        ),
        sa.CheckConstraint(
            "(status = 'due') = (reached IS NULL)", name=op.f("ck_return_visits_outcome_when_done")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_return_visits_order_id_orders"),
            ondelete="CASCADE",
        ),
        _user("return_visits", "visited_by_user_id"),
        _org("return_visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_visits")),
    )
    op.create_index(op.f("ix_return_visits_org_id"), "return_visits", ["org_id"])
    op.create_index(op.f("ix_return_visits_order_id"), "return_visits", ["order_id"])
    op.create_index(
        "ix_return_visits_order_id_due",
        "return_visits",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("status = 'due'"),
    )
    op.create_index(
        "ix_return_visits_org_id_status_created_at",
        "return_visits",
        ["org_id", "status", "created_at"],
    )

    op.create_table(
        "complaints",
        sa.Column("tenant_user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_staff_id", sa.BigInteger(), nullable=True),
        _at("remind_at", nullable=False),
        _at("due_at", nullable=False),
        _at("escalate_at", nullable=False),
        sa.Column("alert_level", sa.SmallInteger(), nullable=False),
        _at("desk_replied_at"),
        _at("closed_at"),
        sa.Column("closed_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("rating_score", sa.SmallInteger(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=False),
        _at("rated_at"),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(sql_in("kind", COMPLAINT_KINDS), name=op.f("ck_complaints_kind_known")),
        sa.CheckConstraint(
            sql_in("category", COMPLAINT_CATEGORIES, nullable=True),
            name=op.f("ck_complaints_category_known"),
        ),
        sa.CheckConstraint(
            sql_in("severity", COMPLAINT_SEVERITIES), name=op.f("ck_complaints_severity_known")
        ),
        sa.CheckConstraint(
            sql_in("status", COMPLAINT_STATUSES), name=op.f("ck_complaints_status_known")
        ),
        sa.CheckConstraint(
            "alert_level BETWEEN 0 AND 3", name=op.f("ck_complaints_alert_level_range")
        ),
        sa.CheckConstraint(
            "rating_score IS NULL OR rating_score BETWEEN 1 AND 5",
            name=op.f("ck_complaints_score_range"),
        ),
        sa.CheckConstraint(
            "status <> 'closed' OR desk_replied_at IS NOT NULL",
            name=op.f("ck_complaints_closed_after_reply"),
        ),
        _user("complaints", "tenant_user_id", ondelete="RESTRICT"),
        _user("complaints", "closed_by_user_id"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_complaints_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_complaints_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_staff_id"],
            ["staff.id"],
            name=op.f("fk_complaints_assignee_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_complaints_department_id_departments"),
            ondelete="SET NULL",
        ),
        _org("complaints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index(op.f("ix_complaints_org_id"), "complaints", ["org_id"])
    op.create_index(op.f("ix_complaints_order_id"), "complaints", ["order_id"])
    op.create_index(op.f("ix_complaints_staff_id"), "complaints", ["staff_id"])
    op.create_index(
        "ix_complaints_org_id_status_created_at", "complaints", ["org_id", "status", "created_at"]
    )
    op.create_index(
        "ix_complaints_tenant_user_id_created_at", "complaints", ["tenant_user_id", "created_at"]
    )

    op.create_table(
        "complaint_replies",
        sa.Column("complaint_id", sa.BigInteger(), nullable=False),
        sa.Column("author_role", sa.String(length=10), nullable=False),
        sa.Column("author_user_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        _at("created_at", nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            sql_in("author_role", AUTHOR_ROLES), name=op.f("ck_complaint_replies_author_known")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_replies_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        _user("complaint_replies", "author_user_id"),
        _org("complaint_replies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_replies")),
    )
    op.create_index(op.f("ix_complaint_replies_org_id"), "complaint_replies", ["org_id"])
    op.create_index(
        op.f("ix_complaint_replies_complaint_id"), "complaint_replies", ["complaint_id"]
    )

    op.add_column("uploads", sa.Column("complaint_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_uploads_complaint_id_complaints"),
        "uploads",
        "complaints",
        ["complaint_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_uploads_complaint_id"), "uploads", ["complaint_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_uploads_complaint_id"), table_name="uploads")
    op.drop_constraint(op.f("fk_uploads_complaint_id_complaints"), "uploads", type_="foreignkey")
    op.drop_column("uploads", "complaint_id")
    op.drop_table("complaint_replies")
    op.drop_table("complaints")
    op.drop_table("return_visits")
    op.drop_constraint(
        op.f("ck_organisations_visit_sample_percent_range"), "organisations", type_="check"
    )
    op.drop_constraint(
        op.f("ck_organisations_visit_low_rating_range"), "organisations", type_="check"
    )
    op.drop_column("organisations", "visit_sample_percent")
    op.drop_column("organisations", "visit_low_rating_at_or_below")
