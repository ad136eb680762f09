"""Staff: departments (部门), posts (岗位) and the people who work orders."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.kernel.values import MAX_GRAB_CAP

_CAP_RANGE = f"grab_cap IS NULL OR grab_cap BETWEEN 0 AND {MAX_GRAB_CAP}"


class Department(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint(_CAP_RANGE, name="grab_cap_range"),
    )

    name: Mapped[str] = mapped_column(String(50))
    # The department's default grab cap; NULL falls back to the organisation default.
    grab_cap: Mapped[int | None]
    # 部门负责人: told with the pool when the desk urges (督办) an order nobody holds. The
    # foreign key closes a cycle with staff.department_id: created after both tables.
    lead_staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("staff.id", ondelete="SET NULL", use_alter=True)
    )


class Post(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    name: Mapped[str] = mapped_column(String(50))


class Staff(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(_CAP_RANGE, name="grab_cap_range"),)

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    department_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    post_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="RESTRICT"), index=True
    )
    employee_no: Mapped[str] = mapped_column(String(32), default="")
    # Per-technician override of the grab cap; NULL falls back to the department's.
    grab_cap: Mapped[int | None]
    on_duty: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    department: Mapped[Department | None] = relationship(
        lazy="joined", foreign_keys="Staff.department_id"
    )
    post: Mapped[Post | None] = relationship(lazy="joined")
