"""The console's side of roles: compose roles, hand them to staff, see the presets beside them.

Every change takes effect on the holders' next request (their cached access state is replaced
on commit, `accounts.access.refresh_access`), is written to the audit log in its transaction,
and needs `roles.act`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.accounts.access import AccessCache, refresh_access
from server.accounts.models import User
from server.audit import log as audit_log
from server.db.scoping import apply_changes, ensure_absent, get_owned
from server.directory.models import Community
from server.kernel.errors import ValidationFailed
from server.kernel.permissions import LABELS, PRESETS, Permission
from server.kernel.roles import Role
from server.roles.grants import require
from server.roles.models import CustomRole, RoleGrant
from server.roles.rules import COMMUNITIES_MAX, unknown_permissions
from server.staff.models import Staff

PRESET_LABELS = {
    Role.ADMIN: ("管理员", "全部权限，全部小区"),
    Role.DISPATCHER: ("调度员", "日常派单、客服与收费，不含退款、设置、导入、日志与角色"),
    Role.TECHNICIAN: ("维修师傅", "使用师傅 App；无控制台权限"),
}


@dataclass(frozen=True)
class RoleView:
    """A role as the console lists it: a preset (fixed) or the organisation's own."""

    id: int | None
    key: str
    name: str
    description: str
    permissions: list[str]
    all_communities: bool
    community_ids: list[int]
    preset: bool
    holders: int


@dataclass(frozen=True)
class PermissionView:
    code: str
    area: str
    label: str


def permission_catalogue() -> list[PermissionView]:
    """The fixed catalogue, in the console's order."""
    return [PermissionView(p.value, p.value.split(".")[0], LABELS[p]) for p in Permission]


def list_roles(session: Session, *, org_id: int) -> list[RoleView]:
    """The presets, then the organisation's roles by name, each with how many hold it."""
    require(session, Permission.ROLES_ACT)
    preset_holders: dict[str, int] = dict(
        session.execute(
            select(func.unnest(User.roles).label("role"), func.count())
            .join(Staff, Staff.user_id == User.id)
            .where(User.org_id == org_id)
            .group_by("role")
        ).all()
    )
    views = [
        RoleView(
            id=None,
            key=role.value,
            name=name,
            description=description,
            permissions=[p.value for p in Permission if p in PRESETS[role]],
            all_communities=True,
            community_ids=[],
            preset=True,
            holders=int(preset_holders.get(role.value, 0)),
        )
        for role, (name, description) in PRESET_LABELS.items()
    ]
    holders = dict(
        session.execute(
            select(RoleGrant.role_id, func.count())
            .where(RoleGrant.org_id == org_id)
            .group_by(RoleGrant.role_id)
        ).all()
    )
    roles = session.scalars(
        select(CustomRole).where(CustomRole.org_id == org_id).order_by(CustomRole.name)
    )
    views.extend(_view(role, holders.get(role.id, 0)) for role in roles)
    return views


def get_role(session: Session, *, org_id: int, role_id: int) -> RoleView:
    require(session, Permission.ROLES_ACT)
    role = _owned(session, org_id, role_id)
    return _view(role, _holder_count(session, role.id))


def create_role(session: Session, *, org_id: int, data: dict[str, Any], now: datetime) -> RoleView:
    """A new role of the organisation (nobody holds it yet)."""
    require(session, Permission.ROLES_ACT)
    fields = _checked(session, org_id=org_id, data=data, current=None)
    _ensure_name_free(session, org_id=org_id, name=fields["name"], exclude_id=None)
    role = CustomRole(org_id=org_id, **fields)
    session.add(role)
    session.flush()
    _audit(session, org_id=org_id, now=now, role=role, what="新建角色", before=None)
    return _view(role, 0)


def update_role(
    session: Session,
    *,
    org_id: int,
    role_id: int,
    changes: dict[str, Any],
    access: AccessCache,
    now: datetime,
) -> RoleView:
    """Change a role's name, permissions or scope: its holders' next requests follow."""
    require(session, Permission.ROLES_ACT)
    role = _owned(session, org_id, role_id, for_update=True)
    before = _terms(role)
    fields = _checked(session, org_id=org_id, data=changes, current=role)
    if "name" in fields:
        _ensure_name_free(session, org_id=org_id, name=fields["name"], exclude_id=role.id)
    apply_changes(role, fields)
    session.flush()
    holders = _holders(session, role.id)
    if holders:
        refresh_access(session, cache=access, user_ids=holders)
    _audit(session, org_id=org_id, now=now, role=role, what="修改角色", before=before)
    return _view(role, len(holders))


def delete_role(
    session: Session, *, org_id: int, role_id: int, access: AccessCache, now: datetime
) -> None:
    """Delete a role; whoever held it loses what it gave them on their next request."""
    require(session, Permission.ROLES_ACT)
    role = _owned(session, org_id, role_id, for_update=True)
    holders = _holders(session, role.id)
    before = _terms(role)
    _audit(session, org_id=org_id, now=now, role=role, what="删除角色", before=before)
    session.delete(role)
    session.flush()
    if holders:
        refresh_access(session, cache=access, user_ids=holders)


def staff_roles(session: Session, *, org_id: int, staff_id: int) -> list[RoleView]:
    """The organisation's roles a staff member holds."""
    require(session, Permission.ROLES_ACT)
    staff = get_owned(session, Staff, staff_id, org_id=org_id, message="员工不存在")
    roles = session.scalars(
        select(CustomRole)
        .join(RoleGrant, RoleGrant.role_id == CustomRole.id)
        .where(RoleGrant.user_id == staff.user_id)
        .order_by(CustomRole.name)
    ).all()
    return [_view(role, _holder_count(session, role.id)) for role in roles]


def set_staff_roles(
    session: Session,
    *,
    org_id: int,
    staff_id: int,
    role_ids: Sequence[int],
    access: AccessCache,
    now: datetime,
) -> list[RoleView]:
    """Replace the roles a staff member holds; effective on their next request."""
    require(session, Permission.ROLES_ACT)
    staff = get_owned(session, Staff, staff_id, org_id=org_id, message="员工不存在")
    wanted = sorted(set(role_ids))
    found = set(
        session.scalars(
            select(CustomRole.id).where(CustomRole.org_id == org_id, CustomRole.id.in_(wanted))
        )
    )
    missing = [r for r in wanted if r not in found]
    if missing:
        raise ValidationFailed.field("role_ids", f"角色不存在：{', '.join(map(str, missing))}")
    # Lock the user row: two desks setting one person's roles at once apply one after the other.
    session.execute(select(User.id).where(User.id == staff.user_id).with_for_update())
    before = sorted(
        session.scalars(select(RoleGrant.role_id).where(RoleGrant.user_id == staff.user_id))
    )
    if before != wanted:
        session.execute(delete(RoleGrant).where(RoleGrant.user_id == staff.user_id))
        session.add_all(
            RoleGrant(org_id=org_id, user_id=staff.user_id, role_id=role_id) for role_id in wanted
        )
        session.flush()
        refresh_access(session, cache=access, user_ids=[staff.user_id])
        audit_log.record(
            session,
            org_id=org_id,
            at=now,
            kind="role_changed",
            summary=f"设置员工 #{staff.id} 的角色",
            target_type="staff",
            target_id=staff.id,
            data={"role_ids_before": before, "role_ids_after": wanted},
        )
    return staff_roles(session, org_id=org_id, staff_id=staff_id)


def _owned(session: Session, org_id: int, role_id: int, *, for_update: bool = False) -> CustomRole:
    return get_owned(
        session, CustomRole, role_id, org_id=org_id, message="角色不存在", for_update=for_update
    )


def _checked(
    session: Session, *, org_id: int, data: dict[str, Any], current: CustomRole | None
) -> dict[str, Any]:
    fields = dict(data)
    if "permissions" in fields:
        unknown = unknown_permissions(fields["permissions"])
        if unknown:
            raise ValidationFailed.field("permissions", f"未知权限：{', '.join(unknown)}")
        fields["permissions"] = sorted(set(fields["permissions"]))
    if "community_ids" in fields:
        ids = sorted(set(fields["community_ids"]))
        if len(ids) > COMMUNITIES_MAX:
            raise ValidationFailed.field("community_ids", f"最多指定 {COMMUNITIES_MAX} 个小区")
        known = set(
            session.scalars(
                select(Community.id).where(Community.org_id == org_id, Community.id.in_(ids))
            )
        )
        missing = [c for c in ids if c not in known]
        if missing:
            raise ValidationFailed.field(
                "community_ids", f"小区不存在：{', '.join(map(str, missing))}"
            )
        fields["community_ids"] = ids
    all_communities = fields.get(
        "all_communities", True if current is None else current.all_communities
    )
    community_ids = fields.get("community_ids", [] if current is None else current.community_ids)
    if not all_communities and not community_ids:
        raise ValidationFailed.field("community_ids", "请选择至少一个小区，或选择全部小区")
    if all_communities:
        fields["community_ids"] = []
    return fields


def _ensure_name_free(session: Session, *, org_id: int, name: str, exclude_id: int | None) -> None:
    stmt = select(CustomRole.id).where(CustomRole.org_id == org_id, CustomRole.name == name)
    if exclude_id is not None:
        stmt = stmt.where(CustomRole.id != exclude_id)
    ensure_absent(session, stmt, field="name", message="已有同名角色")


def _holders(session: Session, role_id: int) -> list[int]:
    return list(session.scalars(select(RoleGrant.user_id).where(RoleGrant.role_id == role_id)))


def _holder_count(session: Session, role_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(RoleGrant).where(RoleGrant.role_id == role_id)
        )
        or 0
    )


def _terms(role: CustomRole) -> dict[str, Any]:
    return {
        "name": role.name,
        "permissions": list(role.permissions),
        "all_communities": role.all_communities,
        "community_ids": list(role.community_ids),
    }


def _audit(
    session: Session,
    *,
    org_id: int,
    now: datetime,
    role: CustomRole,
    what: str,
    before: dict[str, Any] | None,
) -> None:
    audit_log.record(
        session,
        org_id=org_id,
        at=now,
        kind="role_changed",
        summary=f"{what}「{role.name}」",
        target_type="role",
        target_id=role.id,
        data={"before": before, "after": None if what == "删除角色" else _terms(role)},
    )


def _view(role: CustomRole, holders: int) -> RoleView:
    return RoleView(
        id=role.id,
        key=f"role:{role.id}",
        name=role.name,
        description=role.description,
        permissions=list(role.permissions),
        all_communities=role.all_communities,
        community_ids=list(role.community_ids),
        preset=False,
        holders=holders,
    )
