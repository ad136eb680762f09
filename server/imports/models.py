"""An import job: one uploaded file, its dry run or real run, progress and report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.imports.rules import JOB_STATUSES, UPLOAD_KINDS
from server.kernel.values import sql_in


class ImportJob(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint(sql_in("status", JOB_STATUSES), name="status_known"),
        CheckConstraint(sql_in("kind", UPLOAD_KINDS), name="kind_known"),
        CheckConstraint("rows_done >= 0 AND rows_total >= 0", name="rows_non_negative"),
        Index("ix_import_jobs_org_id_created_at", "org_id", "created_at"),
        Index("ix_import_jobs_org_id_file_hash", "org_id", "file_hash"),
    )

    created_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(10))  # csv | xlsx
    file_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the bytes uploaded
    file_size: Mapped[int] = mapped_column(BigInteger)
    # The file's name under `<upload_dir>/imports/` (never in the database itself).
    stored_name: Mapped[str] = mapped_column(String(100))
    dry_run: Mapped[bool]
    status: Mapped[str] = mapped_column(String(20))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    # {"rooms": {"created": n, "updated": n, "unchanged": n}, ...}
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # [{"sheet", "row", "column", "message"}], the first MAX_REPORTED_ERRORS of error_count.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    message: Mapped[str] = mapped_column(String(500), default="")
    # A real run of the same bytes that already went in: this one changed nothing.
    duplicate_of_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
