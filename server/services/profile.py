"""The caller's profile (`GET /me`) and a staff member's effective grab cap."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain.grab_cap import effective_grab_cap
from server.models.organisation import Organisation
from server.models.staff import Staff
from server.models.user import User


def grab_cap_of(staff: Staff, organisation: Organisation) -> int:
    """The cap that applies to this technician now."""
    return effective_grab_cap(
        organisation_default=organisation.default_grab_cap,
        department_default=staff.department.grab_cap if staff.department else None,
        technician_override=staff.grab_cap,
    )


def profile(session: Session, *, user: User) -> dict[str, Any]:
    """Who the user is, in which organisation, with which roles and staff record."""
    org = session.get(Organisation, user.org_id)
    assert org is not None
    staff = session.scalar(select(Staff).where(Staff.user_id == user.id))
    return {
        "id": user.id,
        "org_id": org.id,
        "org_code": org.code,
        "org_name": org.name,
        "name": user.name,
        "phone": user.phone,
        "roles": list(user.roles),
        "wechat_bound": user.wechat_openid is not None,
        "last_login_at": user.last_login_at,
        "staff": None
        if staff is None
        else {
            "id": staff.id,
            "department_id": staff.department_id,
            "department": staff.department,
            "post_id": staff.post_id,
            "post": staff.post,
            "on_duty": staff.on_duty,
            "grab_cap": grab_cap_of(staff, org),
        },
    }
