"""What a repair may cost and what it did cost.

Catalogue: service specs per subtype (服务规格), labour items (工时) with per-department prices,
materials (耗材) with the store's stock and each technician's, service items (服务项).
Movements of stock are an append-only ledger. Each order has its charge lines and one fee row
(the chosen spec, what was paid up front, and the settlement).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.charges.rules import (
    LEDGER_KINDS,
    MAX_PRICE_FEN,
    MAX_QUANTITY,
    MOVEMENT_REASONS,
    REQUISITION_PENDING,
    REQUISITION_STATUSES,
)
from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin, utcnow
from server.kernel.values import CHARGE_KINDS, PREPAY_KINDS, sql_in

_PRICE_RANGE = f"BETWEEN 0 AND {MAX_PRICE_FEN}"


class ServiceSpec(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A priced option of a pay-on-order subtype the tenant picks when filing (服务规格)."""

    __tablename__ = "service_specs"
    __table_args__ = (
        UniqueConstraint("subtype_id", "name"),
        CheckConstraint(f"price_fen {_PRICE_RANGE}", name="price_range"),
    )

    subtype_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_subtypes.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200), default="")
    price_fen: Mapped[int] = mapped_column(BigInteger)
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class LaborItem(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A kind of work (工时), e.g. 一般维修 per hour; priced per department of the technician."""

    __tablename__ = "labor_items"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint(f"price_fen {_PRICE_RANGE}", name="price_range"),
    )

    name: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(10))
    # The price for a technician whose department has no price of its own.
    price_fen: Mapped[int] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(default=True)

    prices: Mapped[list[LaborPrice]] = relationship(
        order_by="LaborPrice.department_id", lazy="selectin", viewonly=True
    )


class LaborPrice(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """What a labour item costs when a technician of this department does the work."""

    __tablename__ = "labor_prices"
    __table_args__ = (
        UniqueConstraint("labor_item_id", "department_id"),
        CheckConstraint(f"price_fen {_PRICE_RANGE}", name="price_range"),
    )

    labor_item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("labor_items.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    price_fen: Mapped[int] = mapped_column(BigInteger)


class Material(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A consumable (耗材) with its price and the quantity in the organisation's store."""

    __tablename__ = "materials"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint(f"price_fen {_PRICE_RANGE}", name="price_range"),
        CheckConstraint("store_qty >= 0", name="store_not_negative"),
    )

    name: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(10))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    # Balances add up movements without end: 64-bit, so no run of stock-ins can overflow them.
    store_qty: Mapped[int] = mapped_column(BigInteger, default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class TechnicianStock(IdMixin, OrgOwnedMixin, Base):
    """How much of a material a technician carries."""

    __tablename__ = "technician_stock"
    __table_args__ = (
        UniqueConstraint("material_id", "staff_id"),
        CheckConstraint("qty >= 0", name="qty_not_negative"),
    )

    material_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("materials.id", ondelete="RESTRICT")
    )
    staff_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("staff.id", ondelete="RESTRICT"), index=True
    )
    qty: Mapped[int] = mapped_column(BigInteger, default=0)


class StockMovement(IdMixin, OrgOwnedMixin, Base):
    """One movement of stock: who, when, why, which order. Rows are only ever added."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(sql_in("reason", MOVEMENT_REASONS), name="reason_known"),
        CheckConstraint("store_delta <> 0 OR tech_delta <> 0", name="moves_something"),
        CheckConstraint("tech_delta = 0 OR staff_id IS NOT NULL", name="tech_named"),
        Index("ix_stock_movements_material_id_created_at", "material_id", "created_at"),
    )

    material_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("materials.id", ondelete="RESTRICT")
    )
    reason: Mapped[str] = mapped_column(String(20))
    store_delta: Mapped[int] = mapped_column(Integer, default=0)
    tech_delta: Mapped[int] = mapped_column(Integer, default=0)
    staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("staff.id", ondelete="RESTRICT"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="RESTRICT"), index=True
    )
    requisition_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("material_requisitions.id", ondelete="RESTRICT")
    )
    actor_user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Requisition(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A technician asks the store for material (耗材领用); the desk approves or rejects."""

    __tablename__ = "material_requisitions"
    __table_args__ = (
        CheckConstraint(sql_in("status", REQUISITION_STATUSES), name="status_known"),
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_QUANTITY}", name="quantity_range"),
    )

    staff_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("staff.id", ondelete="RESTRICT"), index=True
    )
    material_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("materials.id", ondelete="RESTRICT")
    )
    quantity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default=REQUISITION_PENDING)
    decided_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(String(200), default="")


class ServiceItem(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A fixed-price item (服务项), e.g. 上门费."""

    __tablename__ = "service_items"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint(f"price_fen {_PRICE_RANGE}", name="price_range"),
    )

    name: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(10), default="次")
    price_fen: Mapped[int] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(default=True)


class OrderCharge(IdMixin, OrgOwnedMixin, Base):
    """One charge line of an order, priced by the server when it was added."""

    __tablename__ = "order_charges"
    __table_args__ = (
        CheckConstraint(sql_in("kind", CHARGE_KINDS), name="kind_known"),
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_QUANTITY}", name="quantity_range"),
        CheckConstraint(f"unit_price_fen {_PRICE_RANGE}", name="price_range"),
        CheckConstraint("amount_fen = unit_price_fen * quantity", name="amount_is_price_times_qty"),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    # The labour item, material or service item (by kind); name and price are copied.
    item_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(10))
    unit_price_fen: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Who added it, and (for labour) the department whose price applied.
    staff_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("staff.id", ondelete="RESTRICT"))
    department_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("departments.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderFee(OrgOwnedMixin, Base):
    """An order's money: the spec chosen at filing, what was paid, and the settlement."""

    __tablename__ = "order_fees"
    __table_args__ = (
        CheckConstraint(sql_in("prepay", PREPAY_KINDS, nullable=True), name="prepay_known"),
        CheckConstraint(
            "spec_price_fen >= 0 AND prepay_fen >= 0 AND paid_fen >= 0 AND discount_fen >= 0"
            " AND total_fen >= 0 AND refund_due_fen >= 0 AND company_cost_fen >= 0",
            name="amounts_not_negative",
        ),
        CheckConstraint("refund_due_fen <= paid_fen", name="refund_within_paid"),
        CheckConstraint(
            "refunded_fen >= 0 AND refunded_fen <= paid_fen", name="refunded_within_paid"
        ),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    spec_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("service_specs.id", ondelete="SET NULL")
    )
    spec_name: Mapped[str] = mapped_column(String(50), default="")
    spec_price_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    prepay: Mapped[str | None] = mapped_column(String(10))
    prepay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the tenant has paid in all, and what of it has been refunded (both only grow).
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # The desk's waiver (减免) or discount (优惠), with its reason on the timeline.
    waived: Mapped[bool] = mapped_column(Boolean, default=False)
    discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # The settlement at completion (or cancellation).
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    company_cost_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_due_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    settled_at: Mapped[datetime | None]


class LedgerEntry(IdMixin, OrgOwnedMixin, Base):
    """One movement of an order's money, append-only, in signed fen: what the tenant owes goes
    up with a charge or a refund paid out, down with a payment, a waiver, the company's share
    or a cancellation. The entries of an order sum to what the tenant still owes (negative:
    what is owed back). Payments and refunds are keyed by their provider references
    (`reference`), so a repeated notification cannot book the same money twice.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(sql_in("kind", LEDGER_KINDS), name="kind_known"),
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        Index(
            "uq_ledger_entries_reference",
            "kind",
            "reference",
            unique=True,
            postgresql_where=text("reference IS NOT NULL"),
        ),
        Index("ix_ledger_entries_org_created", "org_id", "created_at"),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(15))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # payment: out_trade_no; refund: out_refund_no; None for the settlement's own rows.
    reference: Mapped[str | None] = mapped_column(String(64), default=None)
    channel: Mapped[str] = mapped_column(String(10), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    actor_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
