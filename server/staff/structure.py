"""Departments (部门) and posts (岗位) as the console manages them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.catalog.models import OrderType
from server.db.pagination import Page, paginate
from server.db.scoping import apply_changes, ensure_absent, get_owned
from server.kernel.errors import InUse, ValidationFailed
from server.staff.models import Department, Post, Staff
from server.staff.technicians import active_login


def list_departments(
    session: Session, *, org_id: int, q: str | None, page: int, page_size: int
) -> Page[Department]:
    """Departments of the organisation, optionally filtered by name."""
    stmt = select(Department).where(Department.org_id == org_id)
    if q:
        stmt = stmt.where(Department.name.ilike(f"%{q}%"))
    return paginate(session, stmt.order_by(Department.id), page=page, page_size=page_size)


def get_department(session: Session, *, org_id: int, department_id: int) -> Department:
    """One department of the organisation."""
    return get_owned(session, Department, department_id, org_id=org_id, message="部门不存在")


def create_department(session: Session, *, org_id: int, data: dict[str, Any]) -> Department:
    """Add a department; its name is unique in the organisation."""
    _ensure_department_name_free(session, org_id=org_id, name=data["name"], exclude_id=None)
    _ensure_lead(session, org_id=org_id, lead_staff_id=data.get("lead_staff_id"))
    department = Department(org_id=org_id, **data)
    session.add(department)
    session.flush()
    return department


def update_department(
    session: Session, *, org_id: int, department_id: int, changes: dict[str, Any]
) -> Department:
    """Rename a department or change its default grab cap (null falls back to the org's)."""
    department = get_department(session, org_id=org_id, department_id=department_id)
    if "name" in changes:
        _ensure_department_name_free(
            session, org_id=org_id, name=changes["name"], exclude_id=department.id
        )
    _ensure_lead(session, org_id=org_id, lead_staff_id=changes.get("lead_staff_id"))
    apply_changes(department, changes)
    session.flush()
    return department


def delete_department(session: Session, *, org_id: int, department_id: int) -> None:
    """Delete a department no staff member or order type refers to."""
    department = get_department(session, org_id=org_id, department_id=department_id)
    if _referenced(session, Staff.department_id == department.id) or _referenced(
        session, OrderType.department_id == department.id
    ):
        raise InUse("部门下仍有员工或绑定的工单类型，无法删除")
    session.delete(department)
    session.flush()


def _ensure_lead(session: Session, *, org_id: int, lead_staff_id: int | None) -> None:
    """A department's lead is an active staff member of the same organisation."""
    if lead_staff_id is None:
        return
    found = session.scalar(
        select(Staff.id)
        .join(User, User.id == Staff.user_id)
        .where(Staff.id == lead_staff_id, Staff.org_id == org_id, active_login())
    )
    if found is None:
        raise ValidationFailed.field("lead_staff_id", "负责人须为本机构在职员工")


def department_lead_user(session: Session, *, org_id: int, order_type_id: int) -> list[int]:
    """The user of the lead of the department an order type is bound to (active), if any."""
    lead = session.scalar(
        select(Staff.user_id)
        .join(Department, Department.lead_staff_id == Staff.id)
        .join(OrderType, OrderType.department_id == Department.id)
        .join(User, User.id == Staff.user_id)
        .where(
            OrderType.id == order_type_id,
            OrderType.org_id == org_id,
            active_login(),
        )
    )
    return [] if lead is None else [int(lead)]


def _ensure_department_name_free(
    session: Session, *, org_id: int, name: str, exclude_id: int | None
) -> None:
    stmt = select(Department.id).where(Department.org_id == org_id, Department.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Department.id != exclude_id)
    ensure_absent(session, stmt, field="name", message="部门名称已存在")


# Posts -------------------------------------------------------------------------------------


def list_posts(
    session: Session, *, org_id: int, q: str | None, page: int, page_size: int
) -> Page[Post]:
    """Posts of the organisation, optionally filtered by name."""
    stmt = select(Post).where(Post.org_id == org_id)
    if q:
        stmt = stmt.where(Post.name.ilike(f"%{q}%"))
    return paginate(session, stmt.order_by(Post.id), page=page, page_size=page_size)


def get_post(session: Session, *, org_id: int, post_id: int) -> Post:
    """One post of the organisation."""
    return get_owned(session, Post, post_id, org_id=org_id, message="岗位不存在")


def create_post(session: Session, *, org_id: int, data: dict[str, Any]) -> Post:
    """Add a post; its name is unique in the organisation."""
    _ensure_post_name_free(session, org_id=org_id, name=data["name"], exclude_id=None)
    post = Post(org_id=org_id, **data)
    session.add(post)
    session.flush()
    return post


def update_post(session: Session, *, org_id: int, post_id: int, changes: dict[str, Any]) -> Post:
    """Rename a post."""
    post = get_post(session, org_id=org_id, post_id=post_id)
    if "name" in changes:
        _ensure_post_name_free(session, org_id=org_id, name=changes["name"], exclude_id=post.id)
    apply_changes(post, changes)
    session.flush()
    return post


def delete_post(session: Session, *, org_id: int, post_id: int) -> None:
    """Delete a post no staff member or order type refers to."""
    post = get_post(session, org_id=org_id, post_id=post_id)
    if _referenced(session, Staff.post_id == post.id) or _referenced(
        session, OrderType.post_id == post.id
    ):
        raise InUse("岗位下仍有员工或绑定的工单类型，无法删除")
    session.delete(post)
    session.flush()


def _ensure_post_name_free(
    session: Session, *, org_id: int, name: str, exclude_id: int | None
) -> None:
    stmt = select(Post.id).where(Post.org_id == org_id, Post.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Post.id != exclude_id)
    ensure_absent(session, stmt, field="name", message="岗位名称已存在")


def _referenced(session: Session, condition: Any) -> bool:
    return bool(session.scalar(select(exists().where(condition))))
