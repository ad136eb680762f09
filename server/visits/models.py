"""Return visits (回访): one task per reason an order asked for a call, and its outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, IdMixin, OrgOwnedMixin, utcnow
from server.kernel.values import sql_in
from server.orders.models import Order
from server.visits.rules import DUE, REASONS, STATUSES


class ReturnVisit(IdMixin, OrgOwnedMixin, Base):
    __tablename__ = "return_visits"
    __table_args__ = (
        CheckConstraint(sql_in("reason", REASONS), name="reason_known"),
        CheckConstraint(sql_in("status", STATUSES), name="status_known"),
        # A due visit has no outcome; a done one says whether the tenant was reached.
        CheckConstraint(f"(status = '{DUE}') = (reached IS NULL)", name="outcome_when_done"),
        # At most one visit due per order: a second reason joins the open one.
        Index(
            "ix_return_visits_order_id_due",
            "order_id",
            unique=True,
            postgresql_where=text(f"status = '{DUE}'"),
        ),
        Index("ix_return_visits_org_id_status_created_at", "org_id", "status", "created_at"),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=DUE)
    reached: Mapped[bool | None]
    satisfied: Mapped[bool | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    reopened: Mapped[bool] = mapped_column(default=False)
    visited_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    visited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(lazy="joined", innerjoin=True)
