"""Logins: password, WeChat mini-program, phone binding, token refresh."""

from __future__ import annotations

from typing import Any

from schemas.accounts import (
    LoginSchema,
    PasswordLoginSchema,
    RefreshSchema,
    WeChatLoginSchema,
    WeChatPhoneSchema,
)
from server.accounts import auth as auth_service
from server.accounts.profile import profile
from server.kernel.errors import InvalidCredentials
from server.kernel.roles import Role
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, session
from server.web.throttle import LoginThrottle

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录与令牌")


def login_body(login: auth_service.Login) -> dict[str, Any]:
    return {
        "access_token": login.tokens.access_token,
        "refresh_token": login.tokens.refresh_token,
        "token_type": "Bearer",
        "expires_in": login.tokens.expires_in,
        "user": profile(session(), user=login.user),
    }


@blp.post("/login")
@blp.arguments(PasswordLoginSchema)
@blp.response(200, LoginSchema)
@blp.alt_response(401, description="手机号或密码错误")
@blp.alt_response(429, description="rate_limited：密码错误次数过多，稍后再试")
def password_login(args: dict[str, Any]) -> dict[str, Any]:
    """手机号 + 密码登录（员工；设置过密码的住户也可）"""
    throttle = LoginThrottle(container().redis)
    throttle.check(args["phone"])
    try:
        login = auth_service.login_with_password(
            session(),
            issuer=container().tokens,
            phone=args["phone"],
            password=args["password"],
            org_code=args.get("org"),
            now=now(),
        )
    except InvalidCredentials:
        throttle.failed(args["phone"])
        raise
    throttle.succeeded(args["phone"])
    return login_body(login)


@blp.post("/wechat/login")
@blp.arguments(WeChatLoginSchema)
@blp.response(200, LoginSchema)
@blp.alt_response(400, description="wechat_code_invalid：code 无效或已使用")
@blp.alt_response(502, description="微信接口错误")
@blp.alt_response(503, description="微信服务不可用")
def wechat_login(args: dict[str, Any]) -> dict[str, Any]:
    """微信小程序登录（code2Session；首次登录创建住户账号）"""
    login = auth_service.login_with_wechat(
        session(),
        issuer=container().tokens,
        wechat=container().wechat,
        code=args["code"],
        org_code=args.get("org"),
        now=now(),
    )
    return login_body(login)


@blp.post("/wechat/phone")
@blp.auth(Role.TENANT)
@blp.arguments(WeChatPhoneSchema)
@blp.response(200, LoginSchema)
@blp.alt_response(403, description="phone_not_registered：手机号未登记")
@blp.alt_response(409, description="该手机号已绑定其他微信账号")
def wechat_phone(args: dict[str, Any]) -> dict[str, Any]:
    """绑定微信手机号；手机号须为已登记的住户或租户公司员工。返回新的令牌。"""
    caller = principal()
    login = auth_service.bind_wechat_phone(
        session(),
        issuer=container().tokens,
        wechat=container().wechat,
        user_id=caller.user_id,
        org_id=caller.org_id,
        code=args["code"],
        now=now(),
    )
    return login_body(login)


@blp.post("/refresh")
@blp.arguments(RefreshSchema)
@blp.response(200, LoginSchema)
@blp.alt_response(401, description="刷新令牌无效、过期或已使用")
def refresh(args: dict[str, Any]) -> dict[str, Any]:
    """用刷新令牌换取新的访问令牌（刷新令牌随之轮换，旧的失效）"""
    login = auth_service.refresh_login(
        session(), issuer=container().tokens, refresh_token=args["refresh_token"], now=now()
    )
    return login_body(login)
