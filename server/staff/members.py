"""Staff members as the console manages them: accounts, roles, caps, load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from server.accounts.access import AccessCache, revoke_access
from server.accounts.auth import revoke_refresh_tokens
from server.accounts.models import User
from server.accounts.passwords import hash_password
from server.audit import log as audit_log
from server.catalog.models import OrderType
from server.db.pagination import Page, paginate
from server.db.scoping import apply_changes, ensure_absent, get_owned, reference_owned
from server.kernel.errors import Conflict
from server.kernel.roles import STAFF_ROLES, Role
from server.notifications.devices import remove_user_devices
from server.orders.capacity import cap_column, grab_cap_of, held_column, held_counts
from server.orders.eligibility import type_reaches
from server.organisation.models import Organisation
from server.staff.models import Department, Post, Staff
from server.staff.technicians import active_technician, is_active_technician

# Staff roles in the order they are shown and stored.
_ROLE_ORDER = (Role.ADMIN.value, Role.DISPATCHER.value, Role.TECHNICIAN.value)
_USER_FIELDS = ("name", "phone", "is_active")
_STAFF_FIELDS = ("department_id", "post_id", "employee_no", "grab_cap", "on_duty")


@dataclass(frozen=True)
class StaffView:
    """A staff member with what the console shows next to them: cap, load, reachable types."""

    staff: Staff
    cap: int
    held: int = 0
    eligible_order_types: list[OrderType] = field(default_factory=list)

    @property
    def available(self) -> int:
        """How many more orders they may take now; 0 for anyone who cannot take orders."""
        if not is_active_technician(user_active=self.is_active, roles=self.staff.user.roles):
            return 0
        return max(self.cap - self.held, 0)

    @property
    def id(self) -> int:
        return self.staff.id

    @property
    def user_id(self) -> int:
        return self.staff.user_id

    @property
    def name(self) -> str:
        return self.staff.user.name

    @property
    def phone(self) -> str | None:
        return self.staff.user.phone

    @property
    def roles(self) -> list[str]:
        return list(self.staff.user.roles)

    @property
    def is_active(self) -> bool:
        return self.staff.user.is_active

    @property
    def department_id(self) -> int | None:
        return self.staff.department_id

    @property
    def department(self) -> Department | None:
        return self.staff.department

    @property
    def post_id(self) -> int | None:
        return self.staff.post_id

    @property
    def post(self) -> Post | None:
        return self.staff.post

    @property
    def employee_no(self) -> str:
        return self.staff.employee_no

    @property
    def on_duty(self) -> bool:
        return self.staff.on_duty

    @property
    def grab_cap_override(self) -> int | None:
        return self.staff.grab_cap

    @property
    def created_at(self) -> datetime:
        return self.staff.created_at

    @property
    def updated_at(self) -> datetime:
        return self.staff.updated_at


def list_staff(
    session: Session,
    *,
    org_id: int,
    department_id: int | None = None,
    post_id: int | None = None,
    role: str | None = None,
    on_duty: bool | None = None,
    is_active: bool | None = None,
    has_capacity: bool | None = None,
    q: str | None = None,
    page: int,
    page_size: int,
) -> Page[StaffView]:
    """Staff of the organisation with their cap and load, filtered as the console asks."""
    stmt = _staff_query(org_id)
    if department_id is not None:
        stmt = stmt.where(Staff.department_id == department_id)
    if post_id is not None:
        stmt = stmt.where(Staff.post_id == post_id)
    if role is not None:
        stmt = stmt.where(User.roles.contains([role]))
    if on_duty is not None:
        stmt = stmt.where(Staff.on_duty.is_(on_duty))
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.name.ilike(like), User.phone.ilike(like)))
    if has_capacity is not None:
        stmt = _filter_capacity(session, stmt, org_id=org_id, has_capacity=has_capacity)
    result = paginate(session, stmt.order_by(Staff.id), page=page, page_size=page_size)
    return Page(
        describe_staff(session, org_id=org_id, staff=result.items),
        result.total,
        result.page,
        result.page_size,
    )


def get_staff(session: Session, *, org_id: int, staff_id: int) -> StaffView:
    """One staff member of the organisation."""
    staff = _owned_staff(session, org_id, staff_id)
    return describe_staff(session, org_id=org_id, staff=[staff])[0]


def create_staff(session: Session, *, org_id: int, data: dict[str, Any]) -> StaffView:
    """Create a login (phone + password, staff roles) and its staff record."""
    _check_references(session, org_id=org_id, data=data)
    _ensure_phone_free(session, org_id=org_id, phone=data["phone"], exclude_user_id=None)
    user = User(
        org_id=org_id,
        name=data["name"],
        phone=data["phone"],
        password_hash=hash_password(data["password"]),
        roles=_with_staff_roles([], data["roles"]),
        is_active=data.get("is_active", True),
    )
    session.add(user)
    session.flush()
    staff = Staff(
        org_id=org_id, user_id=user.id, **{k: data[k] for k in _STAFF_FIELDS if k in data}
    )
    session.add(staff)
    session.flush()
    return get_staff(session, org_id=org_id, staff_id=staff.id)


def update_staff(
    session: Session,
    *,
    org_id: int,
    staff_id: int,
    changes: dict[str, Any],
    actor_user_id: int,
    access: AccessCache,
    now: datetime,
) -> StaffView:
    """Change a staff member's login, roles, placement or cap.

    A new password or a deactivation logs them out everywhere; any change of roles or of
    `is_active` ends their access tokens at once (the next request answers from the new state).
    """
    staff = _owned_staff(session, org_id, staff_id)
    user = staff.user
    _check_references(session, org_id=org_id, data=changes)
    if user.id == actor_user_id:
        if "roles" in changes and Role.ADMIN.value not in changes["roles"]:
            raise Conflict("不能移除自己的管理员角色")
        if changes.get("is_active") is False:
            raise Conflict("不能停用自己的账号")
    if "phone" in changes:
        _ensure_phone_free(session, org_id=org_id, phone=changes["phone"], exclude_user_id=user.id)
    standing = (list(user.roles), user.is_active)
    apply_changes(user, {k: changes[k] for k in _USER_FIELDS if k in changes})
    if "roles" in changes:
        user.roles = _with_staff_roles(user.roles, changes["roles"])
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
    apply_changes(staff, {k: changes[k] for k in _STAFF_FIELDS if k in changes})
    if "password" in changes or changes.get("is_active") is False:
        revoke_refresh_tokens(session, user_id=user.id, now=now)
    if "password" in changes or (list(user.roles), user.is_active) != standing:
        revoke_access(session, cache=access, user_id=user.id)
    session.flush()
    now_standing = (list(user.roles), user.is_active)
    if now_standing != standing or "password" in changes:
        audit_log.record(
            session,
            org_id=org_id,
            at=now,
            kind="staff_deactivated" if standing[1] and not user.is_active else "staff_changed",
            summary=_staff_change_summary(user.name, standing, now_standing, "password" in changes),
            actor_user_id=actor_user_id,
            target_type="staff",
            target_id=staff.id,
            data={
                "roles_before": standing[0],
                "roles_after": now_standing[0],
                "active_before": standing[1],
                "active_after": now_standing[1],
                "password_reset": "password" in changes,
            },
        )
    # The relationships still hold the old department/post until reloaded.
    session.expire(staff, ["department", "post"])
    return get_staff(session, org_id=org_id, staff_id=staff.id)


def deactivate_staff(
    session: Session,
    *,
    org_id: int,
    staff_id: int,
    actor_user_id: int,
    access: AccessCache,
    now: datetime,
) -> None:
    """Stop a staff member's login (the record stays for history); never one's own.

    Their refresh tokens are revoked and their access tokens refused from the commit on.
    """
    staff = _owned_staff(session, org_id, staff_id)
    if staff.user_id == actor_user_id:
        raise Conflict("不能停用自己的账号")
    staff.user.is_active = False
    revoke_refresh_tokens(session, user_id=staff.user_id, now=now)
    revoke_access(session, cache=access, user_id=staff.user_id)
    remove_user_devices(session, user_id=staff.user_id)  # their phone goes quiet too
    session.flush()
    audit_log.record(
        session,
        org_id=org_id,
        at=now,
        kind="staff_deactivated",
        summary=f"停用员工 {staff.user.name}（#{staff.id}）",
        actor_user_id=actor_user_id,
        target_type="staff",
        target_id=staff.id,
        data={"user_id": staff.user_id, "roles": list(staff.user.roles)},
    )


_ROLE_NAMES = {
    "admin": "管理员",
    "dispatcher": "调度员",
    "technician": "维修师傅",
    "tenant": "住户",
}


def _staff_change_summary(
    name: str,
    before: tuple[list[str], bool],
    after: tuple[list[str], bool],
    password_reset: bool,
) -> str:
    def roles(values: list[str]) -> str:
        return "、".join(_ROLE_NAMES.get(v, v) for v in values) or "无"

    parts = []
    if before[0] != after[0]:
        parts.append(f"角色 {roles(before[0])} → {roles(after[0])}")
    if before[1] != after[1]:
        parts.append("启用账号" if after[1] else "停用账号")
    if password_reset:
        parts.append("重置密码")
    return f"员工 {name}：" + "；".join(parts)


def describe_staff(session: Session, *, org_id: int, staff: Sequence[Staff]) -> list[StaffView]:
    """Effective caps and the active order types each technician's binding reaches."""
    if not staff:
        return []
    org = session.get(Organisation, org_id)
    assert org is not None
    types = list(
        session.scalars(
            select(OrderType)
            .where(OrderType.org_id == org_id, OrderType.is_active.is_(True))
            .order_by(OrderType.sort_order, OrderType.id)
        ).unique()
    )
    held = held_counts(session, staff_ids=[member.id for member in staff])
    return [
        StaffView(
            staff=member,
            cap=grab_cap_of(member, org),
            held=held[member.id],
            eligible_order_types=[t for t in types if _reaches(t, member)]
            if Role.TECHNICIAN.value in member.user.roles
            else [],
        )
        for member in staff
    ]


def technicians_reached_by(
    session: Session, *, org_id: int, order_type: OrderType
) -> list[StaffView]:
    """Active technicians the order type's department/post binding reaches."""
    candidates = session.scalars(
        _staff_query(org_id).where(active_technician()).order_by(Staff.id)
    ).unique()
    reached = [member for member in candidates if _reaches(order_type, member)]
    return describe_staff(session, org_id=org_id, staff=reached)


def _filter_capacity(
    session: Session, stmt: Select[Staff], *, org_id: int, has_capacity: bool
) -> Select[Staff]:
    org = session.get(Organisation, org_id)
    assert org is not None
    held = held_column()
    cap = cap_column(organisation_default=org.default_grab_cap)
    can_take = and_(active_technician(), held < cap)
    return stmt.where(can_take if has_capacity else ~can_take)


def _reaches(order_type: OrderType, staff: Staff) -> bool:
    return type_reaches(order_type, department_id=staff.department_id, post_id=staff.post_id)


def _staff_query(org_id: int) -> Select[Staff]:
    return select(Staff).join(User, User.id == Staff.user_id).where(Staff.org_id == org_id)


def _owned_staff(session: Session, org_id: int, staff_id: int) -> Staff:
    return get_owned(session, Staff, staff_id, org_id=org_id, message="员工不存在")


def _check_references(session: Session, *, org_id: int, data: dict[str, Any]) -> None:
    reference_owned(
        session,
        Department,
        data.get("department_id"),
        org_id=org_id,
        field="department_id",
        message="部门不存在",
    )
    reference_owned(
        session, Post, data.get("post_id"), org_id=org_id, field="post_id", message="岗位不存在"
    )


def _ensure_phone_free(
    session: Session, *, org_id: int, phone: str, exclude_user_id: int | None
) -> None:
    stmt = select(User.id).where(User.org_id == org_id, User.phone == phone)
    if exclude_user_id is not None:
        stmt = stmt.where(User.id != exclude_user_id)
    ensure_absent(session, stmt, field="phone", message="该手机号已被其他账号使用")


def _with_staff_roles(current: Sequence[str], staff_roles: Sequence[str]) -> list[str]:
    # Staff roles are replaced as a set; any other role (a tenant login) is kept.
    others = [r for r in current if r not in STAFF_ROLES]
    return [r for r in _ROLE_ORDER if r in staff_roles] + others
