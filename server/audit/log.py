"""Recording and reading the audit log.

`record` adds the row to the session of the operation it describes, before that unit of work
commits: a rolled-back operation leaves no row. Where the request came from (client address,
User-Agent, the caller) is not passed by every use case: the web layer puts a callable under
`ORIGIN` in each session's info (`Database.session_info`), read here without importing Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.audit import rules
from server.audit.models import AuditEntry
from server.db.pagination import Page, paginate
from server.kernel.permissions import Permission
from server.kernel.personal_data import mask_phone, normalise_phone
from server.organisation.models import Organisation
from server.roles.grants import require

# session.info key: a callable answering the current request's `Origin` (or None outside one).
ORIGIN = "baoxiu_audit_origin"

# An export of the log is bounded like the other exports.
MAX_EXPORT_ROWS = 50_000


@dataclass(frozen=True)
class Origin:
    """Where an operation came from: the client and, when signed in, who."""

    address: str = ""
    user_agent: str = ""
    user_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)


def origin_of(session: Session) -> Origin | None:
    provider: Callable[[], Origin | None] | None = session.info.get(ORIGIN)
    return provider() if provider is not None else None


def record(
    session: Session,
    *,
    org_id: int | None,
    at: datetime,
    kind: str,
    summary: str,
    actor_user_id: int | None = None,
    target_type: str = "",
    target_id: int | None = None,
    data: dict[str, Any] | None = None,
    origin: Origin | None = None,
) -> AuditEntry:
    """Add one audit row to this unit of work (never committed here).

    The actor is `actor_user_id`, or else the signed-in caller of the request; their role and
    name are read as they are now (the row keeps them). Data and summary are masked.
    """
    if kind not in rules.KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    origin = origin or origin_of(session) or Origin()
    if actor_user_id is None:
        actor_user_id = origin.user_id
    role: str | None = None
    name = ""
    if actor_user_id is not None:
        found = session.execute(
            select(User.roles, User.name).where(User.id == actor_user_id)
        ).first()
        if found is not None:
            roles = origin.roles if origin.user_id == actor_user_id and origin.roles else found[0]
            role, name = rules.main_role(roles), (found[1] or "")[:50]
    entry = AuditEntry(
        org_id=org_id,
        at=at,
        actor_user_id=actor_user_id,
        actor_role=role,
        actor_name=name,
        kind=kind,
        target_type=target_type,
        target_id=target_id,
        summary=rules.clean_summary(summary),
        data=rules.mask_data(data or {}),
        client_address=origin.address[: rules.ADDRESS_MAX],
        user_agent=origin.user_agent[: rules.USER_AGENT_MAX],
    )
    session.add(entry)
    session.flush()
    return entry


def record_login_failure(
    session: Session,
    *,
    at: datetime,
    channel: str,
    phone: str | None,
    org_code: str | None,
    reason: str,
    origin: Origin | None = None,
) -> AuditEntry:
    """A refused login: no actor, the phone masked, the organisation when one is known (named,
    or the only one the phone has an account in)."""
    org_id = _org_of_login(session, phone=phone, org_code=org_code)
    shown = mask_phone(normalise_phone(phone) or phone) if phone else ""
    return record(
        session,
        org_id=org_id,
        at=at,
        kind="login_failed",
        summary=f"{_CHANNELS.get(channel, channel)}失败：{reason}"
        + (f"（{shown}）" if shown else ""),
        data={"channel": channel, "phone": shown or None, "org": org_code, "reason": reason},
        origin=origin or Origin(**_anonymous(session)),
    )


def record_login(
    session: Session, *, user: User, at: datetime, channel: str, origin: Origin | None = None
) -> AuditEntry:
    """A login that opened an account."""
    return record(
        session,
        org_id=user.org_id,
        at=at,
        kind="login_succeeded",
        summary=f"{_CHANNELS.get(channel, channel)}成功",
        actor_user_id=user.id,
        target_type="user",
        target_id=user.id,
        data={"channel": channel, "phone": user.phone},
        origin=origin,
    )


_CHANNELS = {"password": "密码登录", "wechat": "微信登录", "console": "控制台登录"}


def _anonymous(session: Session) -> dict[str, Any]:
    """The request's client, without its caller (a failed login has none)."""
    origin = origin_of(session)
    if origin is None:
        return {}
    return {"address": origin.address, "user_agent": origin.user_agent}


def _org_of_login(session: Session, *, phone: str | None, org_code: str | None) -> int | None:
    if org_code:
        return session.scalar(select(Organisation.id).where(Organisation.code == org_code))
    normalised = normalise_phone(phone or "")
    if not normalised:
        return None
    orgs = session.scalars(
        select(User.org_id).where(User.phone == normalised).distinct().limit(2)
    ).all()
    return orgs[0] if len(orgs) == 1 else None


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    actor_user_id: int | None = None
    kind: str | None = None
    target_type: str | None = None
    target_id: int | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None


def _query(org_id: int, filters: AuditFilters) -> Select[Any]:
    stmt = select(AuditEntry).where(AuditEntry.org_id == org_id)
    if filters.actor_user_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == filters.actor_user_id)
    if filters.kind:
        stmt = stmt.where(AuditEntry.kind == filters.kind)
    if filters.target_type:
        stmt = stmt.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == filters.target_id)
    if filters.at_from is not None:
        stmt = stmt.where(AuditEntry.at >= filters.at_from)
    if filters.at_to is not None:
        stmt = stmt.where(AuditEntry.at < filters.at_to)
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def search(
    session: Session, *, org_id: int, filters: AuditFilters, page: int, page_size: int
) -> Page[AuditEntry]:
    """The organisation's log, newest first, filtered by actor, kind, target and time."""
    require(session, Permission.AUDIT_VIEW)
    return paginate(session, _query(org_id, filters), page=page, page_size=page_size)


EXPORT_HEADERS = (
    "时间",
    "操作人",
    "操作人ID",
    "角色",
    "类型",
    "对象类型",
    "对象ID",
    "摘要",
    "IP地址",
    "设备",
    "User-Agent",
)


def role_label(role: str | None) -> str:
    return rules.ROLE_LABELS.get(role or "", role or "")


def export_rows(
    session: Session, *, org_id: int, filters: AuditFilters, tz: Any
) -> Iterator[list[Any]]:
    """The filtered log as rows for CSV / XLSX (newest first, at most MAX_EXPORT_ROWS)."""
    require(session, Permission.AUDIT_VIEW)
    stmt = _query(org_id, filters).limit(MAX_EXPORT_ROWS)
    for entry in session.scalars(stmt.execution_options(yield_per=1000)):
        yield [
            entry.at.astimezone(tz).replace(tzinfo=None),
            entry.actor_name,
            entry.actor_user_id,
            role_label(entry.actor_role),
            rules.KINDS.get(entry.kind, entry.kind),
            rules.TARGET_TYPES.get(entry.target_type, entry.target_type),
            entry.target_id,
            entry.summary,
            entry.client_address,
            rules.device_of(entry.user_agent),
            entry.user_agent,
        ]
