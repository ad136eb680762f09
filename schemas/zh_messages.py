"""zh-CN texts for marshmallow's built-in validation errors."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

_FIELD_MESSAGES: dict[type[fields.Field[Any]], dict[str, str]] = {
    fields.Field: {"required": "必填项", "null": "不能为空", "validator_failed": "取值无效"},
    fields.String: {"invalid": "应为字符串", "invalid_utf8": "不是合法的 UTF-8 字符串"},
    fields.Integer: {"invalid": "应为整数"},
    fields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
    fields.Decimal: {"special": "不允许 NaN 或无穷大"},
    fields.Boolean: {"invalid": "应为布尔值"},
    fields.DateTime: {
        "invalid": "不是合法的日期时间",
        "invalid_awareness": "日期时间需带时区",
        "format": "无法格式化为日期时间",
    },
    fields.Date: {"invalid": "不是合法的日期（YYYY-MM-DD）", "format": "无法格式化为日期"},
    fields.List: {"invalid": "应为列表"},
    fields.Nested: {"type": "类型无效"},
    fields.Dict: {"invalid": "应为对象"},
    fields.Enum: {"unknown": "取值应为：{choices}"},
    fields.Email: {"invalid": "不是合法的邮箱地址"},
}


def install() -> None:
    for cls, messages in _FIELD_MESSAGES.items():
        cls.default_error_messages = {**cls.default_error_messages, **messages}
    ma.Schema._default_error_messages = {
        "type": "输入类型无效",
        "unknown": "未知字段",
    }
    validate.Length.message_min = "长度不能少于 {min}"
    validate.Length.message_max = "长度不能超过 {max}"
    validate.Length.message_all = "长度应在 {min} 到 {max} 之间"
    validate.Length.message_equal = "长度应为 {equal}"
    validate.Range.message_gte, validate.Range.message_gt = "≥", ">"
    validate.Range.message_lte, validate.Range.message_lt = "≤", "<"
    validate.Range.message_min = "应 {min_op} {{min}}"
    validate.Range.message_max = "应 {max_op} {{max}}"
    validate.Range.message_all = "应 {min_op} {{min}} 且 {max_op} {{max}}"
    validate.OneOf.default_message = "取值应为：{choices}"
    validate.Regexp.default_message = "格式不正确"
