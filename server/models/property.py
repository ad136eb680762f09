"""The property tree: communities (小区/项目) → buildings (楼栋) → units (单元) → rooms (房间)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin

ORIENTATIONS = (
    "east",
    "south",
    "west",
    "north",
    "southeast",
    "southwest",
    "northeast",
    "northwest",
    "north_south",
    "east_west",
)


class Community(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")


class Building(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "buildings"
    __table_args__ = (
        UniqueConstraint("community_id", "name"),
        CheckConstraint("floors IS NULL OR floors BETWEEN 1 AND 300", name="floors_range"),
    )

    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("communities.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))
    floors: Mapped[int | None]

    community: Mapped[Community] = relationship(lazy="joined", innerjoin=True)


class Unit(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "name"),)

    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("buildings.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))


class Room(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "rooms"
    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        CheckConstraint(
            "building_area IS NULL OR building_area > 0", name="building_area_positive"
        ),
        CheckConstraint("charge_area IS NULL OR charge_area > 0", name="charge_area_positive"),
        CheckConstraint(
            "orientation IS NULL OR orientation IN ("
            + ", ".join(f"'{o}'" for o in ORIENTATIONS)
            + ")",
            name="orientation_known",
        ),
    )

    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("communities.id", ondelete="RESTRICT"), index=True
    )
    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("buildings.id", ondelete="RESTRICT"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(50))
    floor: Mapped[int]
    # Areas to 0.01 m² exactly: NUMERIC, never float.
    building_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    charge_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    layout: Mapped[str] = mapped_column(String(50), default="")
    orientation: Mapped[str | None] = mapped_column(String(20))

    community: Mapped[Community] = relationship(lazy="joined", innerjoin=True)
    building: Mapped[Building] = relationship(lazy="joined", innerjoin=True)
    unit: Mapped[Unit | None] = relationship(lazy="joined")
