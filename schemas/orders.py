"""Work orders as the apps and the console see them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.booking import slot_start_field
from schemas.charges import ChargeSchema, FeeSchema
from schemas.common import (
    LocalDateTime,
    MaskedPhone,
    PageArgsSchema,
    Phone,
    TrimmedString,
    page_of,
)
from schemas.directory import RoomBriefSchema
from server.kernel.clock import instant
from server.orders.rules.overdue import is_overdue
from server.orders.rules.states import LABELS, Status
from server.orders.rules.values import (
    ACTIONS,
    ACTOR_ROLES,
    AUTHOR_ROLES,
    CHANNELS,
    DESK_LIST_FORMATS,
    PAYERS,
    PAYMENT_STATUSES,
    POOL_SORTS,
    PRIORITIES,
    PRIORITY_NORMAL,
    STATUSES,
    TENANT_BOXES,
)
from server.payments.rules import (
    PAYMENT_CHANNELS,
    PAYMENT_PURPOSES,
    REFUND_SOURCES,
    REFUND_STATUSES,
)
from server.payments.rules import PAYMENT_STATUSES as PAYMENT_STATES

STATUS = fields.String(validate=validate.OneOf(STATUSES))
MAX_IMAGES = 9
IMAGE_IDS = fields.List(
    fields.String(validate=validate.Length(min=1, max=64)),
    load_default=list,
    validate=validate.Length(max=MAX_IMAGES, error=f"最多 {MAX_IMAGES} 张图片"),
    metadata={"description": "POST /uploads 返回的图片 id，最多 9 张"},
)


def reason_field(required: bool = True) -> fields.String:
    return TrimmedString(
        required=required,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "原因"},
    )


class OrderCreateSchema(Schema):
    subtype_id = fields.Integer(required=True, strict=True)
    room_id = fields.Integer(required=True, strict=True)
    description = TrimmedString(
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"example": "厨房水管漏水，地面已积水"},
    )
    image_ids = IMAGE_IDS
    contact_phone = Phone(metadata={"description": "默认为报修人手机号"})
    contact_name = TrimmedString(validate=validate.Length(max=50))
    priority = fields.String(load_default=PRIORITY_NORMAL, validate=validate.OneOf(PRIORITIES))
    spec_id = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "下单即收费且设有服务规格的子类必填：所选服务规格 id"},
    )
    slot_start = slot_start_field(
        load_default=None, metadata={"description": "预约子类必填：所选时段的 start"}
    )


class StaffOrderCreateSchema(OrderCreateSchema):
    contact_phone = Phone(required=True, metadata={"description": "住户联系电话"})
    payer = fields.String(
        load_default="tenant",
        validate=validate.OneOf(PAYERS),
        metadata={
            "description": "tenant 住户付费 | company 公司代付"
            "（收费子类的公司代付仅限调度员或管理员决定，维修工提交返回 403）"
        },
    )


class ReasonSchema(Schema):
    reason = reason_field()


class _CodedReasonSchema(Schema):
    """A reason: an item of one of the organisation's reason lists (数据字典), its own words,
    or both (stored on the timeline as 「名称：说明」)."""

    LIST = ""
    TITLE = ""

    reason_code = TrimmedString(validate=validate.Length(min=1, max=32))
    reason = TrimmedString(
        validate=validate.Length(max=500),
        metadata={"description": "原因或补充说明（不选 reason_code 时必填）"},
    )

    @validates_schema(skip_on_field_errors=False)
    def _reason_given(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("reason_code") and not data.get("reason"):
            raise ValidationError({"reason": [f"请选择或填写{self.TITLE}"]})


def _reason_code(list_name: str, title: str, example: str) -> TrimmedString:
    return TrimmedString(
        validate=validate.Length(min=1, max=32),
        metadata={
            "description": f"{title}的 code（GET /api/v1/catalog/dictionary/{list_name}，"
            "本机构启用的项）",
            "example": example,
        },
    )


class CancelSchema(_CodedReasonSchema):
    LIST, TITLE = "cancel_reasons", "取消原因"
    reason_code = _reason_code(LIST, TITLE, "self_repaired")


class RejectSchema(_CodedReasonSchema):
    LIST, TITLE = "reject_reasons", "拒单原因"
    reason_code = _reason_code(LIST, TITLE, "not_my_skill")


class HoldSchema(_CodedReasonSchema):
    LIST, TITLE = "hold_reasons", "挂起原因"
    reason_code = _reason_code(LIST, TITLE, "waiting_parts")


class UrgeSchema(Schema):
    reason = TrimmedString(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={
            "description": "督办说明（推送给处理师傅）",
            "example": "住户反复来电，请尽快上门",
        },
    )


class AssignSchema(Schema):
    staff_id = fields.Integer(required=True, strict=True)
    take_back = fields.Boolean(
        load_default=False,
        metadata={
            "description": "改派：收回已在处理（或待备件）的工单交给该师傅；"
            "不带此项时，已被接走的工单答 409 order_taken"
        },
    )


class TransferSchema(_CodedReasonSchema):
    LIST, TITLE = "transfer_reasons", "转单原因"
    staff_id = fields.Integer(required=True, strict=True)
    reason_code = _reason_code(LIST, TITLE, "better_skill")


class CompleteSchema(Schema):
    result = TrimmedString(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "处理结果"},
    )
    image_ids = IMAGE_IDS


class RatingSchema(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = TrimmedString(load_default="", validate=validate.Length(max=500))


class DeskReopenSchema(Schema):
    reason = reason_field()
    to_same_technician = fields.Boolean(
        load_default=False, metadata={"description": "直接派回原处理师傅（受其抢单上限约束）"}
    )


class MessageCreateSchema(Schema):
    text = TrimmedString(required=True, validate=validate.Length(min=1, max=1000))
    image_ids = IMAGE_IDS


class TenantOrderQueryArgsSchema(PageArgsSchema):
    box = fields.String(
        load_default="submitted",
        validate=validate.OneOf(TENANT_BOXES),
        metadata={"description": "submitted 我的报修 | todo 待我支付或评价"},
    )
    status = fields.List(STATUS, metadata={"description": "可重复：?status=a&status=b"})


class TechOrderQueryArgsSchema(PageArgsSchema):
    status = fields.List(STATUS)


class PoolQueryArgsSchema(PageArgsSchema):
    sort = fields.String(
        load_default="urgent",
        validate=validate.OneOf(POOL_SORTS),
        metadata={
            "description": "urgent 紧急优先 | newest 最新优先 | appointment 预约时间最早优先"
        },
    )


class NamedRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class AssigneeSchema(Schema):
    id = fields.Integer()
    name = fields.String(attribute="user.name")
    phone = MaskedPhone(attribute="user.phone")


class ImageSchema(Schema):
    id = fields.String()
    url = fields.Function(
        lambda upload: f"/api/v1/uploads/{upload.id}", metadata={"type": "string"}
    )
    width = fields.Integer()
    height = fields.Integer()


def _overdue(order: Any) -> bool:
    return is_overdue(status=order.status, due_at=order.due_at, now=instant())


class OrderSchema(Schema):
    """An order in a list: personal data masked."""

    id = fields.Integer()
    number = fields.String(metadata={"example": "BX20261122-0001"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    status_label = fields.Function(
        lambda order: LABELS[Status(order.status)],
        metadata={"type": "string", "description": "状态的中文名"},
    )
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    order_type = fields.Nested(NamedRefSchema)
    subtype = fields.Nested(NamedRefSchema)
    room = fields.Nested(RoomBriefSchema)
    description = fields.String()
    contact_name = fields.String()
    contact_phone = MaskedPhone()
    channel = fields.String(
        validate=validate.OneOf(CHANNELS),
        metadata={"description": "tenant 住户报修 | staff 代客报修"},
    )
    payer = fields.String(validate=validate.OneOf(PAYERS))
    assignee = fields.Nested(AssigneeSchema, allow_none=True)
    payable_fen = fields.Integer()
    payment_status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    rating_score = fields.Integer(allow_none=True)
    follow_up_required = fields.Boolean()
    reopen_count = fields.Integer()
    overdue = fields.Function(
        _overdue, metadata={"type": "boolean", "description": "已超过办结时限仍未办结"}
    )
    slot_start = LocalDateTime(allow_none=True, metadata={"description": "预约上门时段开始"})
    slot_end = LocalDateTime(allow_none=True, metadata={"description": "预约上门时段结束"})
    due_at = LocalDateTime()
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class GrabbedOrderSchema(OrderSchema):
    """The grab's answer: the order as in a list, but the contact's phone whole, as in every
    answer about one order to the technician holding it."""

    contact_phone = fields.String(allow_none=True)  # type: ignore[assignment]


class PoolSchema(page_of(OrderSchema)):  # type: ignore[misc]
    held = fields.Integer(metadata={"description": "我手上的工单数"})
    cap = fields.Integer(metadata={"description": "我的抢单数上限"})


class DeskOrderPageSchema(page_of(OrderSchema)):  # type: ignore[misc]
    total_exact = fields.Boolean(
        metadata={
            "description": "true：total 为精确数；false：匹配超过 10000 单，total 为估算值"
            "（按数据库统计信息），翻页不受影响"
        }
    )


class TimelineEventSchema(Schema):
    action = fields.String(attribute="event.action", validate=validate.OneOf(ACTIONS))
    from_status = fields.String(
        attribute="event.from_status", allow_none=True, validate=validate.OneOf(STATUSES)
    )
    to_status = fields.String(
        attribute="event.to_status", allow_none=True, validate=validate.OneOf(STATUSES)
    )
    actor_role = fields.String(attribute="event.actor_role", validate=validate.OneOf(ACTOR_ROLES))
    actor_name = fields.String()
    reason = fields.String(attribute="event.reason")
    data = fields.Dict(attribute="event.data")
    created_at = LocalDateTime(attribute="event.created_at")


class MessageSchema(Schema):
    id = fields.Integer(attribute="message.id")
    author_role = fields.String(
        attribute="message.author_role", validate=validate.OneOf(AUTHOR_ROLES)
    )
    author_name = fields.String(attribute="message.author_name")
    text = fields.String(attribute="message.text")
    images = fields.List(fields.Nested(ImageSchema))
    created_at = LocalDateTime(attribute="message.created_at")


class OrderPaymentSchema(Schema):
    """One payment of the order, as the tenant and the desk follow it."""

    id = fields.Integer()
    channel = fields.String(validate=validate.OneOf(PAYMENT_CHANNELS))
    purpose = fields.String(
        validate=validate.OneOf(PAYMENT_PURPOSES),
        metadata={"description": "prepay 下单预付（订金/全额）；balance 完工后尾款"},
    )
    status = fields.String(validate=validate.OneOf(PAYMENT_STATES))
    amount_fen = fields.Integer()
    created_at = LocalDateTime()
    paid_at = LocalDateTime(allow_none=True)


class OrderRefundSchema(Schema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))
    source = fields.String(validate=validate.OneOf(REFUND_SOURCES))
    reason = fields.String()
    created_at = LocalDateTime()
    succeeded_at = LocalDateTime(allow_none=True)


class OrderDetailSchema(OrderSchema):
    """One order in full, with its history and conversation."""

    # Whole to the tenant, the desk and the technician holding the order; masked to any other
    # technician (`server.orders.detail.reveals_contact`).
    contact_phone = fields.String(attribute="shown_contact_phone")  # type: ignore[assignment]
    assignee = fields.Nested(
        Schema.from_dict(
            {
                "id": fields.Integer(),
                "name": fields.String(attribute="user.name"),
                "phone": fields.String(attribute="user.phone"),
            },
            name="AssigneeFull",
        ),
        allow_none=True,
    )
    result = fields.String()
    rating_comment = fields.String()
    rated_at = LocalDateTime(allow_none=True)
    assigned_at = LocalDateTime(allow_none=True)
    accepted_at = LocalDateTime(allow_none=True)
    completed_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)
    images = fields.List(fields.Nested(ImageSchema))
    completion_images = fields.List(fields.Nested(ImageSchema))
    timeline = fields.List(fields.Nested(TimelineEventSchema))
    messages = fields.List(fields.Nested(MessageSchema))
    charges = fields.List(fields.Nested(ChargeSchema), metadata={"description": "费用明细"})
    fee = fields.Nested(
        FeeSchema,
        allow_none=True,
        metadata={"description": "服务规格、预付、已付与结算（无收费时为空）"},
    )
    payments = fields.List(
        fields.Nested(OrderPaymentSchema), metadata={"description": "支付记录（含进行中的）"}
    )
    refunds = fields.List(fields.Nested(OrderRefundSchema), metadata={"description": "退款记录"})


class DeskOrderQueryArgsSchema(PageArgsSchema):
    status = fields.List(STATUS, metadata={"description": "可重复：?status=a&status=b"})
    order_type_id = fields.Integer()
    subtype_id = fields.Integer()
    community_id = fields.Integer()
    building_id = fields.Integer()
    room_id = fields.Integer()
    assignee_id = fields.Integer()
    unassigned = fields.Boolean()
    created_from = fields.Date(metadata={"description": "创建日期起（含，北京时间）"})
    created_to = fields.Date(metadata={"description": "创建日期止（含，北京时间）"})
    overdue = fields.Boolean(metadata={"description": "超时未办结（督办）"})
    follow_up = fields.Boolean(metadata={"description": "需回访（评分 ≤ 2）"})
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    q = fields.String(
        validate=validate.Length(max=50), metadata={"description": "工单号、联系人或电话"}
    )
    number = fields.String(
        validate=validate.Length(max=20), metadata={"description": "订单记录：工单号（包含）"}
    )
    content = fields.String(
        validate=validate.Length(max=100), metadata={"description": "订单记录：报修内容（包含）"}
    )
    handled_from = fields.Date(metadata={"description": "派单（或抢单）日期起（含，北京时间）"})
    handled_to = fields.Date(metadata={"description": "派单（或抢单）日期止（含，北京时间）"})
    completed_from = fields.Date(metadata={"description": "办结日期起（含，北京时间）"})
    completed_to = fields.Date(metadata={"description": "办结日期止（含，北京时间）"})
    result = fields.String(
        validate=validate.Length(max=100), metadata={"description": "订单记录：处理结果（包含）"}
    )
    format = fields.String(
        validate=validate.OneOf(DESK_LIST_FORMATS),
        load_default="json",
        metadata={"description": "csv / xlsx 导出全部匹配"},
    )
