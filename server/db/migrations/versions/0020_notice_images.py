"""notice images: `uploads.notice_id` and the upload purpose `notice`

A notice (通知公告, 公告板) carries up to 9 images, attached at publishing like a complaint's
photos: the upload row points at its notice (SET NULL if the notice row ever goes, as for
complaints) and is marked `purpose = 'notice'`.

Revision ID: 0020_notice_images
Revises: 0019_dashboard
Create Date: 2026-12-07 08:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.kernel.values import sql_in

revision = "0020_notice_images"
down_revision = "0019_dashboard"
branch_labels = None
depends_on = None

_PURPOSES_BEFORE = ("report", "completion", "message")
_PURPOSES_AFTER = (*_PURPOSES_BEFORE, "notice")


def _purpose_check(purposes: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_uploads_purpose_known"), "uploads", type_="check")
    op.create_check_constraint(
        op.f("ck_uploads_purpose_known"), "uploads", sql_in("purpose", purposes, nullable=True)
    )


def upgrade() -> None:
    op.add_column("uploads", sa.Column("notice_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_uploads_notice_id_notices"),
        "uploads",
        "notices",
        ["notice_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_uploads_notice_id"), "uploads", ["notice_id"])
    _purpose_check(_PURPOSES_AFTER)


def downgrade() -> None:
    op.execute("UPDATE uploads SET purpose = NULL WHERE purpose = 'notice'")
    _purpose_check(_PURPOSES_BEFORE)
    op.drop_index(op.f("ix_uploads_notice_id"), table_name="uploads")
    op.drop_constraint(op.f("fk_uploads_notice_id_notices"), "uploads", type_="foreignkey")
    op.drop_column("uploads", "notice_id")
