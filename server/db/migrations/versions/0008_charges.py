"""charges: specs, labour, materials and stock, service items, order charges

Subtypes gain which charge kinds they allow and their pay-on-order prepay (deposit or full).
New tables: service specs, labour items and their department prices, materials with the store's
stock, each technician's stock, the stock ledger, requisitions, service items, order charge
lines and each order's fee row. The timeline gains the desk's `adjust_fee` (waive/discount).

Revision ID: 0008_charges
Revises: 0007_booking
Create Date: 2026-11-30 12:15:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_charges"
down_revision = "0007_booking"
branch_labels = None
depends_on = None

# The timeline's actions as they stand after 0007 (booking), and with this revision's one.
ACTIONS_BEFORE = (
    "'file', 'file_unpaid', 'payment_received', 'assign', 'grab', 'accept', 'reject', "
    "'transfer', 'hold', 'resume', 'complete', 'rate', 'auto_close', 'reopen', "
    "'reopen_to_assignee', 'cancel_by_tenant', 'cancel_by_desk', 'reschedule', 'hold_expired'"
)
ACTIONS_AFTER = (
    "'file', 'file_unpaid', 'payment_received', 'assign', 'grab', 'accept', 'reject', "
    "'transfer', 'hold', 'resume', 'complete', 'rate', 'auto_close', 'reopen', "
    "'reopen_to_assignee', 'cancel_by_tenant', 'cancel_by_desk', 'adjust_fee', 'reschedule', "
    "'hold_expired'"
)
PRICE_RANGE = "BETWEEN 0 AND 100000000"


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger(), nullable=False)


def _org() -> sa.Column[int]:
    return sa.Column("org_id", sa.BigInteger(), nullable=False)


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organisations.id"],
        name=op.f(f"fk_{table}_org_id_organisations"),
        ondelete="CASCADE",
    )


def _org_index(table: str) -> None:
    op.create_index(op.f(f"ix_{table}_org_id"), table, ["org_id"], unique=False)


def upgrade() -> None:
    op.add_column(
        "order_subtypes",
        sa.Column(
            "charge_kinds",
            postgresql.ARRAY(sa.String(length=20)),
            server_default="{labor,material,service}",
            nullable=False,
        ),
    )
    op.add_column(
        "order_subtypes",
        sa.Column("prepay", sa.String(length=10), server_default="full", nullable=False),
    )
    op.add_column(
        "order_subtypes",
        sa.Column("deposit_fen", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column("order_subtypes", sa.Column("deposit_percent", sa.Integer(), nullable=True))
    for name, condition in (
        (
            "charge_kinds_known",
            "charge_kinds <@ ARRAY['labor', 'material', 'service']::varchar[]",
        ),
        ("prepay_known", "prepay IN ('deposit', 'full')"),
        ("deposit_not_negative", "deposit_fen >= 0"),
        (
            "deposit_percent_range",
            "deposit_percent IS NULL OR deposit_percent BETWEEN 1 AND 100",
        ),
    ):
        op.create_check_constraint(op.f(f"ck_order_subtypes_{name}"), "order_subtypes", condition)

    op.create_table(
        "service_specs",
        _id(),
        _org(),
        sa.Column("subtype_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(f"price_fen {PRICE_RANGE}", name=op.f("ck_service_specs_price_range")),
        sa.ForeignKeyConstraint(
            ["subtype_id"],
            ["order_subtypes.id"],
            name=op.f("fk_service_specs_subtype_id_order_subtypes"),
            ondelete="CASCADE",
        ),
        _org_fk("service_specs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_specs")),
        sa.UniqueConstraint("subtype_id", "name", name=op.f("uq_service_specs_subtype_id_name")),
    )
    _org_index("service_specs")
    op.create_index(op.f("ix_service_specs_subtype_id"), "service_specs", ["subtype_id"])

    op.create_table(
        "labor_items",
        _id(),
        _org(),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(f"price_fen {PRICE_RANGE}", name=op.f("ck_labor_items_price_range")),
        _org_fk("labor_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labor_items")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_labor_items_org_id_name")),
    )
    _org_index("labor_items")

    op.create_table(
        "labor_prices",
        _id(),
        _org(),
        sa.Column("labor_item_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(f"price_fen {PRICE_RANGE}", name=op.f("ck_labor_prices_price_range")),
        sa.ForeignKeyConstraint(
            ["labor_item_id"],
            ["labor_items.id"],
            name=op.f("fk_labor_prices_labor_item_id_labor_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_labor_prices_department_id_departments"),
            ondelete="CASCADE",
        ),
        _org_fk("labor_prices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labor_prices")),
        sa.UniqueConstraint(
            "labor_item_id",
            "department_id",
            name=op.f("uq_labor_prices_labor_item_id_department_id"),
        ),
    )
    _org_index("labor_prices")
    op.create_index(op.f("ix_labor_prices_labor_item_id"), "labor_prices", ["labor_item_id"])
    op.create_index(op.f("ix_labor_prices_department_id"), "labor_prices", ["department_id"])

    op.create_table(
        "materials",
        _id(),
        _org(),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("store_qty", sa.BigInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(f"price_fen {PRICE_RANGE}", name=op.f("ck_materials_price_range")),
        sa.CheckConstraint("store_qty >= 0", name=op.f("ck_materials_store_not_negative")),
        _org_fk("materials"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_materials_org_id_name")),
    )
    _org_index("materials")

    op.create_table(
        "technician_stock",
        _id(),
        _org(),
        sa.Column("material_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("qty >= 0", name=op.f("ck_technician_stock_qty_not_negative")),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_technician_stock_material_id_materials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_technician_stock_staff_id_staff"),
            ondelete="RESTRICT",
        ),
        _org_fk("technician_stock"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technician_stock")),
        sa.UniqueConstraint(
            "material_id", "staff_id", name=op.f("uq_technician_stock_material_id_staff_id")
        ),
    )
    _org_index("technician_stock")
    op.create_index(op.f("ix_technician_stock_staff_id"), "technician_stock", ["staff_id"])

    op.create_table(
        "material_requisitions",
        _id(),
        _org(),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("material_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=200), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_material_requisitions_status_known"),
        ),
        sa.CheckConstraint(
            "quantity BETWEEN 1 AND 9999", name=op.f("ck_material_requisitions_quantity_range")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_material_requisitions_staff_id_staff"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_material_requisitions_material_id_materials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_material_requisitions_decided_by_user_id_users"),
            ondelete="RESTRICT",
        ),
        _org_fk("material_requisitions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_requisitions")),
    )
    _org_index("material_requisitions")
    op.create_index(
        op.f("ix_material_requisitions_staff_id"), "material_requisitions", ["staff_id"]
    )

    op.create_table(
        "stock_movements",
        _id(),
        _org(),
        sa.Column("material_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("store_delta", sa.Integer(), nullable=False),
        sa.Column("tech_delta", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("requisition_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reason IN ('stock_in', 'stock_out', 'requisition', 'return', 'charge', "
            "'charge_removed')",
            name=op.f("ck_stock_movements_reason_known"),
        ),
        sa.CheckConstraint(
            "store_delta <> 0 OR tech_delta <> 0", name=op.f("ck_stock_movements_moves_something")
        ),
        sa.CheckConstraint(
            "tech_delta = 0 OR staff_id IS NOT NULL", name=op.f("ck_stock_movements_tech_named")
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_stock_movements_material_id_materials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_stock_movements_staff_id_staff"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_stock_movements_order_id_orders"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requisition_id"],
            ["material_requisitions.id"],
            name=op.f("fk_stock_movements_requisition_id_material_requisitions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_stock_movements_actor_user_id_users"),
            ondelete="RESTRICT",
        ),
        _org_fk("stock_movements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    _org_index("stock_movements")
    op.create_index(op.f("ix_stock_movements_staff_id"), "stock_movements", ["staff_id"])
    op.create_index(op.f("ix_stock_movements_order_id"), "stock_movements", ["order_id"])
    op.create_index(
        "ix_stock_movements_material_id_created_at",
        "stock_movements",
        ["material_id", "created_at"],
    )
    # The ledger is append-only, as the timeline is.
    op.execute(
        """
        CREATE FUNCTION stock_movements_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'stock_movements rows are never changed';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON stock_movements"
        " FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()"
    )

    op.create_table(
        "service_items",
        _id(),
        _org(),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(f"price_fen {PRICE_RANGE}", name=op.f("ck_service_items_price_range")),
        _org_fk("service_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_items")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_service_items_org_id_name")),
    )
    _org_index("service_items")

    op.create_table(
        "order_charges",
        _id(),
        _org(),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('labor', 'material', 'service')", name=op.f("ck_order_charges_kind_known")
        ),
        sa.CheckConstraint(
            "quantity BETWEEN 1 AND 9999", name=op.f("ck_order_charges_quantity_range")
        ),
        sa.CheckConstraint(
            f"unit_price_fen {PRICE_RANGE}", name=op.f("ck_order_charges_price_range")
        ),
        sa.CheckConstraint(
            "amount_fen = unit_price_fen * quantity",
            name=op.f("ck_order_charges_amount_is_price_times_qty"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_charges_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_order_charges_staff_id_staff"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_order_charges_department_id_departments"),
            ondelete="SET NULL",
        ),
        _org_fk("order_charges"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_charges")),
    )
    _org_index("order_charges")
    op.create_index(op.f("ix_order_charges_order_id"), "order_charges", ["order_id"])

    op.create_table(
        "order_fees",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        _org(),
        sa.Column("spec_id", sa.BigInteger(), nullable=True),
        sa.Column("spec_name", sa.String(length=50), nullable=False),
        sa.Column("spec_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("prepay", sa.String(length=10), nullable=True),
        sa.Column("prepay_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("waived", sa.Boolean(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("company_cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("refund_due_fen", sa.BigInteger(), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "prepay IS NULL OR prepay IN ('deposit', 'full')",
            name=op.f("ck_order_fees_prepay_known"),
        ),
        sa.CheckConstraint(
            "spec_price_fen >= 0 AND prepay_fen >= 0 AND paid_fen >= 0 AND discount_fen >= 0"
            " AND total_fen >= 0 AND refund_due_fen >= 0 AND company_cost_fen >= 0",
            name=op.f("ck_order_fees_amounts_not_negative"),
        ),
        sa.CheckConstraint(
            "refund_due_fen <= paid_fen", name=op.f("ck_order_fees_refund_within_paid")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_fees_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spec_id"],
            ["service_specs.id"],
            name=op.f("fk_order_fees_spec_id_service_specs"),
            ondelete="SET NULL",
        ),
        _org_fk("order_fees"),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_fees")),
    )
    _org_index("order_fees")

    op.drop_constraint(op.f("ck_order_events_action_known"), "order_events", type_="check")
    op.create_check_constraint(
        op.f("ck_order_events_action_known"), "order_events", f"action IN ({ACTIONS_AFTER})"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_order_events_action_known"), "order_events", type_="check")
    op.create_check_constraint(
        op.f("ck_order_events_action_known"), "order_events", f"action IN ({ACTIONS_BEFORE})"
    )
    for table in (
        "order_fees",
        "order_charges",
        "service_items",
        "stock_movements",
        "material_requisitions",
        "technician_stock",
        "materials",
        "labor_prices",
        "labor_items",
        "service_specs",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION stock_movements_append_only()")
    for name in (
        "deposit_percent_range",
        "deposit_not_negative",
        "prepay_known",
        "charge_kinds_known",
    ):
        op.drop_constraint(op.f(f"ck_order_subtypes_{name}"), "order_subtypes", type_="check")
    for column in ("deposit_percent", "deposit_fen", "prepay", "charge_kinds"):
        op.drop_column("order_subtypes", column)
