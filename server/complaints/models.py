"""Complaints and suggestions (投诉建议) and their conversation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.complaints.rules import (
    AUTHOR_ROLES,
    CATEGORIES,
    DEFAULT_SEVERITY,
    KINDS,
    OPEN,
    SEVERITIES,
    STATUSES,
)
from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin, utcnow
from server.kernel.values import sql_in
from server.staff.models import Department, Staff


class Complaint(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(sql_in("kind", KINDS), name="kind_known"),
        CheckConstraint(sql_in("category", CATEGORIES, nullable=True), name="category_known"),
        CheckConstraint(sql_in("severity", SEVERITIES), name="severity_known"),
        CheckConstraint(sql_in("status", STATUSES), name="status_known"),
        CheckConstraint("alert_level BETWEEN 0 AND 3", name="alert_level_range"),
        CheckConstraint("rating_score IS NULL OR rating_score BETWEEN 1 AND 5", name="score_range"),
        # Nothing is closed without a reply to the tenant.
        CheckConstraint(
            "status <> 'closed' OR desk_replied_at IS NOT NULL", name="closed_after_reply"
        ),
        Index("ix_complaints_org_id_status_created_at", "org_id", "status", "created_at"),
        Index("ix_complaints_tenant_user_id_created_at", "tenant_user_id", "created_at"),
    )

    tenant_user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    # The technician it is about (never told who complained).
    staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[str | None] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10), default=DEFAULT_SEVERITY)
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    department_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("departments.id", ondelete="SET NULL")
    )
    assignee_staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("staff.id", ondelete="SET NULL")
    )
    # Deadline milestones (SLA business time from filing): remind, due, escalate.
    remind_at: Mapped[datetime]
    due_at: Mapped[datetime]
    escalate_at: Mapped[datetime]
    alert_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    desk_replied_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    rating_score: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None]

    tenant: Mapped[User] = relationship(foreign_keys=[tenant_user_id], lazy="joined")
    staff: Mapped[Staff | None] = relationship(foreign_keys=[staff_id], lazy="joined")
    assignee: Mapped[Staff | None] = relationship(foreign_keys=[assignee_staff_id], lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")


class ComplaintReply(IdMixin, OrgOwnedMixin, Base):
    __tablename__ = "complaint_replies"
    __table_args__ = (CheckConstraint(sql_in("author_role", AUTHOR_ROLES), name="author_known"),)

    complaint_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    author_role: Mapped[str] = mapped_column(String(10))
    author_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
