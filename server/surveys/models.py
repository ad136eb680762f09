"""Surveys (满意度调查), their questions, and the answers: one response per person or room."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, IdMixin, OrgOwnedMixin, utcnow
from server.kernel.values import sql_in
from server.surveys.rules import ANSWER_PER, QUESTION_KINDS, SCALE_MAX, SCALE_MIN, SCOPES, STATUSES


class Survey(IdMixin, OrgOwnedMixin, Base):
    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint(sql_in("status", STATUSES), name="status_known"),
        CheckConstraint(sql_in("answer_per", ANSWER_PER), name="answer_per_known"),
        CheckConstraint(sql_in("scope", SCOPES), name="scope_known"),
    )

    title: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10))
    answer_per: Mapped[str] = mapped_column(String(10))
    scope: Mapped[str] = mapped_column(String(20))
    target_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    questions: Mapped[list[SurveyQuestion]] = relationship(
        order_by="SurveyQuestion.position", lazy="selectin", cascade="all, delete-orphan"
    )


class SurveyQuestion(IdMixin, OrgOwnedMixin, Base):
    __tablename__ = "survey_questions"
    __table_args__ = (
        CheckConstraint(sql_in("kind", QUESTION_KINDS), name="kind_known"),
        UniqueConstraint("survey_id", "position"),
    )

    survey_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("surveys.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=True)
    options: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)


class SurveyResponse(IdMixin, OrgOwnedMixin, Base):
    """One person's (or room's) answers: unique per survey and answer key."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "answer_key"),)

    survey_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("surveys.id", ondelete="CASCADE"), index=True
    )
    answer_key: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rooms.id", ondelete="RESTRICT"))
    community_id: Mapped[int] = mapped_column(BigInteger)
    building_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyAnswer(IdMixin, OrgOwnedMixin, Base):
    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id"),
        CheckConstraint(
            f"scale IS NULL OR scale BETWEEN {SCALE_MIN} AND {SCALE_MAX}", name="scale_range"
        ),
    )

    response_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("survey_responses.id", ondelete="CASCADE")
    )
    question_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    choices: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger), default=None)
    scale: Mapped[int | None] = mapped_column(default=None)
    text: Mapped[str | None] = mapped_column(String(500), default=None)
