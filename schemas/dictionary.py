"""数据字典: the lists, their items (the organisation's labels, order and switches), the
admins' changes, and the choices the apps show."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, TrimmedString
from server.dictionary.rules import CODE_MAX, KIND_LABELS, KINDS, LABEL_MAX, LIST_NAMES, SORT_MAX

_KIND = (
    "closed 系统固定（只能改名、调整顺序）| "
    "open 可扩充（系统预置项可改名、排序、停用；可新增自定义项）"
)


def _list_fields(prefix: str) -> dict[str, Any]:
    at = (prefix + ".") if prefix else ""
    return {
        "name": fields.String(
            attribute=at + "name",
            validate=validate.OneOf(LIST_NAMES),
            metadata={"description": "列表编码"},
        ),
        "title": fields.String(attribute=at + "title", metadata={"example": "取消原因"}),
        "kind": fields.String(
            attribute=at + "kind", validate=validate.OneOf(KINDS), metadata={"description": _KIND}
        ),
        "kind_label": fields.Function(
            lambda obj: KIND_LABELS[_value_list(obj, prefix).kind], metadata={"type": "string"}
        ),
        "used_by": fields.String(attribute=at + "used_by", metadata={"description": "用在哪里"}),
        "for_apps": fields.Boolean(
            attribute=at + "for_apps",
            metadata={
                "description": "住户端、师傅端也展示（GET /api/v1/catalog/dictionary/{list}）"
            },
        ),
    }


def _value_list(obj: Any, prefix: str) -> Any:
    return getattr(obj, prefix) if prefix else obj


class DictionaryItemSchema(Schema):
    code = fields.String(metadata={"example": "self_repaired"})
    label = fields.String(metadata={"example": "已自行修好"})
    sort = fields.Integer(metadata={"description": "排序（小的在前）"})
    enabled = fields.Boolean(metadata={"description": "停用的项不再供选择（已记录的值照常显示）"})
    system = fields.Boolean(metadata={"description": "系统预置项：不能删除、不能改编码"})
    default_label = fields.String(metadata={"description": "系统预置项的原始名称（自定义项为空）"})
    updated_at = LocalDateTime(allow_none=True, metadata={"description": "本机构最后修改时间"})


DictionaryListSchema = Schema.from_dict(
    {
        **_list_fields("value_list"),
        "item_count": fields.Integer(metadata={"description": "项数"}),
        "enabled_count": fields.Integer(metadata={"description": "启用的项数"}),
    },
    name="DictionaryListSchema",
)

DictionaryListDetailSchema = Schema.from_dict(
    {
        **_list_fields("value_list"),
        "items": fields.List(
            fields.Nested(DictionaryItemSchema), metadata={"description": "按排序"}
        ),
    },
    name="DictionaryListDetailSchema",
)


class DictionaryListsSchema(Schema):
    items = fields.List(fields.Nested(DictionaryListSchema))


_LABEL = validate.Length(min=1, max=LABEL_MAX)
_SORT = validate.Range(min=0, max=SORT_MAX)


class DictionaryItemCreateSchema(Schema):
    code = TrimmedString(
        required=True,
        validate=[
            validate.Length(min=1, max=CODE_MAX),
            validate.Regexp(
                r"^[a-z][a-z0-9_]*$", error="编码只能包含小写字母、数字和下划线，且以字母开头"
            ),
        ],
        metadata={"example": "water_off", "description": "列表内唯一，创建后不能修改"},
    )
    label = TrimmedString(required=True, validate=_LABEL, metadata={"example": "小区停水"})
    sort = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=_SORT,
        metadata={"description": "排序（默认排在最后）"},
    )
    enabled = fields.Boolean(load_default=True)


class DictionaryItemUpdateSchema(Schema):
    label = TrimmedString(validate=_LABEL)
    sort = fields.Integer(strict=True, validate=_SORT)
    enabled = fields.Boolean(metadata={"description": "系统固定的列表不能停用"})
    code = TrimmedString(
        validate=validate.Length(max=CODE_MAX),
        metadata={"description": "编码不能修改：传入与原编码不同的值返回 422"},
    )


class DictionaryChoiceSchema(Schema):
    code = fields.String(metadata={"example": "self_repaired"})
    label = fields.String(metadata={"example": "已自行修好"})


class DictionaryChoicesSchema(Schema):
    name = fields.String(validate=validate.OneOf(LIST_NAMES))
    title = fields.String()
    items = fields.List(
        fields.Nested(DictionaryChoiceSchema), metadata={"description": "启用的项，按排序"}
    )
