"""department lead: `departments.lead_staff_id`

部门负责人: a desk urge (督办) of an order nobody holds also tells the lead of the order type's
department. The key closes a cycle with `staff.department_id`; a deleted staff row leaves the
department without a lead (SET NULL).

Revision ID: 0022_department_lead
Revises: 0021_dashboard_rollup
Create Date: 2026-12-07 10:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_department_lead"
down_revision = "0021_dashboard_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("departments", sa.Column("lead_staff_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_departments_lead_staff_id_staff"),
        "departments",
        "staff",
        ["lead_staff_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_departments_lead_staff_id_staff"), "departments", type_="foreignkey"
    )
    op.drop_column("departments", "lead_staff_id")
