"""notices (通知公告) with read receipts, the staff bulletin, satisfaction surveys (满意度调查)

Revision ID: 0018_notices_surveys
Revises: 0017_visits_complaints
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018_notices_surveys"
down_revision = "0017_visits_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("audience", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("target_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "audience IN ('tenant', 'staff')", name=op.f("ck_notices_audience_known")
        ),
        sa.CheckConstraint(
            "scope IN ('org', 'communities', 'buildings', 'rooms', 'departments', 'all_staff')",
            name=op.f("ck_notices_scope_known"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'published', 'withdrawn')",
            name=op.f("ck_notices_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_notices_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_notices_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(
        "ix_notices_due",
        "notices",
        ["publish_at"],
        unique=False,
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.create_index("ix_notices_org_created", "notices", ["org_id", "created_at"], unique=False)
    op.create_index(op.f("ix_notices_org_id"), "notices", ["org_id"], unique=False)
    op.create_table(
        "surveys",
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answer_per", sa.String(length=10), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("target_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "answer_per IN ('person', 'room')", name=op.f("ck_surveys_answer_per_known")
        ),
        sa.CheckConstraint(
            "scope IN ('org', 'communities', 'buildings', 'rooms')",
            name=op.f("ck_surveys_scope_known"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'closed')", name=op.f("ck_surveys_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_surveys_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_surveys_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
    )
    op.create_index(op.f("ix_surveys_org_id"), "surveys", ["org_id"], unique=False)
    op.create_table(
        "survey_questions",
        sa.Column("survey_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("options", postgresql.ARRAY(sa.String(length=100)), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('single', 'multiple', 'scale', 'text')",
            name=op.f("ck_survey_questions_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_survey_questions_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_questions_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_questions")),
        sa.UniqueConstraint(
            "survey_id", "position", name=op.f("uq_survey_questions_survey_id_position")
        ),
    )
    op.create_index(
        op.f("ix_survey_questions_org_id"), "survey_questions", ["org_id"], unique=False
    )
    op.create_index(
        op.f("ix_survey_questions_survey_id"), "survey_questions", ["survey_id"], unique=False
    )
    op.create_table(
        "notice_recipients",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_recipients_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_notice_recipients_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_notice_recipients_room_id_rooms"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notice_recipients_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_recipients")),
        sa.UniqueConstraint(
            "notice_id", "user_id", name=op.f("uq_notice_recipients_notice_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_notice_recipients_org_id"), "notice_recipients", ["org_id"], unique=False
    )
    op.create_index(
        "ix_notice_recipients_user", "notice_recipients", ["user_id", "notice_id"], unique=False
    )
    op.create_table(
        "survey_responses",
        sa.Column("survey_id", sa.BigInteger(), nullable=False),
        sa.Column("answer_key", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_survey_responses_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_survey_responses_room_id_rooms"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_responses_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_survey_responses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint(
            "survey_id", "answer_key", name=op.f("uq_survey_responses_survey_id_answer_key")
        ),
    )
    op.create_index(
        op.f("ix_survey_responses_org_id"), "survey_responses", ["org_id"], unique=False
    )
    op.create_index(
        op.f("ix_survey_responses_survey_id"), "survey_responses", ["survey_id"], unique=False
    )
    op.create_table(
        "survey_answers",
        sa.Column("response_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("choices", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("scale", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "scale IS NULL OR scale BETWEEN 1 AND 5", name=op.f("ck_survey_answers_scale_range")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_survey_answers_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["survey_questions.id"],
            name=op.f("fk_survey_answers_question_id_survey_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_responses.id"],
            name=op.f("fk_survey_answers_response_id_survey_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint(
            "response_id", "question_id", name=op.f("uq_survey_answers_response_id_question_id")
        ),
    )
    op.create_index(op.f("ix_survey_answers_org_id"), "survey_answers", ["org_id"], unique=False)
    op.create_index(
        op.f("ix_survey_answers_question_id"), "survey_answers", ["question_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_answers_question_id"), table_name="survey_answers")
    op.drop_index(op.f("ix_survey_answers_org_id"), table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index(op.f("ix_survey_responses_survey_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_org_id"), table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index("ix_notice_recipients_user", table_name="notice_recipients")
    op.drop_index(op.f("ix_notice_recipients_org_id"), table_name="notice_recipients")
    op.drop_table("notice_recipients")
    op.drop_index(op.f("ix_survey_questions_survey_id"), table_name="survey_questions")
    op.drop_index(op.f("ix_survey_questions_org_id"), table_name="survey_questions")
    op.drop_table("survey_questions")
    op.drop_index(op.f("ix_surveys_org_id"), table_name="surveys")
    op.drop_table("surveys")
    op.drop_index(op.f("ix_notices_org_id"), table_name="notices")
    op.drop_index("ix_notices_org_created", table_name="notices")
    op.drop_index(
        "ix_notices_due", table_name="notices", postgresql_where=sa.text("status = 'scheduled'")
    )
    op.drop_table("notices")
