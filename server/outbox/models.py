"""The outbox table: one row per side effect, written in the transaction that causes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin
from server.kernel.values import sql_in
from server.outbox.rules import DEDUPE_KEY_LENGTH, JOB_NAME_LENGTH, STATUSES


class OutboxItem(IdMixin, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(sql_in("status", STATUSES), name="status_known"),
        CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_counted"),
        # A claimed item always says until when its worker holds it.
        CheckConstraint(
            "status <> 'delivering' OR lease_until IS NOT NULL", name="delivering_has_lease"
        ),
        # What the delivery and the sweeper look for: due items, and claims whose worker died.
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_leases",
            "lease_until",
            postgresql_where=text("status = 'delivering'"),
        ),
        # The operators' list: an organisation's items by status, newest first.
        Index("ix_outbox_org_id_status_id", "org_id", "status", "id"),
    )

    # Nullable: some work belongs to no organisation (housekeeping across all of them).
    org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    job: Mapped[str] = mapped_column(String(JOB_NAME_LENGTH))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))
    # Attempts started so far (a claim counts one); never reset, so it also fences a claim.
    attempts: Mapped[int] = mapped_column(default=0)
    # Attempts allowed: the job's retries + 1, raised by an operator's retry.
    max_attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Optional: a second enqueue with the same key is the same item.
    dedupe_key: Mapped[str | None] = mapped_column(String(DEDUPE_KEY_LENGTH), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
