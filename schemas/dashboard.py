"""The data dashboard (数据看板): the query, and answers shaped for tiles, tables and charts."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.dashboard.rules import DAY, FORMATS, GRANULARITIES, range_error

ID = fields.Integer(validate=validate.Range(min=1))
SECONDS = fields.Integer(allow_none=True, metadata={"description": "秒（已扣除挂起时间）"})
FILTER = fields.Dict(
    keys=fields.String(),
    metadata={
        "description": "打开对应工单列表的查询参数（GET /admin/orders：created_from、"
        "created_to，以及 status / order_type_id / community_id / assignee_id 等）"
    },
)


class DashboardArgsSchema(Schema):
    date_from = fields.Date(
        required=True, data_key="from", metadata={"description": "报修日期起（含，北京时间）"}
    )
    date_to = fields.Date(
        required=True, data_key="to", metadata={"description": "报修日期止（含，北京时间）"}
    )
    community_id = ID
    order_type_id = ID
    department_id = fields.Integer(
        validate=validate.Range(min=1), metadata={"description": "处理师傅所在部门"}
    )
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        load_default="json",
        metadata={"description": "csv / xlsx 导出本表"},
    )

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if "date_from" in data and "date_to" in data:
            error = range_error(data["date_from"], data["date_to"])
            if error is not None:
                raise ValidationError(error[1], error[0])


class DashboardTrendArgsSchema(DashboardArgsSchema):
    granularity = fields.String(
        validate=validate.OneOf(GRANULARITIES),
        load_default=DAY,
        metadata={"description": "day：按日；week：按周（周一开始）"},
    )


class RangeSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from", metadata={"format": "date"})
    to = fields.String(metadata={"format": "date"})
    days = fields.Integer()


class CountsSchema(Schema):
    filed = fields.Integer(metadata={"description": "报修数"})
    completed = fields.Integer(metadata={"description": "已完工（含已归档）"})
    closed = fields.Integer(metadata={"description": "已归档"})
    cancelled = fields.Integer(metadata={"description": "已取消"})
    reopened = fields.Integer(metadata={"description": "被重开过的工单数"})
    reopens = fields.Integer(metadata={"description": "重开次数合计"})
    overdue_now = fields.Integer(metadata={"description": "当前超时未办结"})


class ItemSchema(Schema):
    key = fields.String(allow_none=True, metadata={"description": "状态值、来源或 id"})
    label = fields.String()
    count = fields.Integer(metadata={"description": "报修数"})
    filter = FILTER


class SubtypeItemSchema(ItemSchema):
    parent_key = fields.String(metadata={"description": "所属类型 id"})


class BreakdownsSchema(Schema):
    by_status = fields.List(fields.Nested(ItemSchema), metadata={"description": "按当前状态"})
    by_type = fields.List(fields.Nested(ItemSchema))
    by_subtype = fields.List(fields.Nested(SubtypeItemSchema))
    by_source = fields.List(
        fields.Nested(ItemSchema),
        metadata={"description": "tenant 住户 / staff 员工代报 / desk 前台"},
    )
    by_community = fields.List(fields.Nested(ItemSchema))
    by_priority = fields.List(fields.Nested(ItemSchema))


class CancelWhoSchema(Schema):
    key = fields.String()
    label = fields.String()
    count = fields.Integer()


class CancelReasonSchema(Schema):
    who = fields.String()
    reason = fields.String()
    count = fields.Integer()


class CancellationsSchema(Schema):
    total = fields.Integer()
    by_who = fields.List(fields.Nested(CancelWhoSchema))
    reasons = fields.List(fields.Nested(CancelReasonSchema), metadata={"description": "前 20 个"})


class DurationSchema(Schema):
    count = fields.Integer()
    p50_seconds = SECONDS
    p90_seconds = SECONDS
    mean_seconds = SECONDS


class TimedItemSchema(ItemSchema):
    taken = fields.Nested(DurationSchema)
    completed = fields.Nested(DurationSchema)
    closed = fields.Nested(DurationSchema)
    handling = fields.Nested(DurationSchema)


class TimesSchema(Schema):
    taken = fields.Nested(DurationSchema, metadata={"description": "报修 → 接单"})
    completed = fields.Nested(DurationSchema, metadata={"description": "报修 → 完工"})
    closed = fields.Nested(DurationSchema, metadata={"description": "报修 → 归档"})
    handling = fields.Nested(DurationSchema, metadata={"description": "接单 → 完工"})
    by_type = fields.List(fields.Nested(TimedItemSchema))
    by_technician = fields.List(fields.Nested(TimedItemSchema))


class SlaSchema(Schema):
    completed = fields.Integer()
    completed_in_time = fields.Integer(metadata={"description": "在时限内完工"})
    in_time_share = fields.Float(allow_none=True)
    overdue_now = fields.Integer()
    escalated = fields.Integer(metadata={"description": "已升级督办"})
    overdue_filter = FILTER


class RatedItemSchema(ItemSchema):
    rated = fields.Integer()
    average = fields.Float(allow_none=True)
    low_scores = fields.Integer()
    low_share = fields.Float(allow_none=True)


class ScoreCountSchema(Schema):
    score = fields.Integer()
    count = fields.Integer()


class SatisfactionSchema(Schema):
    rated = fields.Integer()
    average = fields.Float(allow_none=True)
    low_scores = fields.Integer(metadata={"description": "差评（≤ 2 分）"})
    low_share = fields.Float(allow_none=True)
    distribution = fields.List(fields.Nested(ScoreCountSchema))
    low_filter = FILTER
    by_type = fields.List(fields.Nested(RatedItemSchema))
    by_technician = fields.List(fields.Nested(RatedItemSchema))
    by_community = fields.List(fields.Nested(RatedItemSchema))


class ChannelMoneySchema(Schema):
    channel = fields.String()
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()


class MoneySchema(Schema):
    charged_fen = fields.Integer(metadata={"description": "应收（规格与费用明细）"})
    waived_fen = fields.Integer(metadata={"description": "减免与优惠"})
    company_cost_fen = fields.Integer(metadata={"description": "公司承担"})
    cancelled_fen = fields.Integer(metadata={"description": "取消后免收"})
    paid_fen = fields.Integer(metadata={"description": "实收"})
    refunded_fen = fields.Integer(metadata={"description": "已退款"})
    outstanding_fen = fields.Integer(metadata={"description": "待收"})
    by_channel = fields.List(fields.Nested(ChannelMoneySchema))


COUNTS_BY_KEY = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReturnVisitFiguresSchema(Schema):
    """回访 made in the range (by when the call was recorded), and those due now."""

    done = fields.Integer(metadata={"description": "已回访"})
    reached = fields.Integer(metadata={"description": "联系上住户"})
    satisfied = fields.Integer(metadata={"description": "回访满意"})
    reopened = fields.Integer(metadata={"description": "回访后重新打开"})
    satisfaction_percent = fields.Integer(
        allow_none=True, metadata={"description": "回访满意率（%，联系上的为分母；无则为空）"}
    )
    done_by_reason = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "按回访原因：low_rating 低分 | reopen 重新打开 | sample 抽样"},
    )
    due = fields.Integer(metadata={"description": "当前待回访"})


class ComplaintFiguresSchema(Schema):
    """投诉建议 filed in the range."""

    total = fields.Integer()
    by_kind = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "按类别"}
    )
    by_category = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "按分类（unclassified：未分类）"},
    )
    by_severity = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    overdue = fields.Integer(metadata={"description": "未关闭且已超过时限"})
    average_rating = fields.Float(
        allow_none=True, metadata={"description": "住户对处理的平均评分（无则为空）"}
    )


class DashboardSchema(Schema):
    range = fields.Nested(RangeSchema)
    filter = FILTER
    counts = fields.Nested(CountsSchema)
    breakdowns = fields.Nested(BreakdownsSchema)
    cancellations = fields.Nested(CancellationsSchema)
    times = fields.Nested(TimesSchema)
    sla = fields.Nested(SlaSchema)
    satisfaction = fields.Nested(SatisfactionSchema)
    money = fields.Nested(MoneySchema)
    return_visits = fields.Nested(
        ReturnVisitFiguresSchema,
        metadata={"description": "本机构在范围内的回访（不受类型、小区、部门筛选）"},
    )
    complaints = fields.Nested(
        ComplaintFiguresSchema,
        metadata={"description": "本机构在范围内提交的投诉建议（不受类型、小区、部门筛选）"},
    )


class SeriesSchema(Schema):
    key = fields.String()
    name = fields.String()
    values = fields.List(fields.Integer())


class DashboardTrendsSchema(Schema):
    granularity = fields.String(validate=validate.OneOf(GRANULARITIES))
    dates = fields.List(fields.String(metadata={"format": "date"}))
    series = fields.List(fields.Nested(SeriesSchema))
    filters = fields.List(FILTER, metadata={"description": "每个日期点对应的工单列表查询"})


class PeopleFiguresSchema(Schema):
    key = fields.String(allow_none=True)
    label = fields.String()
    orders = fields.Integer()
    completed = fields.Integer()
    held_now = fields.Integer(metadata={"description": "当前在手（全部工单）"})
    cap = fields.Integer(metadata={"description": "接单上限"})
    mean_handling_seconds = SECONDS
    reopened = fields.Integer()
    reopen_rate = fields.Float(allow_none=True)
    rated = fields.Integer()
    average_rating = fields.Float(allow_none=True)
    labor_fen = fields.Integer()
    material_fen = fields.Integer()
    service_fen = fields.Integer()
    revenue_fen = fields.Integer()
    filter = FILTER


class TechnicianRowSchema(PeopleFiguresSchema):
    department_key = fields.String(allow_none=True)
    department_label = fields.String()


class DepartmentRowSchema(PeopleFiguresSchema):
    technicians = fields.Integer()


class TechnicianTableSchema(Schema):
    items = fields.List(fields.Nested(TechnicianRowSchema))


class DepartmentTableSchema(Schema):
    items = fields.List(fields.Nested(DepartmentRowSchema))
