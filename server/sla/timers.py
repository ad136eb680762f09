"""The SLA tick (every minute): reminders at 80 %, escalations past the deadline, visit reminders.

Idempotent by construction: a clock's levels only go up, each raised by a conditional UPDATE
(`… WHERE level < :new`) on rows taken with SKIP LOCKED, and every notification carries a
dedupe key. A tick run twice sends nothing twice; a tick run late after downtime sends the
highest level now due, once (a skipped reminder is not sent after the deadline has passed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from server.kernel.clock import LOCAL_TZ
from server.kernel.roles import Role
from server.notifications.send import desk_users, notify, staff_user
from server.orders.actors import Actor
from server.orders.models import Order
from server.orders.moves import Action, Status, append_event
from server.orders.rules.states import next_status, sources
from server.sla.clocks import PAUSED, clock_calendar, stones
from server.sla.models import SlaClock
from server.sla.rules import (
    VISIT_REMINDER_MINUTES,
    Level,
    Milestones,
    add_business,
    business_between,
    to_send,
)

SYSTEM = "system"
RESPONSE = "response"
RESOLUTION = "resolution"
# The escalate action applies to every open order: the statuses it may start from.
OPEN_VALUES = sorted(s.value for s in sources(Action.ESCALATE))
# Until it is taken (accepted or grabbed), an order runs against its response deadline.
UNTAKEN_VALUES = sorted((Status.PENDING.value, Status.ASSIGNED.value))
# A booked visit is reminded of once the order is paid for (or free) and still open.
VISIT_VALUES = sorted(v for v in OPEN_VALUES if v != Status.AWAITING_PAYMENT.value)
# A paused order's due_at is looked at when it comes this close, and set an hour ahead.
HOLD_LOOKAHEAD = timedelta(minutes=10)
HOLD_HORIZON = timedelta(hours=1)
NAMES = {Level.REMINDED: "remind", Level.OVERDUE: "overdue", Level.ESCALATED: "escalated"}


@dataclass(frozen=True)
class TickReport:
    reminded: int = 0
    escalated: int = 0
    visits: int = 0
    seen: int = 0  # rows looked at (a full batch means: run again)


@dataclass(frozen=True)
class _Deadline:
    name: str
    level: InstrumentedAttribute[int]
    remind_at: InstrumentedAttribute[datetime | None] | InstrumentedAttribute[datetime]
    due_at: InstrumentedAttribute[datetime | None] | InstrumentedAttribute[datetime]
    escalate_at: InstrumentedAttribute[datetime | None] | InstrumentedAttribute[datetime]
    statuses: list[str]


_DEADLINES = (
    _Deadline(
        RESPONSE,
        SlaClock.response_level,
        SlaClock.response_remind_at,
        SlaClock.response_due_at,
        SlaClock.response_escalate_at,
        UNTAKEN_VALUES,
    ),
    _Deadline(
        RESOLUTION,
        SlaClock.resolution_level,
        SlaClock.resolution_remind_at,
        SlaClock.resolution_due_at,
        SlaClock.resolution_escalate_at,
        OPEN_VALUES,
    ),
)


def _due(deadline: _Deadline, now: datetime) -> ColumnElement[bool]:
    """`rules.level_due` above the level sent, in SQL (the rows worth a look)."""
    return or_(
        and_(deadline.level < int(Level.REMINDED), deadline.remind_at <= now),
        and_(deadline.level < int(Level.OVERDUE), _past(deadline.due_at, now)),
        and_(deadline.level < int(Level.ESCALATED), _past(deadline.escalate_at, now)),
    )


def _past(
    instant: InstrumentedAttribute[datetime | None] | InstrumentedAttribute[datetime],
    now: datetime,
) -> ColumnElement[bool]:
    return instant < now


def tick(session: Session, *, now: datetime, batch: int = 200) -> TickReport:
    """One batch of each kind of alert now due; run again while `seen` fills a batch."""
    reminded = escalated = seen = 0
    for deadline in _DEADLINES:
        rows = session.execute(
            select(SlaClock, Order)
            .join(Order, Order.id == SlaClock.order_id)
            .where(
                SlaClock.paused_at.is_(None),
                Order.status.in_(deadline.statuses),
                _due(deadline, now),
            )
            .order_by(SlaClock.order_id)
            .limit(batch)
            .with_for_update(of=(SlaClock, Order), skip_locked=True)
        ).all()
        seen = max(seen, len(rows))
        for clock, order in rows:
            response, resolution = stones(clock)
            marks = resolution if deadline.name == RESOLUTION else response
            if marks is None:
                continue
            level = to_send(marks, sent=Level(getattr(clock, deadline.level.key)), now=now)
            if level is None or not _raise(session, clock, deadline, level):
                continue
            _alert(session, order=order, deadline=deadline.name, level=level, marks=marks, now=now)
            if level is Level.REMINDED:
                reminded += 1
            else:
                escalated += 1
    visits = remind_visits(session, now=now, batch=batch)
    held = hold_deadlines(session, now=now, batch=batch)
    return TickReport(reminded, escalated, visits, max(seen, visits, held))


def hold_deadlines(session: Session, *, now: datetime, batch: int = 200) -> int:
    """Keep paused orders from turning overdue in the console while their clock stands still.

    A paused clock keeps the deadlines it had; on resume they move by the paused time
    (`clocks.on_event`). Meanwhile `orders.due_at` of a paused order about to pass is moved to
    where the deadline would be if the clock resumed in an hour, so the one overdue
    definition keeps agreeing with the SLA. An order already overdue when it was paused stays
    overdue.
    """
    rows = session.execute(
        select(SlaClock, Order)
        .join(Order, Order.id == SlaClock.order_id)
        .where(
            SlaClock.paused_at.is_not(None),
            Order.status.in_(sorted(PAUSED)),
            now + HOLD_LOOKAHEAD >= Order.due_at,
            SlaClock.resolution_due_at > SlaClock.paused_at,
        )
        .order_by(SlaClock.order_id)
        .limit(batch)
        .with_for_update(of=(SlaClock, Order), skip_locked=True)
    ).all()
    for clock, order in rows:
        assert clock.paused_at is not None
        calendar = clock_calendar(session, clock=clock)
        paused = business_between(clock.paused_at, now + HOLD_HORIZON, calendar)
        order.due_at = add_business(clock.resolution_due_at, paused, calendar)
    session.flush()
    return len(rows)


def _raise(session: Session, clock: SlaClock, deadline: _Deadline, level: Level) -> bool:
    """Record `level` as sent unless it (or a higher one) already was; True if this call did."""
    raised = session.execute(
        update(SlaClock)
        .where(SlaClock.order_id == clock.order_id, deadline.level < int(level))
        .values({deadline.level.key: int(level)})
        .returning(SlaClock.order_id)
        .execution_options(synchronize_session=False)
    ).first()
    session.expire(clock)
    return raised is not None


def _alert(
    session: Session,
    *,
    order: Order,
    deadline: str,
    level: Level,
    marks: Milestones,
    now: datetime,
) -> None:
    due = marks.due_at.astimezone(LOCAL_TZ)
    data = {"deadline": deadline, "due": f"{due:%m-%d %H:%M}"}
    key = f"sla:{order.id}:{deadline}:{NAMES[level]}"
    if level is Level.REMINDED:
        notify(
            session,
            org_id=order.org_id,
            kind="sla_reminder",
            user_ids=staff_user(session, order.assignee_id),
            now=now,
            order_id=order.id,
            data=data,
            dedupe_key=key,
        )
        return
    escalation = 1 if level is Level.OVERDUE else 2
    urges = session.scalar(select(SlaClock.urge_count).where(SlaClock.order_id == order.id)) or 0
    # The escalation is a step on the timeline (same status before and after).
    status = next_status(Status(order.status), Action.ESCALATE).value
    append_event(
        session,
        org_id=order.org_id,
        order_id=order.id,
        action=Action.ESCALATE,
        from_status=order.status,
        to_status=status,
        actor=Actor(user_id=0, org_id=order.org_id, role=SYSTEM),
        now=now,
        data={
            "level": escalation,
            "deadline": deadline,
            "due_at": marks.due_at.isoformat(),
            # The desk's urges (督办) and the tenant's (催单) so far: the escalation counts them.
            "urges": urges,
            "tenant_urges": order.tenant_urge_count,
        },
    )
    to = Role.DISPATCHER if escalation == 1 else Role.ADMIN
    notify(
        session,
        org_id=order.org_id,
        kind="order_overdue" if escalation == 1 else "order_escalated",
        user_ids=desk_users(session, org_id=order.org_id, role=to),
        now=now,
        order_id=order.id,
        data={**data, "level": escalation, "urges": urges},
        dedupe_key=key,
    )


def remind_visits(
    session: Session, *, now: datetime, batch: int = 200, minutes: int = VISIT_REMINDER_MINUTES
) -> int:
    """Remind the technician and the tenant of visits starting within `minutes`; once a slot."""
    rows = session.execute(
        select(SlaClock, Order)
        .join(Order, Order.id == SlaClock.order_id)
        .where(
            Order.slot_start.is_not(None),
            Order.slot_start > now,
            Order.slot_start <= now + timedelta(minutes=minutes),
            Order.status.in_(VISIT_VALUES),
            SlaClock.visit_reminded_for.is_distinct_from(Order.slot_start),
        )
        .order_by(Order.slot_start, Order.id)
        .limit(batch)
        .with_for_update(of=(SlaClock, Order), skip_locked=True)
    ).all()
    sent = 0
    for clock, order in rows:
        assert order.slot_start is not None
        marked = session.execute(
            update(SlaClock)
            .where(
                SlaClock.order_id == clock.order_id,
                SlaClock.visit_reminded_for.is_distinct_from(order.slot_start),
            )
            .values(visit_reminded_for=order.slot_start)
            .returning(SlaClock.order_id)
            .execution_options(synchronize_session=False)
        ).first()
        session.expire(clock)
        if marked is None:
            continue
        slot = order.slot_start.astimezone(LOCAL_TZ)
        data = {"slot": f"{slot:%m-%d %H:%M}"}
        key = f"visit:{order.id}:{slot:%Y%m%d%H%M}"
        notify(
            session,
            org_id=order.org_id,
            kind="visit_reminder",
            user_ids=staff_user(session, order.assignee_id),
            now=now,
            order_id=order.id,
            data=data,
            dedupe_key=key,
        )
        notify(
            session,
            org_id=order.org_id,
            kind="visit_reminder_tenant",
            user_ids=[order.reporter_user_id],
            now=now,
            order_id=order.id,
            data=data,
            dedupe_key=key,
        )
        sent += 1
    return sent
