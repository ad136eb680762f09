"""Reconciliation runs (one per organisation, channel and bill date, re-used by a re-run) and
the discrepancies each run found."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin, utcnow
from server.kernel.values import sql_in
from server.reconciliation.rules import ACTIONS, CHANNELS, DISCREPANCY_KINDS, QUEUED, RUN_STATUSES


class ReconciliationRun(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """One day's bill of one channel, reconciled (or being reconciled) for one organisation."""

    __tablename__ = "reconciliation_runs"
    __table_args__ = (
        UniqueConstraint("org_id", "channel", "bill_date"),
        CheckConstraint(sql_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(sql_in("status", RUN_STATUSES), name="status_known"),
        CheckConstraint("rows_seen >= 0", name="rows_seen_not_negative"),
        Index("ix_reconciliation_runs_status_bill_date", "status", "bill_date"),
    )

    channel: Mapped[str] = mapped_column(String(10))
    bill_date: Mapped[date] = mapped_column(Date)  # a Beijing date
    # The merchant whose bill this is (None: the WECHATPAY_* / ALIPAY_* default account).
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("payment_accounts.id", ondelete="RESTRICT"), default=None
    )
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    rows_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    # Counts and sums: matched, ours vs the bill's, fees; see server.reconciliation.matching.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(String(200), default="")
    requested_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class ReconciliationDiscrepancy(IdMixin, OrgOwnedMixin, Base):
    """One difference between the bill and our books (a re-run replaces a run's rows)."""

    __tablename__ = "reconciliation_discrepancies"
    __table_args__ = (
        CheckConstraint(sql_in("kind", DISCREPANCY_KINDS), name="kind_known"),
        CheckConstraint(sql_in("action", ACTIONS, nullable=True), name="action_known"),
        Index("ix_reconciliation_discrepancies_run_id_kind", "run_id", "kind"),
    )

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("reconciliation_runs.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(30))
    out_trade_no: Mapped[str] = mapped_column(String(64), default="")
    out_refund_no: Mapped[str] = mapped_column(String(64), default="")
    provider_txn_id: Mapped[str] = mapped_column(String(64), default="")
    ours_fen: Mapped[int | None] = mapped_column(BigInteger, default=None)
    theirs_fen: Mapped[int | None] = mapped_column(BigInteger, default=None)
    detail: Mapped[str] = mapped_column(String(200), default="")
    # What the run did by itself (None: left to the desk) and whether that settled it.
    action: Mapped[str | None] = mapped_column(String(20), default=None)
    resolved: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
