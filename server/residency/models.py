"""The residency tables: move-ins, transfers (过户), room lineage (拆分 / 合并), payers (收费对象).

Every row is history: nothing here is updated but a payer's end date, nothing is deleted.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.directory.models import Customer, Room
from server.kernel.values import sql_in
from server.residency.rules import LINEAGE_KINDS


class MoveIn(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """业主入伙: a household moved into a room on a day (its head's relation)."""

    __tablename__ = "move_ins"

    room_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rooms.id", ondelete="RESTRICT"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    customer_room_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_rooms.id", ondelete="SET NULL")
    )
    relation: Mapped[str] = mapped_column(String(20))
    effective_on: Mapped[date] = mapped_column(index=True)

    room: Mapped[Room] = relationship(lazy="joined", innerjoin=True)
    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)


class RoomTransfer(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """房屋过户: the room's owners up to `effective_on - 1`, the new owner from `effective_on`."""

    __tablename__ = "room_transfers"

    room_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rooms.id", ondelete="RESTRICT"), index=True
    )
    effective_on: Mapped[date] = mapped_column(index=True)
    # The owner whose relation ended (the first, when the room had several); None: no owner.
    from_customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    to_customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    kept_tenants: Mapped[bool] = mapped_column(default=True)

    room: Mapped[Room] = relationship(lazy="joined", innerjoin=True)
    from_customer: Mapped[Customer | None] = relationship(foreign_keys=[from_customer_id])
    to_customer: Mapped[Customer | None] = relationship(foreign_keys=[to_customer_id])


class RoomLineage(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """One edge of a split or a merge: `from_room` became (part of) `to_room` on `effective_on`."""

    __tablename__ = "room_lineage"
    __table_args__ = (CheckConstraint(sql_in("kind", LINEAGE_KINDS), name="kind_known"),)

    from_room_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rooms.id", ondelete="RESTRICT"), index=True
    )
    to_room_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rooms.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    effective_on: Mapped[date]

    from_room: Mapped[Room] = relationship(foreign_keys=[from_room_id], lazy="joined")
    to_room: Mapped[Room] = relationship(foreign_keys=[to_room_id], lazy="joined")


class RoomPayer(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """收费对象: who pays for a room over a period (a customer related to it then)."""

    __tablename__ = "room_payers"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
    )

    room_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rooms.id", ondelete="RESTRICT"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    start_date: Mapped[date]
    end_date: Mapped[date | None]

    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)
