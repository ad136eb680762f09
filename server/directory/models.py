"""The directory's tables.

The property tree (communities → buildings → units → rooms), customers (a person or a
company), their contacts, and which rooms they hold.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.directory.rules import (
    CONTACT_RELATIONS,
    CUSTOMER_KINDS,
    ID_TYPES,
    ORIENTATIONS,
    ROOM_RELATIONS,
    ROOM_USES,
    pinyin_keys,
)
from server.kernel.values import sql_in


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
            sql_in("orientation", ORIENTATIONS, nullable=True), name="orientation_known"
        ),
        CheckConstraint(sql_in("use", ROOM_USES, nullable=True), name="use_known"),
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
    # 用途 (住宅 / 商铺 / 车位 / 车库), 交付日期, 入住日期: recorded at onboarding (imports).
    use: Mapped[str | None] = mapped_column(String(10))
    delivered_on: Mapped[date | None]
    moved_in_on: Mapped[date | None]
    # 停用: split into or merged with other rooms from this day (server.residency); its
    # orders and history stay, no new order is filed for it and tenants no longer see it.
    retired_on: Mapped[date | None]

    community: Mapped[Community] = relationship(lazy="joined", innerjoin=True)
    building: Mapped[Building] = relationship(lazy="joined", innerjoin=True)
    unit: Mapped[Unit | None] = relationship(lazy="joined")


class Customer(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(sql_in("kind", CUSTOMER_KINDS), name="kind_known"),
        CheckConstraint(sql_in("id_type", ID_TYPES, nullable=True), name="id_type_known"),
        # Imports find customers by ID number, else by phone (their natural keys).
        Index("ix_customers_org_id_id_number", "org_id", "id_number"),
        Index("ix_customers_org_id_phone", "org_id", "phone"),
    )

    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    # 身份证号 for a person, 统一社会信用代码 for a company; masked in every list.
    id_number: Mapped[str | None] = mapped_column(String(32))
    remark: Mapped[str] = mapped_column(String(500), default="")
    # 证件类型 and 紧急联系人 (name, phone), as the onboarding sheets carry them.
    id_type: Mapped[str | None] = mapped_column(String(20))
    emergency_name: Mapped[str] = mapped_column(String(50), default="", server_default="")
    emergency_phone: Mapped[str | None] = mapped_column(String(20))
    # The name's pinyin initials and full pinyin (张三 → zs, zhangsan) for the search box: kept
    # with the name by `_name_pinyin` below (every ORM writer) and by the batch import.
    name_initials: Mapped[str] = mapped_column(String(200), default="", server_default="")
    name_pinyin: Mapped[str] = mapped_column(String(200), default="", server_default="")

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", order_by="Contact.id", cascade="all, delete-orphan"
    )
    rooms: Mapped[list[CustomerRoom]] = relationship(
        back_populates="customer", order_by="CustomerRoom.id", cascade="all, delete-orphan"
    )

    @validates("name")
    def _name_pinyin(self, _key: str, name: str) -> str:
        self.name_initials, self.name_pinyin = pinyin_keys(name)
        return name


class Contact(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A person who may act for a customer: the owner, a family member, a company employee."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("customer_id", "phone"),
        CheckConstraint(sql_in("relation", CONTACT_RELATIONS), name="relation_known"),
        # Phone binding and tenant access look contacts up by (org, phone).
        Index("ix_contacts_org_id_phone", "org_id", "phone"),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20))
    relation: Mapped[str] = mapped_column(String(20))

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class CustomerRoom(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A customer's relation to a room (owner / tenant / resident) over a period of time."""

    __tablename__ = "customer_rooms"
    __table_args__ = (
        UniqueConstraint("customer_id", "room_id", "relation", "start_date"),
        CheckConstraint(sql_in("relation", ROOM_RELATIONS), name="relation_known"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rooms.id", ondelete="RESTRICT"), index=True
    )
    relation: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    # 家庭成员: a member's own relation ('resident') points at the head's (owner / tenant)
    # relation row, with what they are to the head (配偶, 子女 …); heads have neither.
    household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_rooms.id", ondelete="SET NULL"), index=True
    )
    household_label: Mapped[str] = mapped_column(String(20), default="", server_default="")

    customer: Mapped[Customer] = relationship(back_populates="rooms")
    room: Mapped[Room] = relationship(lazy="joined", innerjoin=True)
