"""Work orders (工单), their immutable timeline, and their conversation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.catalog.models import OrderSubtype, OrderType
from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin, utcnow
from server.directory.models import Room
from server.kernel.values import sql_in
from server.orders.rules.states import HELD, Action, Status, sources
from server.orders.rules.values import (
    ACTIONS,
    ACTOR_ROLES,
    AUTHOR_ROLES,
    CHANNELS,
    PAYMENT_STATUSES,
    PRIORITIES,
    PRIORITY_NORMAL,
    STATUSES,
)
from server.orders.rules.values import PAYERS as PAYERS  # re-exported: filing reads it here
from server.staff.models import Staff

_HELD = ", ".join(f"'{s.value}'" for s in sorted(HELD))
_URGEABLE = ", ".join(f"'{s.value}'" for s in sorted(sources(Action.TENANT_URGE)))
# Completed and still owing: the workbench's 待收款 queue (partial index below).
UNPAID_PAYMENT_STATUSES: tuple[str, ...] = ("unpaid", "partially_paid")
_UNPAID = ", ".join(f"'{v}'" for v in UNPAID_PAYMENT_STATUSES)


class Order(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        CheckConstraint(sql_in("status", STATUSES), name="status_known"),
        CheckConstraint(sql_in("priority", PRIORITIES), name="priority_known"),
        CheckConstraint(sql_in("payer", PAYERS), name="payer_known"),
        CheckConstraint(sql_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(sql_in("payment_status", PAYMENT_STATUSES), name="payment_status_known"),
        CheckConstraint("payable_fen >= 0", name="payable_not_negative"),
        CheckConstraint("rating_score IS NULL OR rating_score BETWEEN 1 AND 5", name="score_range"),
        # Whoever holds the order must be named: the grab cap counts these rows.
        CheckConstraint(
            f"status NOT IN ({_HELD}) OR assignee_id IS NOT NULL", name="held_has_assignee"
        ),
        # The grab pool: pending orders of an organisation, most urgent and newest first.
        Index(
            "ix_orders_pool",
            "org_id",
            text("priority DESC"),
            text("created_at DESC"),
            postgresql_where=text(f"status = '{Status.PENDING.value}'"),
        ),
        # What a technician holds (the grab cap count).
        Index("ix_orders_held", "assignee_id", postgresql_where=text(f"status IN ({_HELD})")),
        Index("ix_orders_org_id_created_at", "org_id", "created_at"),
        Index(
            "ix_orders_org_id_slot_start",
            "org_id",
            "slot_start",
            postgresql_where=text("slot_start IS NOT NULL"),
        ),
        Index("ix_orders_org_id_status_due_at", "org_id", "status", "due_at"),
        Index("ix_orders_reporter_user_id_created_at", "reporter_user_id", "created_at"),
        # The workbench's queues (工作台): exact counts and first pages read these partial
        # indexes (the statuses are literals in the queries, so generic plans use them).
        Index(
            "ix_orders_pending_created_at",
            "org_id",
            "created_at",
            postgresql_where=text(f"status = '{Status.PENDING.value}'"),
        ),
        Index(
            "ix_orders_assigned_assigned_at",
            "org_id",
            "assigned_at",
            postgresql_where=text(f"status = '{Status.ASSIGNED.value}'"),
        ),
        Index(
            "ix_orders_on_hold_created_at",
            "org_id",
            "created_at",
            postgresql_where=text(f"status = '{Status.ON_HOLD.value}'"),
        ),
        Index(
            "ix_orders_completed_unpaid",
            "org_id",
            "completed_at",
            postgresql_where=text(
                f"status = '{Status.COMPLETED.value}' AND payment_status IN ({_UNPAID})"
            ),
        ),
        Index(
            "ix_orders_tenant_urged",
            "org_id",
            "last_tenant_urged_at",
            postgresql_where=text(f"last_tenant_urged_at IS NOT NULL AND status IN ({_URGEABLE})"),
        ),
    )

    number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10), default=PRIORITY_NORMAL)
    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("communities.id", ondelete="RESTRICT"), index=True
    )
    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("buildings.id", ondelete="RESTRICT"), index=True
    )
    room_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rooms.id", ondelete="RESTRICT"), index=True
    )
    order_type_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_types.id", ondelete="RESTRICT"), index=True
    )
    subtype_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("order_subtypes.id", ondelete="RESTRICT")
    )
    description: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(20))
    # Who filed it: the tenant themself, or a staff member on their behalf.
    reporter_user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    channel: Mapped[str] = mapped_column(String(10), default="tenant")
    payer: Mapped[str] = mapped_column(String(10), default="tenant")
    assignee_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("staff.id", ondelete="RESTRICT")
    )
    assigned_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    slot_date: Mapped[date | None]
    slot_start: Mapped[datetime | None]
    slot_end: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(Text, default="")
    payable_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_status: Mapped[str] = mapped_column(String(20), default="none")
    rating_score: Mapped[int | None]
    rating_comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[datetime | None]
    # A low score asks the desk for a follow-up visit (回访).
    follow_up_required: Mapped[bool] = mapped_column(default=False)
    reopen_count: Mapped[int] = mapped_column(default=0)
    # 催单: the tenant's last urge (a conditional UPDATE on it lets one of two racing urges
    # through) and how many times they urged.
    last_tenant_urged_at: Mapped[datetime | None]
    tenant_urge_count: Mapped[int] = mapped_column(default=0, server_default="0")

    room: Mapped[Room] = relationship(lazy="joined", innerjoin=True)
    order_type: Mapped[OrderType] = relationship(lazy="joined", innerjoin=True)
    subtype: Mapped[OrderSubtype] = relationship(lazy="joined", innerjoin=True)
    assignee: Mapped[Staff | None] = relationship(lazy="joined")


class OrderEvent(IdMixin, OrgOwnedMixin, Base):
    """One step of an order's history. Rows are never changed (a trigger refuses it)."""

    __tablename__ = "order_events"
    __table_args__ = (
        CheckConstraint(sql_in("action", ACTIONS), name="action_known"),
        CheckConstraint(sql_in("from_status", STATUSES, nullable=True), name="from_status_known"),
        CheckConstraint(sql_in("to_status", STATUSES, nullable=True), name="to_status_known"),
        CheckConstraint(sql_in("actor_role", ACTOR_ROLES), name="actor_role_known"),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    actor_role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderMessage(IdMixin, OrgOwnedMixin, Base):
    __tablename__ = "order_messages"
    __table_args__ = (
        CheckConstraint(sql_in("author_role", AUTHOR_ROLES), name="author_role_known"),
    )

    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    author_user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    author_role: Mapped[str] = mapped_column(String(20))
    author_name: Mapped[str] = mapped_column(String(50), default="")
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderNumberCounter(Base):
    """Per organisation and local day: the last order number handed out."""

    __tablename__ = "order_number_counters"
    __table_args__ = (CheckConstraint("last > 0", name="last_positive"),)

    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    last: Mapped[int]
