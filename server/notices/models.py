"""Notices (通知公告, 公告板) and their recipients (one row per user: the read receipt)."""

from __future__ import annotations

from datetime import datetime

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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, utcnow
from server.kernel.values import sql_in
from server.notices.rules import AUDIENCES, SCOPES, STATUSES


class Notice(IdMixin, OrgOwnedMixin, Base):
    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(sql_in("audience", AUDIENCES), name="audience_known"),
        CheckConstraint(sql_in("scope", SCOPES), name="scope_known"),
        CheckConstraint(sql_in("status", STATUSES), name="status_known"),
        # The tick's partial index: scheduled notices by when they are due.
        Index(
            "ix_notices_due",
            "publish_at",
            postgresql_where=text("status = 'scheduled'"),
        ),
        Index("ix_notices_org_created", "org_id", "created_at"),
    )

    audience: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(default=False)
    scope: Mapped[str] = mapped_column(String(20))
    target_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    status: Mapped[str] = mapped_column(String(10))
    publish_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeRecipient(OrgOwnedMixin, Base):
    """One user a notice reached (written once by the fan-out), and when they read it."""

    __tablename__ = "notice_recipients"
    __table_args__ = (
        UniqueConstraint("notice_id", "user_id"),
        Index("ix_notice_recipients_user", "user_id", "notice_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("notices.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # The room (tenants) or department (staff) that brought the notice to them; for the desk.
    room_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("rooms.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
