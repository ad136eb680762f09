"""The grab cap, enforced by the database: the one place that gives a technician an order.

Every path that hands a technician an order (grab, assign, transfer, reopen to the same
technician) first calls `reserve_capacity`, which locks the technician's row and then counts
what they hold. Concurrent hand-outs to the same technician queue up on that lock, so the
count each one sees includes the others' committed orders and no one ever exceeds the cap.
The count is a separate statement on purpose: a count inside the locking statement would use
the snapshot taken before waiting for the lock and miss what the lock holder just committed.
The order row is claimed afterwards with a conditional UPDATE; locks are always taken in that
order (technician, then order) so two hand-outs cannot deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, literal, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.db.session import core
from server.kernel.errors import Forbidden, GrabLimitReached, ValidationFailed
from server.orders.models import Order
from server.orders.rules.grab_cap import effective_grab_cap
from server.orders.rules.states import HELD_VALUES
from server.organisation.models import Organisation
from server.staff.models import Department, Staff
from server.staff.technicians import is_active_technician

# The grab cap rule is public through this module: other areas ask here, not the pure rules.
__all__ = ["Technician", "effective_grab_cap", "grab_cap_of", "reserve_capacity"]

_HELD_VALUES = sorted(HELD_VALUES)
# As literals: prepared statements' generic plans can then use the partial `ix_orders_held`.
_HELD_LITERALS = [literal(value, literal_execute=True) for value in _HELD_VALUES]


@dataclass(frozen=True)
class Technician:
    """What the hand-out rules need to know about a staff member, read in one statement."""

    staff_id: int
    org_id: int
    user_id: int
    department_id: int | None
    post_id: int | None
    cap: int
    is_active: bool
    roles: tuple[str, ...]

    @property
    def is_technician(self) -> bool:
        """An active technician (staff.rules): only they take orders."""
        return is_active_technician(user_active=self.is_active, roles=self.roles)


# Hot-path statements are built once: constructing an expression tree costs more per request
# than running it. Values arrive as bind parameters.
_HELD_COUNT = (
    select(func.count())
    .select_from(Order)
    .where(Order.assignee_id == bindparam("staff_id"), Order.status.in_(_HELD_LITERALS))
    .scalar_subquery()
)
_TECHNICIAN = (
    select(
        Staff.id,
        Staff.org_id,
        Staff.user_id,
        Staff.department_id,
        Staff.post_id,
        Staff.grab_cap,
        Department.grab_cap.label("department_cap"),
        Organisation.default_grab_cap,
        User.is_active,
        User.roles,
    )
    .join(User, User.id == Staff.user_id)
    .join(Organisation, Organisation.id == Staff.org_id)
    .outerjoin(Department, Department.id == Staff.department_id)
    .where(Staff.id == bindparam("staff_id"), Staff.org_id == bindparam("org_id"))
)
_TECHNICIAN_LOCKED = _TECHNICIAN.with_for_update(of=Staff.__table__)
# Reading (not reserving): the held count rides along in the same statement.
_TECHNICIAN_WITH_HELD = _TECHNICIAN.add_columns(_HELD_COUNT.label("held"))


def technician(
    session: Session, *, org_id: int, staff_id: int, lock: bool = False
) -> Technician | None:
    """The staff member with their effective cap; with `lock`, their row is locked."""
    stmt = _TECHNICIAN_LOCKED if lock else _TECHNICIAN
    row = core(session).execute(stmt, {"staff_id": staff_id, "org_id": org_id}).first()
    return None if row is None else _technician(row)


def technician_with_held(
    session: Session, *, org_id: int, staff_id: int
) -> tuple[Technician, int] | None:
    """The staff member and what they hold now, in one statement (for display, not reserving)."""
    row = session.execute(_TECHNICIAN_WITH_HELD, {"staff_id": staff_id, "org_id": org_id}).first()
    return None if row is None else (_technician(row), int(row.held))


def technician_with_held_cte(prefix: str) -> tuple[Any, list[Any]]:
    """The technician-with-held statement as a CTE, for a statement that also reads by it
    (the grab pool), and its columns labelled `prefix + name` for the outer select."""
    cte = _TECHNICIAN_WITH_HELD.cte("technician")
    return cte, [column.label(prefix + column.name) for column in cte.c]


def technician_from_row(row: Any, *, prefix: str = "") -> tuple[Technician, int]:
    """The technician and their held count from a row of `technician_with_held_cte`."""
    return _technician(row, prefix=prefix), int(row._mapping[prefix + "held"])


def _technician(row: Any, *, prefix: str = "") -> Technician:
    m = row._mapping
    p = prefix
    return Technician(
        staff_id=m[p + "id"],
        org_id=m[p + "org_id"],
        user_id=m[p + "user_id"],
        department_id=m[p + "department_id"],
        post_id=m[p + "post_id"],
        cap=effective_grab_cap(
            organisation_default=m[p + "default_grab_cap"],
            department_default=m[p + "department_cap"],
            technician_override=m[p + "grab_cap"],
        ),
        is_active=m[p + "is_active"],
        roles=tuple(m[p + "roles"]),
    )


_HELD_COUNT_STMT = select(_HELD_COUNT)


def held_count(session: Session, *, staff_id: int) -> int:
    """How many orders the technician holds now (assigned, in progress or on hold)."""
    return int(core(session).scalar(_HELD_COUNT_STMT, {"staff_id": staff_id}) or 0)


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


def held_column() -> Any:
    """SQL: what the staff row in the surrounding query holds (correlated on `staff.id`)."""
    return (
        select(func.count())
        .select_from(Order)
        .where(Order.assignee_id == Staff.id, Order.status.in_(_HELD_VALUES))
        .scalar_subquery()
    )


def cap_column(*, organisation_default: int) -> Any:
    """SQL: domain.grab_cap.effective_grab_cap for the staff row in the surrounding query.

    Lists that filter by capacity are paged in SQL, so the rule has an SQL spelling too; it
    lives here, next to its Python use, and a test checks that both agree.
    """
    department_cap = (
        select(Department.grab_cap).where(Department.id == Staff.department_id).scalar_subquery()
    )
    return func.coalesce(Staff.grab_cap, department_cap, organisation_default)


def reserve_capacity(
    session: Session, *, org_id: int, staff_id: int, field: str | None
) -> Technician:
    """Lock the technician and make sure one more order fits under their cap.

    Raises GrabLimitReached when it does not. When the staff member is not an active
    technician of the organisation: a validation error on `field` (the request named them),
    or 403 when `field` is None (the caller takes the order themselves, as in a grab).
    """
    tech = technician(session, org_id=org_id, staff_id=staff_id, lock=True)
    if tech is None or not tech.is_technician:
        if field is None:
            raise Forbidden("您不是在职维修工，不能接单")
        raise ValidationFailed.field(
            field, "员工不存在" if tech is None else "该员工不是在职维修工"
        )
    if held_count(session, staff_id=tech.staff_id) >= tech.cap:
        raise GrabLimitReached(f"手上工单已达上限（{tech.cap} 单），请先处理完再接单")
    return tech


def grab_cap_of(staff: Staff, organisation: Organisation) -> int:
    """The cap that applies to this technician now."""
    return effective_grab_cap(
        organisation_default=organisation.default_grab_cap,
        department_default=staff.department.grab_cap if staff.department else None,
        technician_override=staff.grab_cap,
    )
