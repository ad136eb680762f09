"""The workbench's queues: each a statement over `orders` (filters and order), counted exactly
and read as summary rows (`orders.summaries.summary_page`: the count over `orders` alone, one
joined statement for the page).

Every queue is served by an index (migration 0016 adds the partial ones); the statuses are
literals so that prepared statements' generic plans keep using the partial indexes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select
from sqlalchemy.orm import Session

from server.complaints import figures as complaint_figures
from server.db.pagination import Page
from server.kernel.errors import NotFound
from server.orders.models import UNPAID_PAYMENT_STATUSES, Order
from server.orders.moves import Status
from server.orders.overdue import overdue_clause
from server.orders.summaries import summary_page
from server.orders.urging import URGEABLE_VALUES
from server.organisation.models import Organisation
from server.roles.grants import community_scope
from server.sla.models import SlaClock
from server.visits import figures as visit_figures
from server.workbench.rules import (
    COMPLAINTS_LABEL,
    LONG_HOLD,
    OVERDUE,
    QUEUE_LABELS,
    RETURN_VISIT_DUE,
    TENANT_URGED,
    UNACCEPTED,
    UNASSIGNED,
    UNPAID,
)


@dataclass(frozen=True)
class Context:
    """What a queue's statement may depend on: the organisation (its thresholds) and now."""

    org: Organisation
    now: datetime
    # The caller's data scope (server.roles): None, every community.
    communities: frozenset[int] | None = None


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    # The queue's orders, filtered and ordered (a select over `orders`).
    query: Callable[[Context], Select[Any]]


def _literal(value: str) -> ColumnElement[Any]:
    return literal(value, literal_execute=True)


def _base(ctx: Context) -> Select[Any]:
    stmt = select(Order).where(Order.org_id == ctx.org.id)
    if ctx.communities is not None:
        stmt = stmt.where(Order.community_id.in_(sorted(ctx.communities)))
    return stmt


def _unassigned(ctx: Context) -> Select[Any]:
    """待派单: in the pool, nobody has it; oldest first."""
    return (
        _base(ctx)
        .where(Order.status == _literal(Status.PENDING.value))
        .order_by(Order.created_at, Order.id)
    )


def _unaccepted(ctx: Context) -> Select[Any]:
    """派单未接: assigned, not accepted for `unaccepted_alert_minutes`; longest waiting first."""
    cutoff = ctx.now - timedelta(minutes=ctx.org.unaccepted_alert_minutes)
    return (
        _base(ctx)
        .where(Order.status == _literal(Status.ASSIGNED.value), Order.assigned_at <= cutoff)
        .order_by(Order.assigned_at, Order.id)
    )


def _overdue(ctx: Context) -> Select[Any]:
    """已超时: open past the resolution deadline (the one overdue definition); most late first."""
    return _base(ctx).where(overdue_clause(ctx.now)).order_by(Order.due_at, Order.id)


def _long_hold(ctx: Context) -> Select[Any]:
    """挂起过久: on hold (待备件) for `long_hold_minutes`, since the SLA clock paused (or, for an
    order without a clock, since it last changed); oldest first."""
    cutoff = ctx.now - timedelta(minutes=ctx.org.long_hold_minutes)
    paused_at = select(SlaClock.paused_at).where(SlaClock.order_id == Order.id).scalar_subquery()
    return (
        _base(ctx)
        .where(
            Order.status == _literal(Status.ON_HOLD.value),
            func.coalesce(paused_at, Order.updated_at) <= cutoff,
        )
        .order_by(Order.created_at, Order.id)
    )


def _unpaid(ctx: Context) -> Select[Any]:
    """办结待收款: completed, the tenant still owes; completed longest ago first."""
    return (
        _base(ctx)
        .where(
            Order.status == _literal(Status.COMPLETED.value),
            Order.payment_status.in_([_literal(v) for v in UNPAID_PAYMENT_STATUSES]),
        )
        .order_by(Order.completed_at, Order.id)
    )


def _tenant_urged(ctx: Context) -> Select[Any]:
    """住户催单: open orders the tenant urged (催单); most recently urged first."""
    return (
        _base(ctx)
        .where(
            Order.last_tenant_urged_at.is_not(None),
            Order.status.in_([_literal(v) for v in URGEABLE_VALUES]),
        )
        .order_by(Order.last_tenant_urged_at.desc(), Order.id.desc())
    )


def _return_visit_due(ctx: Context) -> Select[Any]:
    """待回访: low ratings, reopens and sampled closed orders awaiting the desk's call; the
    longest waiting first."""
    return (
        _base(ctx)
        .where(Order.id.in_(visit_figures.due_orders(org_id=ctx.org.id)))
        .order_by(Order.updated_at, Order.id)
    )


QUEUES: tuple[Queue, ...] = tuple(
    Queue(name, QUEUE_LABELS[name], query)
    for name, query in (
        (UNASSIGNED, _unassigned),
        (UNACCEPTED, _unaccepted),
        (OVERDUE, _overdue),
        (LONG_HOLD, _long_hold),
        (UNPAID, _unpaid),
        (TENANT_URGED, _tenant_urged),
        (RETURN_VISIT_DUE, _return_visit_due),
    )
)
_BY_NAME = {queue.name: queue for queue in QUEUES}


def _context(session: Session, *, org_id: int, now: datetime) -> Context:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("机构不存在")
    return Context(org=org, now=now, communities=community_scope(session))


def workbench(
    session: Session, *, org_id: int, now: datetime, page_size: int
) -> list[SimpleNamespace]:
    """Every queue: its name, label, exact count and first page."""
    ctx = _context(session, org_id=org_id, now=now)
    answer = []
    for queue in QUEUES:
        page = summary_page(session, queue.query(ctx), page=1, page_size=page_size)
        answer.append(
            SimpleNamespace(name=queue.name, label=queue.label, total=page.total, items=page.items)
        )
    return answer


def queue_counts(session: Session, *, org_id: int, now: datetime) -> list[SimpleNamespace]:
    """Every queue's name, label and exact count, in one statement (one count per queue, each
    by its index): the console's tiles, refreshed every few seconds."""
    ctx = _context(session, org_id=org_id, now=now)
    counts = [
        queue.query(ctx).with_only_columns(func.count()).order_by(None).scalar_subquery()
        for queue in QUEUES
    ]
    row = session.execute(select(*counts)).one()
    return [
        SimpleNamespace(name=queue.name, label=queue.label, total=int(total))
        for queue, total in zip(QUEUES, row, strict=True)
    ]


def open_complaints(session: Session, *, org_id: int, page_size: int) -> SimpleNamespace:
    """The open complaints and suggestions beside the queues: exact count, nearest deadline
    first."""
    return SimpleNamespace(
        label=COMPLAINTS_LABEL,
        total=complaint_figures.open_count(session, org_id=org_id),
        items=complaint_figures.first_open(session, org_id=org_id, limit=page_size),
    )


def queue_page(
    session: Session, *, org_id: int, name: str, now: datetime, page: int, page_size: int
) -> Page[SimpleNamespace]:
    """One page of one queue, exactly counted."""
    queue = _BY_NAME.get(name)
    if queue is None:
        raise NotFound("没有这个工作台队列")
    ctx = _context(session, org_id=org_id, now=now)
    return summary_page(session, queue.query(ctx), page=page, page_size=page_size)
