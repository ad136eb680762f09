"""Who is acting on an order, and in which capacity."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.kernel.errors import Forbidden
from server.staff.models import Staff


@dataclass(frozen=True)
class Actor:
    user_id: int
    org_id: int
    role: str  # the capacity of this action: tenant | technician | dispatcher | admin | system
    staff_id: int | None = None


def staff_actor(
    session: Session, *, user_id: int, org_id: int, role: str, staff_id: int | None = None
) -> Actor:
    """An actor for a staff member; staff endpoints need the caller's staff record.

    The id usually comes from the access token; it is looked up only for older tokens.
    """
    if staff_id is None:
        staff_id = session.scalar(
            select(Staff.id).where(Staff.user_id == user_id, Staff.org_id == org_id)
        )
    if staff_id is None:
        raise Forbidden("您没有员工档案，请联系管理员")
    return Actor(user_id=user_id, org_id=org_id, role=role, staff_id=staff_id)
