"""The caller's profile (`GET /me`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.orders.capacity import grab_cap_of
from server.organisation.models import Organisation
from server.roles.grants import user_grant
from server.roles.rules import PERMISSION_CODES
from server.staff.models import Staff


def profile(session: Session, *, user: User) -> dict[str, Any]:
    """Who the user is, in which organisation, with which roles and staff record."""
    org = session.get(Organisation, user.org_id)
    assert org is not None
    staff = session.scalar(select(Staff).where(Staff.user_id == user.id))
    grant = user_grant(session, user_id=user.id, preset_roles=frozenset(user.roles))
    return {
        "id": user.id,
        "org_id": org.id,
        "org_code": org.code,
        "org_name": org.name,
        "name": user.name,
        "phone": user.phone,
        "roles": list(user.roles),
        # What the console may show this user: the presets' and their roles' permissions, in
        # the catalogue's order, and the communities they reach (None: all).
        "permissions": [p for p in PERMISSION_CODES if p in grant.permissions],
        "communities": None if grant.communities is None else sorted(grant.communities),
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
