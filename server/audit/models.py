"""The audit log: one row per login or key operation; rows are never changed (a trigger
refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.audit.rules import ACTOR_ROLES, KINDS, ROLE_LABELS, TARGET_TYPES, device_of
from server.db.base import Base, IdMixin
from server.kernel.values import sql_in


class AuditEntry(IdMixin, Base):
    """日志: who (user, role), what (kind, target, summary, masked data), when, from where.

    `org_id` is null only for a failed login naming no known organisation. The actor is kept
    by id without a foreign key: the log outlives the accounts it names.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(sql_in("kind", tuple(KINDS)), name="kind_known"),
        CheckConstraint(sql_in("actor_role", ACTOR_ROLES, nullable=True), name="actor_role_known"),
        Index("ix_audit_log_org_id_at", "org_id", "at"),
        Index("ix_audit_log_org_id_kind_at", "org_id", "kind", "at"),
        Index("ix_audit_log_org_id_actor_user_id_at", "org_id", "actor_user_id", "at"),
        Index("ix_audit_log_org_id_target", "org_id", "target_type", "target_id"),
    )

    org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    at: Mapped[datetime]
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(50), default="")
    kind: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(30), default="")
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(String(500), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    client_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def actor_role_label(self) -> str:
        return ROLE_LABELS.get(self.actor_role or "", self.actor_role or "")

    @property
    def target_type_label(self) -> str:
        return TARGET_TYPES.get(self.target_type, self.target_type)

    @property
    def device(self) -> str:
        return device_of(self.user_agent)
