"""Schemas for satisfaction surveys (满意度调查): building, answering, results, export."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema, TrimmedString, name_field
from server.notices.rules import MAX_TARGETS
from server.surveys.rules import (
    ANSWER_PER,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    MAX_TEXT,
    QUESTION_KINDS,
    SCALE_MAX,
    SCALE_MIN,
    SCOPES,
    STATUSES,
)

EXPORT_FORMATS = ("csv", "xlsx")


class QuestionCreateSchema(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(QUESTION_KINDS),
        metadata={"description": "single 单选，multiple 多选，scale 1–5 分，text 文字"},
    )
    text = name_field(200)
    required = fields.Boolean(load_default=True, metadata={"description": "是否必答"})
    options = fields.List(
        TrimmedString(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=MAX_OPTIONS),
        metadata={"description": "选择题的选项（按顺序，答题时用下标 0、1、2…）"},
    )


class SurveyCreateSchema(Schema):
    title = name_field(40)
    description = TrimmedString(load_default="", validate=validate.Length(max=500))
    answer_per = fields.String(
        load_default="person",
        validate=validate.OneOf(ANSWER_PER),
        metadata={"description": "person 每人一份（默认）；room 每个房间一份"},
    )
    scope = fields.String(
        required=True,
        validate=validate.OneOf(SCOPES),
        metadata={
            "description": "org 全体、communities 指定小区、buildings 指定楼栋、rooms 指定房间"
        },
    )
    target_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=MAX_TARGETS),
    )
    questions = fields.List(
        fields.Nested(QuestionCreateSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_QUESTIONS),
    )


class SurveyQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(STATUSES), load_default=None)


class QuestionSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    kind = fields.String(validate=validate.OneOf(QUESTION_KINDS))
    text = fields.String()
    required = fields.Boolean()
    options = fields.List(fields.String())


class SurveySchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "draft 草稿，open 进行中，closed 已结束"},
    )
    answer_per = fields.String(validate=validate.OneOf(ANSWER_PER))
    scope = fields.String(validate=validate.OneOf(SCOPES))
    target_ids = fields.List(fields.Integer())
    opened_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    questions = fields.List(fields.Nested(QuestionSchema))


class TenantSurveySchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    answer_per = fields.String(validate=validate.OneOf(ANSWER_PER))
    opened_at = LocalDateTime(allow_none=True)
    questions = fields.List(fields.Nested(QuestionSchema))
    room_ids = fields.List(fields.Integer(), metadata={"description": "我可为之填写的房间"})
    answered_room_ids = fields.List(
        fields.Integer(), metadata={"description": "按房间填写时：已填写过的房间"}
    )
    answered = fields.Boolean(metadata={"description": "我（或我的每个房间）已填写"})


class AnswerItemSchema(Schema):
    question_id = fields.Integer(required=True)
    choice = fields.Integer(
        load_default=None, allow_none=True, metadata={"description": "单选：选项下标"}
    )
    choices = fields.List(
        fields.Integer(),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_OPTIONS),
        metadata={"description": "多选：选项下标"},
    )
    scale = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": f"打分：{SCALE_MIN}–{SCALE_MAX}"},
    )
    text = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_TEXT * 2),
        metadata={"description": "文字题"},
    )


class AnswerCreateSchema(Schema):
    room_id = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "为哪个房间填写（只关联一个房间时可不填）"},
    )
    answers = fields.List(
        fields.Nested(AnswerItemSchema),
        required=True,
        validate=validate.Length(max=MAX_QUESTIONS),
    )


class TallySchema(Schema):
    question_id = fields.Integer()
    answered = fields.Integer(metadata={"description": "作答人数"})
    option_counts = fields.List(
        fields.Integer(),
        allow_none=True,
        metadata={"description": "选择题：每个选项被选次数（按选项顺序）；其他题为 null"},
    )
    scale_counts = fields.List(
        fields.Integer(),
        allow_none=True,
        metadata={"description": "打分题：1–5 分各多少人；其他题为 null"},
    )
    average = fields.Float(allow_none=True, metadata={"description": "打分题平均分"})


class QuestionResultSchema(Schema):
    question = fields.Nested(QuestionSchema)
    tally = fields.Nested(TallySchema)


class PlaceResultSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    community_id = fields.Integer(allow_none=True, metadata={"description": "楼栋所在小区"})
    responses = fields.Integer()
    tallies = fields.List(fields.Nested(TallySchema))


class SurveyResultsSchema(Schema):
    survey = fields.Nested(SurveySchema)
    responses = fields.Integer(metadata={"description": "答卷数"})
    questions = fields.List(fields.Nested(QuestionResultSchema))
    by_community = fields.List(fields.Nested(PlaceResultSchema))
    by_building = fields.List(fields.Nested(PlaceResultSchema))


class ExportArgsSchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(EXPORT_FORMATS))
