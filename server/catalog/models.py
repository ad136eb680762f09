"""Order types (一级) bound to a department and/or post, and their subtypes (二级)."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

# The fee modes are re-exported: other areas read them here (the rules stay private).
from server.catalog.rules import CHARGE_AFTER_COMPLETION as CHARGE_AFTER_COMPLETION
from server.catalog.rules import CHARGE_ON_ORDER as CHARGE_ON_ORDER
from server.catalog.rules import FEE_MODES
from server.catalog.rules import NO_FEE as NO_FEE
from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.kernel.values import CHARGE_KINDS, PREPAY_FULL, PREPAY_KINDS, sql_in, sql_subset
from server.staff.models import Department, Post

_ALL_KINDS = "{" + ",".join(CHARGE_KINDS) + "}"


class OrderType(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "order_types"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint("sla_hours BETWEEN 1 AND 8760", name="sla_hours_range"),
    )

    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200), default="")
    # The binding decides who may see and grab the type's orders (see domain.eligibility).
    department_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    post_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="RESTRICT"), index=True
    )
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Promised time to completion; past it an open order is overdue (督办).
    sla_hours: Mapped[int] = mapped_column(default=24, server_default="24")

    department: Mapped[Department | None] = relationship(lazy="joined")
    post: Mapped[Post | None] = relationship(lazy="joined")
    subtypes: Mapped[list[OrderSubtype]] = relationship(
        back_populates="order_type", order_by="(OrderSubtype.sort_order, OrderSubtype.id)"
    )


class OrderSubtype(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "order_subtypes"
    __table_args__ = (
        UniqueConstraint("order_type_id", "name"),
        CheckConstraint(sql_in("fee_mode", FEE_MODES), name="fee_mode_known"),
        CheckConstraint("fee_fen >= 0", name="fee_not_negative"),
        CheckConstraint(f"fee_mode <> '{CHARGE_ON_ORDER}' OR fee_fen > 0", name="on_order_fee_set"),
        CheckConstraint(sql_subset("charge_kinds", CHARGE_KINDS), name="charge_kinds_known"),
        CheckConstraint(sql_in("prepay", PREPAY_KINDS), name="prepay_known"),
        CheckConstraint("deposit_fen >= 0", name="deposit_not_negative"),
        CheckConstraint(
            "deposit_percent IS NULL OR deposit_percent BETWEEN 1 AND 100",
            name="deposit_percent_range",
        ),
    )

    order_type_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_types.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200), default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Fees and booking: the switches live here; their rules arrive with payments and slots.
    fee_mode: Mapped[str] = mapped_column(String(30), default=NO_FEE)
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    booking_enabled: Mapped[bool] = mapped_column(default=False)
    # What may be charged on the order (工时 labour, 耗材 materials, 服务项 service items).
    charge_kinds: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=lambda: list(CHARGE_KINDS), server_default=_ALL_KINDS
    )
    # Pay-on-order: a deposit (订金: a fixed amount, or a percentage of the spec price) or the
    # full spec price (全额) before the order enters the pool. `fee_fen` is the price of a
    # subtype without specs (服务规格); with specs, the tenant's chosen spec sets the price.
    prepay: Mapped[str] = mapped_column(String(10), default=PREPAY_FULL, server_default=PREPAY_FULL)
    deposit_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    deposit_percent: Mapped[int | None]

    order_type: Mapped[OrderType] = relationship(back_populates="subtypes")
