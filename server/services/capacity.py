"""The grab cap, enforced by the database: the one place that gives a technician an order.

Every path that hands a technician an order (grab, assign, transfer, reopen to the same
technician) first calls `reserve_capacity`, which locks the technician's row and counts what
they hold. Concurrent hand-outs to the same technician queue up on that lock, so the count
they each see includes the others' committed orders and no one ever exceeds the cap. The
order row is claimed afterwards with a conditional UPDATE; locks are always taken in that
order (technician, then order) so two hand-outs cannot deadlock.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.domain.errors import GrabLimitReached, ValidationFailed
from server.domain.order_states import HELD
from server.domain.roles import Role
from server.models.order import Order
from server.models.organisation import Organisation
from server.models.staff import Staff
from server.models.user import User
from server.services.profile import grab_cap_of

_HELD_VALUES = [s.value for s in HELD]


def held_count(session: Session, *, staff_id: int) -> int:
    """How many orders the technician holds now (assigned, in progress or on hold)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.assignee_id == staff_id, Order.status.in_(_HELD_VALUES))
        )
        or 0
    )


def held_counts(session: Session, *, staff_ids: list[int]) -> dict[int, int]:
    """Held orders per technician, for lists."""
    if not staff_ids:
        return {}
    rows = session.execute(
        select(Order.assignee_id, func.count())
        .where(Order.assignee_id.in_(staff_ids), Order.status.in_(_HELD_VALUES))
        .group_by(Order.assignee_id)
    ).all()
    counts = {staff_id: 0 for staff_id in staff_ids}
    counts.update({int(staff_id or 0): int(n) for staff_id, n in rows})
    return counts


def reserve_capacity(session: Session, *, org_id: int, staff_id: int, field: str) -> Staff:
    """Lock the technician and make sure one more order fits under their cap.

    Raises GrabLimitReached when it does not, and a validation error on `field` when the
    staff member is not an active technician of the organisation.
    """
    staff = session.scalar(select(Staff).where(Staff.id == staff_id).with_for_update(of=Staff))
    if staff is None or staff.org_id != org_id:
        raise ValidationFailed.field(field, "员工不存在")
    user = session.get(User, staff.user_id)
    if user is None or not user.is_active or Role.TECHNICIAN.value not in user.roles:
        raise ValidationFailed.field(field, "该员工不是在职维修工")
    organisation = session.get(Organisation, org_id)
    assert organisation is not None
    cap = grab_cap_of(staff, organisation)
    if held_count(session, staff_id=staff.id) >= cap:
        raise GrabLimitReached(f"手上工单已达上限（{cap} 单），请先处理完再接单")
    return staff
