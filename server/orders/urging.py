"""Urging an open order: 督办 by the desk, 催单 by the tenant. The status stays; the timeline,
the SLA clock and the people who can act on the order hear of it.

- The desk may urge any open order (overdue or not), as often as it likes: the holder gets an
  urgent push (or, while nobody holds it, every technician of its pool and the lead of the
  order type's department, 部门负责人), the timeline shows
  it with its reason and the SLA clock counts it (`sla.clocks.record_urge`).
- A tenant may urge an open order they may act on once it has waited
  `tenant_urge_after_minutes` since filing, and again only after
  `tenant_urge_interval_minutes` (organisation settings). One conditional UPDATE on
  `orders.last_tenant_urged_at` decides, so of two urges at once exactly one is recorded; the
  other answers 409 `urge_too_soon` saying when it may be urged again.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import literal, or_, update
from sqlalchemy.orm import Session

from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import InvalidTransition, NotFound, UrgeTooSoon
from server.notifications.send import (
    desk_users,
    eligible_technicians,
    notify,
    order_facts,
    staff_user,
)
from server.orders.actors import Actor
from server.orders.lists import require_tenant_access
from server.orders.models import Order
from server.orders.moves import append_event, load_order
from server.orders.rules.states import HELD_VALUES, LABELS, Action, Status, sources
from server.organisation.models import Organisation
from server.sla import clocks as sla_clocks
from server.staff.structure import department_lead_user

URGEABLE_VALUES: tuple[str, ...] = tuple(sorted(s.value for s in sources(Action.TENANT_URGE)))
_URGEABLE_LITERALS = [literal(v, literal_execute=True) for v in URGEABLE_VALUES]


def next_tenant_urge_at(
    *,
    created_at: datetime,
    last_urged_at: datetime | None,
    after: timedelta,
    interval: timedelta,
) -> datetime:
    """The first instant a tenant may urge: waited `after` since filing, `interval` since the
    last urge (the SQL spelling is the WHERE of `tenant_urge_order`'s UPDATE)."""
    earliest = created_at + after
    if last_urged_at is not None:
        earliest = max(earliest, last_urged_at + interval)
    return earliest


def _refuse_closed(status: str) -> None:
    if status not in URGEABLE_VALUES:
        raise InvalidTransition(f"工单当前状态（{LABELS[Status(status)]}）不能催办")


def urge_order(
    session: Session, *, actor: Actor, order_id: int, reason: str, now: datetime
) -> Order:
    """督办: chase an open order; its holder (or its pool and its department's lead) gets an
    urgent push."""
    order = load_order(session, org_id=actor.org_id, order_id=order_id, lock=True)
    _refuse_closed(order.status)
    urges = sla_clocks.record_urge(session, order_id=order.id, now=now)
    append_event(
        session,
        org_id=order.org_id,
        order_id=order.id,
        action=Action.URGE,
        from_status=order.status,
        to_status=order.status,
        actor=actor,
        now=now,
        reason=reason,
        data={"urges": urges},
    )
    facts = order_facts(session, order.id)
    assert facts is not None
    if order.status in HELD_VALUES:
        recipients = staff_user(session, order.assignee_id)
    else:
        # Nobody holds it: its pool, and the lead of its type's department.
        lead = department_lead_user(session, org_id=order.org_id, order_type_id=order.order_type_id)
        recipients = sorted({*eligible_technicians(session, order=facts), *lead})
    notify(
        session,
        org_id=order.org_id,
        kind="order_urged",
        user_ids=recipients,
        now=now,
        order_id=order.id,
        data={"reason": reason},
        order=facts,
    )
    return order


def tenant_urge_order(session: Session, *, actor: Actor, order_id: int, now: datetime) -> Order:
    """催单: the tenant chases their open order; the desk and the holder are told."""
    require_tenant_access(session, actor=actor, order_id=order_id, now=now)
    org = session.get(Organisation, actor.org_id)
    if org is None:
        raise NotFound("工单不存在")
    after = timedelta(minutes=org.tenant_urge_after_minutes)
    interval = timedelta(minutes=org.tenant_urge_interval_minutes)
    urged = session.execute(
        update(Order)
        .where(
            Order.id == order_id,
            Order.org_id == actor.org_id,
            Order.status.in_(_URGEABLE_LITERALS),
            Order.created_at <= now - after,
            or_(
                Order.last_tenant_urged_at.is_(None),
                Order.last_tenant_urged_at <= now - interval,
            ),
        )
        .values(last_tenant_urged_at=now, tenant_urge_count=Order.tenant_urge_count + 1)
        .returning(Order.status, Order.tenant_urge_count)
        .execution_options(synchronize_session=False)
    ).first()
    order = load_order(session, org_id=actor.org_id, order_id=order_id)
    if urged is None:
        _refuse_closed(order.status)
        when = next_tenant_urge_at(
            created_at=order.created_at,
            last_urged_at=order.last_tenant_urged_at,
            after=after,
            interval=interval,
        )
        wait = math.ceil((when - now).total_seconds())
        raise UrgeTooSoon(
            f"催单过于频繁，请于 {when.astimezone(LOCAL_TZ):%m-%d %H:%M} 后再催",
            retry_after=wait,
        )
    status, count = urged
    append_event(
        session,
        org_id=order.org_id,
        order_id=order.id,
        action=Action.TENANT_URGE,
        from_status=status,
        to_status=status,
        actor=actor,
        now=now,
        data={"count": int(count)},
    )
    facts = order_facts(session, order.id)
    assert facts is not None
    notify(
        session,
        org_id=order.org_id,
        kind="tenant_urged",
        user_ids=desk_users(session, org_id=order.org_id),
        now=now,
        order_id=order.id,
        order=facts,
    )
    if status in HELD_VALUES:
        notify(
            session,
            org_id=order.org_id,
            kind="tenant_urged_tech",
            user_ids=staff_user(session, order.assignee_id),
            now=now,
            order_id=order.id,
            order=facts,
        )
    return order
