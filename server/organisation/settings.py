"""Organisation settings and the three levels of the grab cap (机构 → 部门 → 维修工)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.db.scoping import apply_changes
from server.kernel.errors import NotFound
from server.kernel.permissions import Permission
from server.orders.capacity import effective_grab_cap, grab_cap_of
from server.organisation.models import Organisation
from server.roles.grants import require
from server.staff.models import Department, Staff
from server.staff.technicians import active_technician


def get_organisation(session: Session, *, org_id: int) -> Organisation:
    """The caller's organisation."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("机构不存在")
    return org


def update_organisation(session: Session, *, org_id: int, changes: dict[str, Any]) -> Organisation:
    """Rename the organisation, change its default grab cap or its reopen window."""
    require(session, Permission.SETTINGS_ACT)
    org = get_organisation(session, org_id=org_id)
    apply_changes(org, changes)
    session.flush()
    return org


def grab_cap_overview(session: Session, *, org_id: int) -> dict[str, Any]:
    """The organisation default, each department's default and each active technician's cap."""
    org = get_organisation(session, org_id=org_id)
    departments = session.scalars(
        select(Department).where(Department.org_id == org_id).order_by(Department.id)
    ).all()
    technicians = (
        session.scalars(
            select(Staff)
            .join(User, User.id == Staff.user_id)
            .where(
                Staff.org_id == org_id,
                active_technician(),
            )
            .order_by(Staff.id)
        )
        .unique()
        .all()
    )
    return {
        "organisation_default": org.default_grab_cap,
        "departments": [
            {
                "id": d.id,
                "name": d.name,
                "grab_cap": d.grab_cap,
                "effective": effective_grab_cap(
                    organisation_default=org.default_grab_cap,
                    department_default=d.grab_cap,
                    technician_override=None,
                ),
            }
            for d in departments
        ],
        "technicians": [
            {
                "staff_id": s.id,
                "name": s.user.name,
                "department_id": s.department_id,
                "override": s.grab_cap,
                "effective": grab_cap_of(s, org),
            }
            for s in technicians
        ],
    }


WORKBENCH_SETTINGS = (
    "unaccepted_alert_minutes",
    "long_hold_minutes",
    "tenant_urge_after_minutes",
    "tenant_urge_interval_minutes",
)


def update_workbench_settings(
    session: Session, *, org_id: int, changes: dict[str, Any]
) -> Organisation:
    """Change the workbench's thresholds and the tenant's 催单 timing (minutes)."""
    require(session, Permission.SETTINGS_ACT)
    org = get_organisation(session, org_id=org_id)
    apply_changes(org, {k: v for k, v in changes.items() if k in WORKBENCH_SETTINGS})
    session.flush()
    return org
