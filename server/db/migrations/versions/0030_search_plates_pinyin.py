"""omni search: vehicles by plate, customers by the pinyin of their name

- `customers.name_initials` / `name_pinyin` (张三 → zs / zhangsan), filled for existing rows in
  batches of 5,000 (pypinyin, the rule `server.directory.rules.pinyin_keys`), then indexed with
  btree `text_pattern_ops` led by the organisation (equality and prefix);
- active vehicles' plates: btree `text_pattern_ops` (equality, prefix: 粤B…) and a GIN
  trigram index (a fragment anywhere: A12345, 2345).

Revision ID: 0030_search_plates_pinyin
Revises: 0029_dictionary
Create Date: 2026-12-07 12:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.directory.rules import pinyin_keys

revision = "0030_search_plates_pinyin"
down_revision = "0029_dictionary"
branch_labels = None
depends_on = None

BATCH = 5000
_ACTIVE = sa.text("removed_at IS NULL")


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("name_initials", sa.String(length=200), server_default="", nullable=False),
    )
    op.add_column(
        "customers",
        sa.Column("name_pinyin", sa.String(length=200), server_default="", nullable=False),
    )
    _backfill()
    op.create_index(
        "ix_customers_search_initials",
        "customers",
        ["org_id", "name_initials"],
        postgresql_ops={"name_initials": "text_pattern_ops"},
    )
    op.create_index(
        "ix_customers_search_pinyin",
        "customers",
        ["org_id", "name_pinyin"],
        postgresql_ops={"name_pinyin": "text_pattern_ops"},
    )
    op.create_index(
        "ix_vehicles_search_plate",
        "vehicles",
        ["org_id", "plate"],
        postgresql_ops={"plate": "text_pattern_ops"},
        postgresql_where=_ACTIVE,
    )
    op.create_index(
        "ix_vehicles_search_plate_trgm",
        "vehicles",
        ["plate"],
        postgresql_using="gin",
        postgresql_ops={"plate": "gin_trgm_ops"},
        postgresql_where=_ACTIVE,
    )


def _backfill() -> None:
    """Every existing customer's keys, BATCH rows at a time in id order (one UPDATE … FROM
    VALUES per batch: a million customers are 200 statements)."""
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, name FROM customers WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        keys = [(row.id, *pinyin_keys(row.name)) for row in rows]
        conn.execute(
            sa.text(
                "UPDATE customers AS c SET name_initials = k.initials, name_pinyin = k.pinyin"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:initials AS text[]),"
                " CAST(:fulls AS text[])) AS k(id, initials, pinyin) WHERE c.id = k.id"
            ),
            {
                "ids": [k[0] for k in keys],
                "initials": [k[1] for k in keys],
                "fulls": [k[2] for k in keys],
            },
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_vehicles_search_plate_trgm", table_name="vehicles", postgresql_where=_ACTIVE)
    op.drop_index("ix_vehicles_search_plate", table_name="vehicles", postgresql_where=_ACTIVE)
    op.drop_index("ix_customers_search_pinyin", table_name="customers")
    op.drop_index("ix_customers_search_initials", table_name="customers")
    op.drop_column("customers", "name_pinyin")
    op.drop_column("customers", "name_initials")
