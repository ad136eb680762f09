"""Organisations (物业公司 / 机构): the tenancy boundary of every row."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin
from server.kernel.values import DEFAULT_GRAB_CAP, MAX_GRAB_CAP


class Organisation(IdMixin, TimestampMixin, Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(
            f"default_grab_cap BETWEEN 0 AND {MAX_GRAB_CAP}", name="default_grab_cap_range"
        ),
        CheckConstraint("reopen_window_days BETWEEN 0 AND 365", name="reopen_window_range"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    default_grab_cap: Mapped[int] = mapped_column(default=DEFAULT_GRAB_CAP)
    # How long after completion a tenant may reopen an order (重新打开).
    reopen_window_days: Mapped[int] = mapped_column(default=7, server_default="7")
