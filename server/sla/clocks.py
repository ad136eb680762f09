"""An order's SLA clock: started at filing, paused while on hold or awaiting payment.

`on_event` is called by `orders.moves.record_event`, the one place every status change of an
order passes (filing, the hand-outs that claim with a conditional UPDATE, and `move`). It keeps
`orders.due_at` equal to the resolution deadline, so the one overdue definition (and its SQL)
agrees with the SLA.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.catalog.models import OrderType
from server.kernel.clock import LOCAL_TZ
from server.orders.models import Order
from server.orders.rules.states import Status
from server.sla.models import BusinessCalendar, BusinessDay, SlaClock, SlaPolicy
from server.sla.rules import (
    HOLIDAY,
    Calendar,
    Milestones,
    business_between,
    milestones,
    pick_policy,
)

# The clock stands still while the order waits for parts (待备件) or for the tenant's payment.
PAUSED: frozenset[str] = frozenset({Status.ON_HOLD.value, Status.AWAITING_PAYMENT.value})


def load_calendar(session: Session, *, org_id: int) -> Calendar:
    """The organisation's business calendar (Mon–Fri 09:00–18:00 until it sets one)."""
    week = session.get(BusinessCalendar, org_id)
    days = session.execute(
        select(BusinessDay.day, BusinessDay.kind).where(BusinessDay.org_id == org_id)
    ).all()
    holidays = frozenset(d for d, kind in days if kind == HOLIDAY)
    workdays = frozenset(d for d, kind in days if kind != HOLIDAY)
    if week is None:
        return Calendar(tz=LOCAL_TZ, holidays=holidays, workdays=workdays)
    return Calendar(
        tz=LOCAL_TZ,
        weekdays=frozenset(int(d) for d in week.weekdays),
        opens=week.opens,
        closes=week.closes,
        holidays=holidays,
        workdays=workdays,
    )


def clock_calendar(session: Session, *, clock: SlaClock) -> Calendar | None:
    """The calendar a clock counts in: the organisation's, or none (wall clock)."""
    return load_calendar(session, org_id=clock.org_id) if clock.business_hours else None


def policy_for(
    session: Session, *, org_id: int, order_type_id: int, priority: str
) -> SlaPolicy | None:
    """The order type's policy for this priority (its own, else the type's general one)."""
    policies = session.scalars(
        select(SlaPolicy).where(
            SlaPolicy.org_id == org_id, SlaPolicy.order_type_id == order_type_id
        )
    ).all()
    return pick_policy([(p.priority, p) for p in policies], priority=priority)


def start_clock(session: Session, *, order: Order, now: datetime) -> SlaClock:
    """Compute a new order's deadlines and set `due_at` to the resolution deadline."""
    policy = policy_for(
        session, org_id=order.org_id, order_type_id=order.order_type_id, priority=order.priority
    )
    calendar = None
    response: Milestones | None = None
    if policy is None:
        order_type = session.get(OrderType, order.order_type_id)
        assert order_type is not None
        # Without a policy the type's sla_hours, on the wall clock, as before policies existed.
        resolution = milestones(now, timedelta(hours=order_type.sla_hours), None)
    else:
        if policy.business_hours:
            calendar = load_calendar(session, org_id=order.org_id)
        resolution = milestones(now, timedelta(minutes=policy.resolution_minutes), calendar)
        if policy.response_minutes is not None:
            response = milestones(now, timedelta(minutes=policy.response_minutes), calendar)
    clock = SlaClock(
        org_id=order.org_id,
        order_id=order.id,
        policy_id=policy.id if policy is not None else None,
        business_hours=calendar is not None,
        started_at=now,
        paused_at=now if order.status in PAUSED else None,
        response_level=0,
        resolution_level=0,
    )
    _set(clock, response=response, resolution=resolution)
    session.add(clock)
    order.due_at = resolution.due_at
    return clock


def on_event(session: Session, *, order: Order, before: str | None, now: datetime) -> None:
    """Keep the order's clock in step with a status change (start, pause, resume)."""
    if before is None:
        start_clock(session, order=order, now=now)
        return
    if (before in PAUSED) == (order.status in PAUSED):
        return
    clock = session.get(SlaClock, order.id)
    if clock is None:  # filed before clocks existed
        return
    if order.status in PAUSED:
        if clock.paused_at is None:
            clock.paused_at = now
        return
    if clock.paused_at is None:
        return
    calendar = clock_calendar(session, clock=clock)
    paused = business_between(clock.paused_at, now, calendar)
    clock.paused_at = None
    response, resolution = stones(clock)
    _set(
        clock,
        response=response.shifted(paused, calendar) if response is not None else None,
        resolution=resolution.shifted(paused, calendar),
    )
    order.due_at = clock.resolution_due_at


def record_urge(session: Session, *, order_id: int, now: datetime) -> int:
    """Count a desk urge (督办) on the order's clock; returns the count (0: no clock).

    The escalation the tick makes later carries this count (`timers._alert`), so the desk's
    chasing shows where the SLA's escalations are read.
    """
    row = session.execute(
        update(SlaClock)
        .where(SlaClock.order_id == order_id)
        .values(urge_count=SlaClock.urge_count + 1, last_urged_at=now)
        .returning(SlaClock.urge_count)
        .execution_options(synchronize_session=False)
    ).first()
    return int(row[0]) if row is not None else 0


def stones(clock: SlaClock) -> tuple[Milestones | None, Milestones]:
    """The clock's response (if it has one) and resolution milestones."""
    response = None
    if (
        clock.response_remind_at is not None
        and clock.response_due_at is not None
        and clock.response_escalate_at is not None
    ):
        response = Milestones(
            clock.response_remind_at, clock.response_due_at, clock.response_escalate_at
        )
    resolution = Milestones(
        clock.resolution_remind_at, clock.resolution_due_at, clock.resolution_escalate_at
    )
    return response, resolution


def _set(clock: SlaClock, *, response: Milestones | None, resolution: Milestones) -> None:
    if response is not None:
        clock.response_remind_at = response.remind_at
        clock.response_due_at = response.due_at
        clock.response_escalate_at = response.escalate_at
    clock.resolution_remind_at = resolution.remind_at
    clock.resolution_due_at = resolution.due_at
    clock.resolution_escalate_at = resolution.escalate_at
