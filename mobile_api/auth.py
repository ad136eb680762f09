"""Logins: password, WeChat mini-program, phone binding, token refresh, logging out everywhere."""

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
from server.kernel.errors import (
    Forbidden,
    InvalidCredentials,
    ValidationFailed,
    WeChatCodeInvalid,
)
from server.kernel.personal_data import normalise_phone
from server.kernel.roles import Role
from server.web.audit import record_refused_login
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, session
from server.web.throttle import Throttled, login_throttle, render_throttled, wechat_login_throttle

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录与令牌")
# 429 answers of the login limits carry Retry-After, wherever they are raised.
blp.app_errorhandler(Throttled)(render_throttled)

RETRY_AFTER = {"Retry-After": {"description": "需等待的秒数", "schema": {"type": "integer"}}}


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
@blp.alt_response(401, description="unauthorized：手机号或密码错误")
@blp.alt_response(403, description="forbidden：账号已停用")
@blp.alt_response(422, description="validation_error；密码正确但该手机号属于多个机构时 errors.org")
@blp.alt_response(
    429,
    description="rate_limited：本地址或本账号密码错误次数过多，Retry-After 秒后再试",
    headers=RETRY_AFTER,
)
def password_login(args: dict[str, Any]) -> dict[str, Any]:
    """手机号 + 密码登录（员工；设置过密码的住户也可）

    同一手机号属于多个机构时，密码正确后才要求 `org`（机构编码）。
    """
    phone = normalise_phone(args["phone"]) or args["phone"]
    throttle = login_throttle(org_code=args.get("org"), phone=phone)
    throttle.check()
    try:
        login = auth_service.login_with_password(
            session(),
            issuer=container().tokens,
            phone=phone,
            password=args["password"],
            org_code=args.get("org"),
            now=now(),
        )
    except InvalidCredentials as exc:
        throttle.failed()
        _failed_login("password", exc, phone=phone, org_code=args.get("org"))
        raise
    except Forbidden as exc:
        _failed_login("password", exc, phone=phone, org_code=args.get("org"))
        raise
    throttle.succeeded()
    return login_body(login)


def _failed_login(channel: str, exc: Exception, *, phone: str | None, org_code: str | None) -> None:
    """A refused login is audited in a transaction of its own (the request's rolls back)."""
    reason = getattr(exc, "message", "") or str(exc)
    errors = getattr(exc, "errors", None) or {}
    reason = "；".join([reason, *(m for texts in errors.values() for m in texts)])
    record_refused_login(
        session(), at=now(), channel=channel, phone=phone, org_code=org_code, reason=reason[:100]
    )


@blp.post("/wechat/login")
@blp.arguments(WeChatLoginSchema)
@blp.response(200, LoginSchema)
@blp.alt_response(400, description="wechat_code_invalid：code 无效或已使用")
@blp.alt_response(
    429,
    description="rate_limited：本地址失败次数过多（未调用微信），Retry-After 秒后再试；"
    "或微信接口调用过于频繁",
    headers=RETRY_AFTER,
)
@blp.alt_response(502, description="微信接口错误")
@blp.alt_response(503, description="微信服务不可用")
def wechat_login(args: dict[str, Any]) -> dict[str, Any]:
    """微信小程序登录（code2Session；首次登录创建住户账号）"""
    throttle = wechat_login_throttle()
    throttle.check()
    try:
        # WeChat first: no network call while a database transaction is open.
        identity = container().wechat.code2session(args["code"])
        login = auth_service.login_with_wechat(
            session(),
            issuer=container().tokens,
            identity=identity,
            org_code=args.get("org"),
            now=now(),
        )
    except (WeChatCodeInvalid, ValidationFailed) as exc:
        throttle.failed()
        _failed_login("wechat", exc, phone=None, org_code=args.get("org"))
        raise
    return login_body(login)


@blp.post("/wechat/phone")
@blp.auth(Role.TENANT)
@blp.arguments(WeChatPhoneSchema)
@blp.response(200, LoginSchema)
@blp.alt_response(403, description="phone_not_registered：手机号未登记")
@blp.alt_response(
    409,
    description="phone_bound_elsewhere：该手机号已绑定其他微信账号（物业可在控制台解绑）；"
    "conflict：微信账号已变更",
)
def wechat_phone(args: dict[str, Any]) -> dict[str, Any]:
    """绑定微信手机号；手机号须为已登记的住户或租户公司员工。返回新的令牌。"""
    caller = principal()
    wiring = container()
    # The openid is read in a transaction of its own that ends before WeChat is called; the
    # binding then re-checks it under a row lock.
    with wiring.db.transaction() as read:
        openid = auth_service.wechat_openid_of(
            read.session, user_id=caller.user_id, org_id=caller.org_id
        )
    wx_phone = wiring.wechat.phone_number(args["code"], openid=openid)
    login = auth_service.bind_wechat_phone(
        session(),
        issuer=wiring.tokens,
        access=wiring.access,
        user_id=caller.user_id,
        org_id=caller.org_id,
        openid=openid,
        wx_phone=wx_phone,
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
        session(),
        issuer=container().tokens,
        access=container().access,
        refresh_token=args["refresh_token"],
        now=now(),
    )
    return login_body(login)


@blp.post("/logout-all")
@blp.auth()
@blp.response(204)
def logout_all() -> None:
    """退出所有设备：吊销全部刷新令牌，已签发的访问令牌立即失效（含本次所用的）"""
    caller = principal()
    auth_service.log_out_everywhere(
        session(), access=container().access, user_id=caller.user_id, now=now()
    )
