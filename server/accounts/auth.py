"""Logging in: staff and tenants by password, tenants by WeChat, and binding a WeChat phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from server.accounts.models import RefreshToken, User
from server.accounts.passwords import verify_password
from server.accounts.tokens import TokenIssuer, TokenPair
from server.directory.models import Contact
from server.integrations.wechat import WeChatMiniClient
from server.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    NotFound,
    PhoneNotRegistered,
    Unauthorized,
    ValidationFailed,
)
from server.kernel.personal_data import normalise_phone
from server.kernel.roles import Role
from server.organisation.models import Organisation


@dataclass(frozen=True)
class Login:
    user: User
    tokens: TokenPair


def organisation_for_login(session: Session, org_code: str | None) -> Organisation:
    """The organisation a login is for: the one named, or the only one there is."""
    if org_code:
        org = session.scalar(select(Organisation).where(Organisation.code == org_code))
        if org is None:
            raise ValidationFailed.field("org", "机构不存在")
        return org
    orgs = session.scalars(select(Organisation).limit(2)).all()
    if len(orgs) != 1:
        raise ValidationFailed.field("org", "请指定机构编码")
    return orgs[0]


def login_with_password(
    session: Session,
    *,
    issuer: TokenIssuer,
    phone: str,
    password: str,
    org_code: str | None,
    now: datetime,
) -> Login:
    """Check a phone and password and issue tokens."""
    normalised = normalise_phone(phone) or phone
    stmt = select(User).where(User.phone == normalised, User.password_hash.is_not(None))
    if org_code:
        stmt = stmt.join(Organisation, Organisation.id == User.org_id).where(
            Organisation.code == org_code
        )
    users = session.scalars(stmt.limit(2)).all()
    if len(users) > 1:
        raise ValidationFailed.field("org", "该手机号属于多个机构，请指定机构编码")
    user = users[0] if users else None
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials()
    return _issue(session, issuer=issuer, user=user, now=now)


def login_with_wechat(
    session: Session,
    *,
    issuer: TokenIssuer,
    wechat: WeChatMiniClient,
    code: str,
    org_code: str | None,
    now: datetime,
) -> Login:
    """code2Session, then log in the tenant with that openid, creating them on first login."""
    org = organisation_for_login(session, org_code)
    wx = wechat.code2session(code)
    user = session.scalar(
        select(User).where(User.org_id == org.id, User.wechat_openid == wx.openid)
    )
    if user is None:
        user = User(
            org_id=org.id,
            wechat_openid=wx.openid,
            wechat_unionid=wx.unionid,
            roles=[Role.TENANT.value],
            name="微信用户",
        )
        session.add(user)
        session.flush()
    return _issue(session, issuer=issuer, user=user, now=now)


def bind_wechat_phone(
    session: Session,
    *,
    issuer: TokenIssuer,
    wechat: WeChatMiniClient,
    user_id: int,
    org_id: int,
    code: str,
    now: datetime,
) -> Login:
    """Bind the phone WeChat vouches for; it must belong to a registered contact.

    When the organisation already has a login with that phone (a resident who set a password),
    the WeChat identity joins that login and the placeholder created at WeChat login goes away,
    so one person has one account.
    """
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.org_id != org_id:
        raise NotFound("用户不存在")
    if not user.wechat_openid:
        raise Forbidden("请使用微信登录后再绑定手机号")
    wx_phone = wechat.phone_number(code, openid=user.wechat_openid)
    # Contacts are registered with mainland numbers; any other country cannot match one.
    phone = normalise_phone(wx_phone.pure_number) if wx_phone.country_code == "86" else None
    registered = phone is not None and session.scalar(
        select(exists().where(Contact.org_id == org_id, Contact.phone == phone))
    )
    if not registered or phone is None:
        raise PhoneNotRegistered()
    if user.phone == phone:
        return _issue(session, issuer=issuer, user=user, now=now)
    owner = session.scalar(
        select(User).where(User.org_id == org_id, User.phone == phone).with_for_update()
    )
    if owner is None:
        user.phone = phone
        _grant_tenant(user)
        return _issue(session, issuer=issuer, user=user, now=now)
    if owner.wechat_openid and owner.wechat_openid != user.wechat_openid:
        raise Conflict("该手机号已绑定其他微信账号")
    openid, unionid = user.wechat_openid, user.wechat_unionid
    if user.phone is None:
        session.delete(user)
    else:
        user.wechat_openid = None
        user.wechat_unionid = None
    session.flush()
    owner.wechat_openid, owner.wechat_unionid = openid, unionid
    _grant_tenant(owner)
    return _issue(session, issuer=issuer, user=owner, now=now)


def refresh_login(
    session: Session, *, issuer: TokenIssuer, refresh_token: str, now: datetime
) -> Login:
    """Rotate a refresh token into a new token pair."""
    user, tokens = issuer.rotate(session, refresh_token=refresh_token, now=now)
    return Login(user, tokens)


def revoke_refresh_tokens(session: Session, *, user_id: int, now: datetime) -> None:
    """Log a user out everywhere."""
    for token in session.scalars(
        select(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
        )
    ):
        token.revoked_at = now


def active_user(session: Session, *, user_id: int, org_id: int) -> User:
    """The caller's user row; a deactivated or deleted login is no longer authorised."""
    user = session.get(User, user_id)
    if user is None or user.org_id != org_id or not user.is_active:
        raise Unauthorized("账号不存在或已停用")
    return user


def _grant_tenant(user: User) -> None:
    if Role.TENANT.value not in user.roles:
        user.roles = [*user.roles, Role.TENANT.value]


def _issue(session: Session, *, issuer: TokenIssuer, user: User, now: datetime) -> Login:
    if not user.is_active:
        raise Forbidden("账号已停用")
    user.last_login_at = now
    session.flush()
    return Login(user, issuer.issue(session, user=user, now=now))
