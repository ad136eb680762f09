"""Order types (一级) bound to a department and/or post, and their subtypes (二级)."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.catalog.rules import CHARGE_ON_ORDER, FEE_MODES, NO_FEE
from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.kernel.values import sql_in
from server.staff.models import Department, Post


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

    order_type: Mapped[OrderType] = relationship(back_populates="subtypes")
