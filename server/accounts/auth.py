"""Logging in: staff and tenants by password, tenants by WeChat, and binding a WeChat phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from server.accounts.access import AccessCache, forget_user, revoke_access
from server.accounts.models import RefreshToken, User
from server.accounts.passwords import verify_password
from server.accounts.tokens import TokenIssuer, TokenPair
from server.audit import log as audit_log
from server.db.scoping import find_owned, get_owned
from server.directory.models import Contact
from server.integrations.wechat import WeChatPhone, WeChatSession
from server.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    NotFound,
    PhoneBoundElsewhere,
    PhoneNotRegistered,
    Unauthorized,
    ValidationFailed,
    WeChatNotBound,
)
from server.kernel.permissions import Permission
from server.kernel.personal_data import mask_phone, normalise_phone
from server.kernel.roles import Role
from server.notifications.devices import remove_user_devices
from server.organisation.models import Organisation
from server.roles.grants import require


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


# More accounts than this sharing one phone is not a real case; the query stays bounded.
MAX_ACCOUNTS_PER_PHONE = 10
MANY_ORGANISATIONS = "该手机号属于多个机构，请指定机构编码"


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
    user = password_user(session, phone=phone, password=password, org_code=org_code)
    login = _issue(session, issuer=issuer, user=user, now=now)
    audit_log.record_login(session, user=user, at=now, channel="password")
    return login


def password_user(session: Session, *, phone: str, password: str, org_code: str | None) -> User:
    """The active account a phone and password open (the API's login and the console's).

    The password is checked first, against every account with that phone (or a dummy hash when
    there is none): a wrong password answers the same whether the phone exists in no, one or
    several organisations. Only a right password that opens several accounts asks for `org`.
    """
    normalised = normalise_phone(phone) or phone
    stmt = select(User).where(User.phone == normalised, User.password_hash.is_not(None))
    if org_code:
        stmt = stmt.join(Organisation, Organisation.id == User.org_id).where(
            Organisation.code == org_code
        )
    candidates = session.scalars(stmt.order_by(User.id).limit(MAX_ACCOUNTS_PER_PHONE)).all()
    if not candidates:
        verify_password(None, password)
        raise InvalidCredentials()
    opened = [user for user in candidates if verify_password(user.password_hash, password)]
    active = [user for user in opened if user.is_active]
    if len(active) > 1:
        raise ValidationFailed.field("org", MANY_ORGANISATIONS)
    if active:
        return active[0]
    if opened:
        raise Forbidden("账号已停用")
    raise InvalidCredentials()


def login_with_wechat(
    session: Session,
    *,
    issuer: TokenIssuer,
    identity: WeChatSession,
    org_code: str | None,
    now: datetime,
) -> Login:
    """Log in the tenant WeChat vouched for (code2Session, called before this), creating them
    on first login."""
    org = organisation_for_login(session, org_code)
    user = session.scalar(
        select(User).where(User.org_id == org.id, User.wechat_openid == identity.openid)
    )
    if user is None:
        user = User(
            org_id=org.id,
            wechat_openid=identity.openid,
            wechat_unionid=identity.unionid,
            roles=[Role.TENANT.value],
            name="微信用户",
        )
        session.add(user)
        session.flush()
    login = _issue(session, issuer=issuer, user=user, now=now)
    audit_log.record_login(session, user=user, at=now, channel="wechat")
    return login


def wechat_openid_of(session: Session, *, user_id: int, org_id: int) -> str:
    """The openid of a login made through WeChat (asked before calling WeChat for its phone)."""
    user = get_owned(session, User, user_id, org_id=org_id, message="用户不存在")
    if not user.wechat_openid:
        raise Forbidden("请使用微信登录后再绑定手机号")
    return user.wechat_openid


def bind_wechat_phone(
    session: Session,
    *,
    issuer: TokenIssuer,
    access: AccessCache,
    user_id: int,
    org_id: int,
    openid: str,
    wx_phone: WeChatPhone,
    now: datetime,
) -> Login:
    """Bind the phone WeChat vouched for (asked before this); it must belong to a registered
    contact.

    When the organisation already has a login with that phone (a resident who set a password),
    the WeChat identity joins that login and the placeholder created at WeChat login goes away,
    so one person has one account.
    """
    user = get_owned(session, User, user_id, org_id=org_id, message="用户不存在", for_update=True)
    if not user.wechat_openid:
        raise Forbidden("请使用微信登录后再绑定手机号")
    if user.wechat_openid != openid:
        raise Conflict("微信账号已变更，请重新登录后再绑定")
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
        _grant_tenant(session, access=access, user=user)
        _record_binding(session, user=user, joined=False, now=now)
        return _issue(session, issuer=issuer, user=user, now=now)
    if owner.wechat_openid and owner.wechat_openid != user.wechat_openid:
        raise PhoneBoundElsewhere()
    unionid = user.wechat_unionid
    if user.phone is None:
        forget_user(session, cache=access, user=user)
        session.delete(user)
    else:
        user.wechat_openid = None
        user.wechat_unionid = None
    session.flush()
    owner.wechat_openid, owner.wechat_unionid = openid, unionid
    _grant_tenant(session, access=access, user=owner)
    _record_binding(session, user=owner, joined=True, now=now)
    return _issue(session, issuer=issuer, user=owner, now=now)


def _record_binding(session: Session, *, user: User, joined: bool, now: datetime) -> None:
    audit_log.record(
        session,
        org_id=user.org_id,
        at=now,
        kind="wechat_bound",
        summary=f"微信绑定手机号 {mask_phone(user.phone)}"
        + ("（并入该手机号已有的账号）" if joined else ""),
        actor_user_id=user.id,
        target_type="user",
        target_id=user.id,
        data={"phone": user.phone, "joined_existing_account": joined},
    )


def unbind_wechat(
    session: Session,
    *,
    access: AccessCache,
    org_id: int,
    phone: str,
    reason: str,
    actor_user_id: int,
    now: datetime,
) -> User:
    """解绑微信: the desk frees a phone whose resident changed WeChat.

    The account keeps its phone, rooms, orders and password; only the WeChat identity goes,
    so the next WeChat that binds this phone (`bind_wechat_phone`) joins the account. Every
    session of the old WeChat ends (refresh tokens revoked, access tokens refused, its devices
    forgotten). Audited with the reason.
    """
    require(session, Permission.CUSTOMERS_ACT)
    normalised = normalise_phone(phone)
    user = (
        session.scalar(
            select(User)
            .where(User.org_id == org_id, User.phone == normalised)
            .order_by(User.id)
            .with_for_update()
        )
        if normalised
        else None
    )
    if user is None:
        raise NotFound("该手机号没有账号")
    if not user.wechat_openid:
        raise WeChatNotBound()
    user.wechat_openid = None
    user.wechat_unionid = None
    session.flush()
    log_out_everywhere(session, access=access, user_id=user.id, now=now)
    audit_log.record(
        session,
        org_id=org_id,
        at=now,
        kind="wechat_unbound",
        summary=f"解绑微信：{mask_phone(user.phone)}（{user.name}），原因：{reason}",
        actor_user_id=actor_user_id,
        target_type="user",
        target_id=user.id,
        data={"phone": user.phone, "reason": reason, "name": user.name},
    )
    return user


def refresh_login(
    session: Session,
    *,
    issuer: TokenIssuer,
    access: AccessCache,
    refresh_token: str,
    now: datetime,
) -> Login:
    """Rotate a refresh token into a new token pair (a replayed one ends every session)."""
    user, tokens = issuer.rotate(session, refresh_token=refresh_token, now=now, access=access)
    return Login(user, tokens)


def revoke_refresh_tokens(session: Session, *, user_id: int, now: datetime) -> None:
    """End every refresh token of a user (access tokens: see `log_out_everywhere`)."""
    for token in session.scalars(
        select(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
        )
    ):
        token.revoked_at = now


def log_out_everywhere(
    session: Session, *, access: AccessCache, user_id: int, now: datetime
) -> None:
    """End every session of a user: refresh tokens revoked, access tokens refused at once,
    and no device receives their notifications any more."""
    revoke_refresh_tokens(session, user_id=user_id, now=now)
    revoke_access(session, cache=access, user_id=user_id)
    remove_user_devices(session, user_id=user_id)


def active_user(session: Session, *, user_id: int, org_id: int) -> User:
    """The caller's user row; a deactivated or deleted login is no longer authorised."""
    user = find_owned(session, User, user_id, org_id=org_id)
    if user is None or not user.is_active:
        raise Unauthorized("账号不存在或已停用")
    return user


def _grant_tenant(session: Session, *, access: AccessCache, user: User) -> None:
    if Role.TENANT.value not in user.roles:
        user.roles = [*user.roles, Role.TENANT.value]
        # The cached roles change with the version: tokens issued before are ended too.
        revoke_access(session, cache=access, user_id=user.id)


def _issue(session: Session, *, issuer: TokenIssuer, user: User, now: datetime) -> Login:
    if not user.is_active:
        raise Forbidden("账号已停用")
    user.last_login_at = now
    session.flush()
    return Login(user, issuer.issue(session, user=user, now=now))
