"""imports: import jobs, and the room and customer details the onboarding sheets carry

Rooms get their use (住宅 / 商铺 / 车位 / 车库), delivery and move-in dates; customers their ID
type and emergency contact. `import_jobs` records each uploaded file (stored on disk under the
uploads directory), its dry run or real run, progress and error report.

Revision ID: 0026_imports
Revises: 0025_audit_log
Create Date: 2026-12-07 10:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.kernel.values import sql_in

revision = "0026_imports"
down_revision = "0025_audit_log"
branch_labels = None
depends_on = None

ROOM_USES = ("residence", "shop", "parking", "garage")
ID_TYPES = ("id_card", "passport", "hk_macao_pass", "taiwan_pass", "credit_code", "other")
JOB_STATUSES = ("queued", "running", "done", "rejected", "failed")
UPLOAD_KINDS = (
    "communities",
    "buildings",
    "units",
    "rooms",
    "customers",
    "contacts",
    "customer_rooms",
    "workbook",
)


def upgrade() -> None:
    op.add_column("rooms", sa.Column("use", sa.String(length=10), nullable=True))
    op.add_column("rooms", sa.Column("delivered_on", sa.Date(), nullable=True))
    op.add_column("rooms", sa.Column("moved_in_on", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_rooms_use_known"), "rooms", sql_in("use", ROOM_USES, nullable=True)
    )
    op.add_column("customers", sa.Column("id_type", sa.String(length=20), nullable=True))
    op.add_column(
        "customers",
        sa.Column("emergency_name", sa.String(length=50), server_default="", nullable=False),
    )
    op.add_column("customers", sa.Column("emergency_phone", sa.String(length=20), nullable=True))
    op.create_check_constraint(
        op.f("ck_customers_id_type_known"),
        "customers",
        sql_in("id_type", ID_TYPES, nullable=True),
    )
    op.create_index(op.f("ix_customers_org_id_id_number"), "customers", ["org_id", "id_number"])
    op.create_index(op.f("ix_customers_org_id_phone"), "customers", ["org_id", "phone"])
    op.create_table(
        "import_jobs",
        sa.Column("created_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_format", sa.String(length=10), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            sql_in("status", JOB_STATUSES), name=op.f("ck_import_jobs_status_known")
        ),
        sa.CheckConstraint(sql_in("kind", UPLOAD_KINDS), name=op.f("ck_import_jobs_kind_known")),
        sa.CheckConstraint(
            "rows_done >= 0 AND rows_total >= 0", name=op.f("ck_import_jobs_rows_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_import_jobs_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_import_jobs_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    op.create_index(op.f("ix_import_jobs_org_id"), "import_jobs", ["org_id"])
    op.create_index(
        op.f("ix_import_jobs_org_id_created_at"), "import_jobs", ["org_id", "created_at"]
    )
    op.create_index(op.f("ix_import_jobs_org_id_file_hash"), "import_jobs", ["org_id", "file_hash"])


def downgrade() -> None:
    op.drop_table("import_jobs")
    op.drop_index(op.f("ix_customers_org_id_phone"), table_name="customers")
    op.drop_index(op.f("ix_customers_org_id_id_number"), table_name="customers")
    op.drop_constraint(op.f("ck_customers_id_type_known"), "customers", type_="check")
    op.drop_column("customers", "emergency_phone")
    op.drop_column("customers", "emergency_name")
    op.drop_column("customers", "id_type")
    op.drop_constraint(op.f("ck_rooms_use_known"), "rooms", type_="check")
    op.drop_column("rooms", "moved_in_on")
    op.drop_column("rooms", "delivered_on")
    op.drop_column("rooms", "use")
