"""Login, tokens and the caller's profile."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, Phone
from server.kernel.roles import Role
from server.kernel.values import values_of
from server.roles.rules import PERMISSION_CODES

ORG_CODE = fields.String(
    validate=validate.Length(min=1, max=32),
    metadata={"description": "机构编码；系统只有一个机构时可省略"},
)


class PasswordLoginSchema(Schema):
    phone = Phone(required=True, metadata={"example": "13900000000"})
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        load_only=True,
        metadata={"example": "demo1234"},
    )
    org = ORG_CODE


class WeChatLoginSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "wx.login() 返回的 code"},
    )
    org = ORG_CODE


class WeChatPhoneSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "getPhoneNumber 按钮返回的 code"},
    )


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=2048))


class StaffProfileSchema(Schema):
    id = fields.Integer()
    department_id = fields.Integer(allow_none=True)
    department_name = fields.String(attribute="department.name", allow_none=True, dump_default=None)
    post_id = fields.Integer(allow_none=True)
    post_name = fields.String(attribute="post.name", allow_none=True, dump_default=None)
    on_duty = fields.Boolean()
    grab_cap = fields.Integer(metadata={"description": "生效的抢单数上限"})


class UserSchema(Schema):
    id = fields.Integer()
    org_id = fields.Integer()
    org_code = fields.String()
    org_name = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    roles = fields.List(fields.String(validate=validate.OneOf(values_of(Role))))
    permissions = fields.List(
        fields.String(validate=validate.OneOf(PERMISSION_CODES)),
        metadata={"description": "控制台权限（预置角色与本机构角色之和）；住户与师傅为空"},
    )
    communities = fields.List(
        fields.Integer(),
        allow_none=True,
        metadata={"description": "可见小区 id；null 表示全部小区"},
    )
    wechat_bound = fields.Boolean()
    staff = fields.Nested(StaffProfileSchema, allow_none=True)
    last_login_at = LocalDateTime(allow_none=True)


class LoginSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(dump_default="Bearer")
    expires_in = fields.Integer(required=True, metadata={"description": "access_token 有效秒数"})
    user = fields.Nested(UserSchema, required=True)
