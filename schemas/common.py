"""Building blocks: the error shape, pagination, local times, phones."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, validate

from server.kernel.errors import error_ids
from server.kernel.personal_data import normalise_phone

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000


class ErrorSchema(Schema):
    code = fields.Integer(metadata={"description": "HTTP 状态码"})
    status = fields.String(metadata={"description": "HTTP 状态短语"})
    error = fields.String(
        validate=validate.OneOf(error_ids()),
        metadata={"description": "稳定的错误标识，客户端据此分支"},
    )
    message = fields.String(metadata={"description": "给用户看的中文提示"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "字段级校验错误（仅 validation_error）", "x-optional": True},
    )


class LocalDateTime(fields.DateTime):
    """Stored in UTC, shown in Asia/Shanghai with its offset."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return super()._serialize(value.astimezone(LOCAL_TZ), attr, obj, **kwargs)


class Phone(fields.String):
    """A mainland mobile number, normalised to 11 digits on the way in."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        phone = normalise_phone(text)
        if phone is None:
            raise ValidationError("不是合法的手机号")
        return phone


class MaskedPhone(fields.String):
    """A phone shown as `138****0001`; absent phones (no contact, WeChat-only users) are null."""

    def __init__(self, **kwargs: Any) -> None:
        # allow_none documents the null in the OpenAPI schema (`nullable: true`).
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def _serialize(self, value: str | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        from server.kernel.personal_data import mask_phone

        return mask_phone(value)


def name_field(max_length: int, **kwargs: Any) -> fields.String:
    """A required, trimmed, non-empty name of at most `max_length` characters."""
    return TrimmedString(required=True, validate=validate.Length(min=1, max=max_length), **kwargs)


class TrimmedString(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


class PageArgsSchema(Schema):
    # Bounded so that the row offset, (page - 1) × page_size, always fits PostgreSQL's bigint.
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


@cache
def page_of(item_schema: type[Schema]) -> type[Schema]:
    """`{items, total, page, page_size}` around `item_schema` (one class per item schema)."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "page_size": fields.Integer(required=True),
        },
        name=name,
    )
