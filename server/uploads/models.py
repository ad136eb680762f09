"""Uploaded images: owned by whoever uploaded them until attached to an order, a message, a
complaint or a notice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, OrgOwnedMixin, utcnow
from server.kernel.values import UPLOAD_PURPOSES, sql_in


class Upload(OrgOwnedMixin, Base):
    __tablename__ = "uploads"
    __table_args__ = (
        CheckConstraint(sql_in("purpose", UPLOAD_PURPOSES, nullable=True), name="purpose_known"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        # The per-user quota reads a user's uploads of the last 24 hours.
        Index("ix_uploads_owner_user_id_created_at", "owner_user_id", "created_at"),
        # The sweeper finds uploads nobody attached.
        Index(
            "ix_uploads_created_at",
            "created_at",
            postgresql_where=text("order_id IS NULL AND message_id IS NULL"),
        ),
    )

    # Unguessable: the id is also the file name.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    content_type: Mapped[str] = mapped_column(String(20))
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("order_messages.id", ondelete="SET NULL"), index=True
    )
    # A complaint's photos (投诉建议): seen by their owner and the desk only.
    complaint_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("complaints.id", ondelete="SET NULL"), index=True
    )
    # A notice's images (通知公告, 公告板): seen by the desk and the notice's recipients.
    notice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("notices.id", ondelete="SET NULL"), index=True
    )
    purpose: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
