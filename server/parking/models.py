"""Parking's tables: spaces (车位), who holds them over time (产权 / 租用), vehicles (车辆)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.directory.models import Community, Customer
from server.kernel.values import sql_in
from server.parking.rules import (
    DEFAULT_REMIND_DAYS,
    HOLDING_KINDS,
    MAX_REMIND_DAYS,
    PLATE_KINDS,
    RENTED,
    SPACE_ACTIVE,
    SPACE_KINDS,
    SPACE_STATUSES,
)


class ParkingSpace(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "parking_spaces"
    __table_args__ = (
        UniqueConstraint("community_id", "number"),
        CheckConstraint(sql_in("kind", SPACE_KINDS), name="kind_known"),
        CheckConstraint(sql_in("status", SPACE_STATUSES), name="status_known"),
    )

    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("communities.id", ondelete="RESTRICT"), index=True
    )
    # 车位编号, unique in its community (stored upper case: B2-015).
    number: Mapped[str] = mapped_column(String(32))
    # 区域: a building, area or zone label (地下二层 B 区, 3 栋旁).
    area: Mapped[str] = mapped_column(String(50), default="")
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default=SPACE_ACTIVE)
    remark: Mapped[str] = mapped_column(String(500), default="")

    community: Mapped[Community] = relationship(lazy="joined", innerjoin=True)


class SpaceHolding(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A customer's relation to a space over a period: owned (产权) or rented (租用).

    Never deleted: ending a relation sets its `end_date` (and `ended_at`, when the desk ended
    it before its term). Periods of one space never overlap: a writer locks the space row and
    checks (`server.parking.spaces.assign`).
    """

    __tablename__ = "parking_space_holdings"
    __table_args__ = (
        CheckConstraint(sql_in("kind", HOLDING_KINDS), name="kind_known"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
        CheckConstraint(f"kind <> '{RENTED}' OR end_date IS NOT NULL", name="rental_has_end"),
        CheckConstraint(f"remind_days BETWEEN 0 AND {MAX_REMIND_DAYS}", name="remind_days_range"),
        Index("ix_parking_space_holdings_space_id_start_date", "space_id", "start_date"),
        # The reminder job's rows: rentals not ended early and not yet reminded.
        Index(
            "ix_parking_space_holdings_reminder",
            "end_date",
            postgresql_where=text(
                f"kind = '{RENTED}' AND ended_at IS NULL AND reminded_at IS NULL"
            ),
        ),
    )

    space_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("parking_spaces.id", ondelete="RESTRICT")
    )
    # History is kept: a customer with parking history cannot be deleted (409 in_use).
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date]
    # Owned: usually open (None). Rented: the contract's end, then the day it was ended.
    end_date: Mapped[date | None]
    remind_days: Mapped[int] = mapped_column(SmallInteger, default=DEFAULT_REMIND_DAYS)
    contract_number: Mapped[str] = mapped_column(String(50), default="")
    remark: Mapped[str] = mapped_column(String(500), default="")
    # Set when the desk ended the relation (end_date then says on which day).
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str] = mapped_column(String(200), default="")
    # The expiry reminder was sent (once per contract; a renewal clears it).
    reminded_at: Mapped[datetime | None]

    space: Mapped[ParkingSpace] = relationship(lazy="joined", innerjoin=True)
    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)


class Vehicle(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "vehicles"
    __table_args__ = (
        CheckConstraint(sql_in("plate_kind", PLATE_KINDS), name="plate_kind_known"),
        # One active vehicle per plate in an organisation; removed ones stay as history.
        Index(
            "uq_vehicles_org_id_plate_active",
            "org_id",
            "plate",
            unique=True,
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    plate: Mapped[str] = mapped_column(String(10))
    plate_kind: Mapped[str] = mapped_column(String(20))
    # 品牌车型 and 颜色, as the owner says them.
    model: Mapped[str] = mapped_column(String(50), default="")
    colour: Mapped[str] = mapped_column(String(20), default="")
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    space_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("parking_spaces.id", ondelete="RESTRICT"), index=True
    )
    remark: Mapped[str] = mapped_column(String(500), default="")
    # 注销: the vehicle left (sold, moved out); the row stays, the plate is free again.
    removed_at: Mapped[datetime | None]
    removed_on: Mapped[date | None]
    remove_reason: Mapped[str] = mapped_column(String(200), default="")

    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)
    space: Mapped[ParkingSpace | None] = relationship(lazy="joined")
