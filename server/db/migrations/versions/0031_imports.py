"""imports: parking spaces, their holders and vehicles as import kinds

`import_jobs.kind` may also be `parking_spaces` (车位), `space_holdings` (车位关系) and
`vehicles` (车辆): the onboarding sheets of the parking tables of 0024.

Revision ID: 0031_imports
Revises: 0030_search_plates_pinyin
Create Date: 2026-12-07 13:00:00.000000
"""

from __future__ import annotations

from alembic import op

from server.kernel.values import sql_in

revision = "0031_imports"
down_revision = "0030_search_plates_pinyin"
branch_labels = None
depends_on = None

KIND_CHECK = "ck_import_jobs_kind_known"
KINDS_BEFORE = (
    "communities",
    "buildings",
    "units",
    "rooms",
    "customers",
    "contacts",
    "customer_rooms",
    "workbook",
)
KINDS_AFTER = (*KINDS_BEFORE[:-1], "parking_spaces", "space_holdings", "vehicles", "workbook")


def upgrade() -> None:
    op.drop_constraint(op.f(KIND_CHECK), "import_jobs", type_="check")
    op.create_check_constraint(op.f(KIND_CHECK), "import_jobs", sql_in("kind", KINDS_AFTER))


def downgrade() -> None:
    op.execute(
        "DELETE FROM import_jobs WHERE kind IN ('parking_spaces', 'space_holdings', 'vehicles')"
    )
    op.drop_constraint(op.f(KIND_CHECK), "import_jobs", type_="check")
    op.create_check_constraint(op.f(KIND_CHECK), "import_jobs", sql_in("kind", KINDS_BEFORE))
