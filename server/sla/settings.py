"""Console settings of the SLA: policies per order type (and priority), the business calendar.

A changed policy or calendar applies to orders filed afterwards; running clocks keep the
deadlines they were given (a deadline promised to a tenant does not move under them).
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catalog.models import OrderType
from server.db.scoping import apply_changes, ensure_absent, get_owned, reference_owned
from server.kernel.errors import ValidationFailed
from server.sla.models import BusinessCalendar, BusinessDay, SlaPolicy
from server.sla.rules import DEFAULT_CLOSES, DEFAULT_OPENS, DEFAULT_WEEKDAYS

DUPLICATE_POLICY = "该类型（及优先级）已有时效规则"


def list_policies(session: Session, *, org_id: int) -> list[SlaPolicy]:
    """The organisation's SLA policies, by order type then priority (general first)."""
    return list(
        session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.org_id == org_id)
            .order_by(SlaPolicy.order_type_id, SlaPolicy.priority.nulls_first(), SlaPolicy.id)
        )
    )


def create_policy(session: Session, *, org_id: int, data: dict[str, Any]) -> SlaPolicy:
    """Add a policy for an order type, for one priority or (priority null) for all."""
    reference_owned(
        session,
        OrderType,
        data["order_type_id"],
        org_id=org_id,
        field="order_type_id",
        message="报修类型不存在",
    )
    _ensure_unique(session, order_type_id=data["order_type_id"], priority=data.get("priority"))
    policy = SlaPolicy(org_id=org_id, **data)
    session.add(policy)
    session.flush()
    return policy


def update_policy(
    session: Session, *, org_id: int, policy_id: int, changes: dict[str, Any]
) -> SlaPolicy:
    """Change a policy's deadlines, its priority or whether it counts business hours."""
    policy = get_owned(session, SlaPolicy, policy_id, org_id=org_id, message="时效规则不存在")
    if "priority" in changes and changes["priority"] != policy.priority:
        _ensure_unique(session, order_type_id=policy.order_type_id, priority=changes["priority"])
    changes.pop("order_type_id", None)  # a policy stays with its type
    apply_changes(policy, changes)
    session.flush()
    return policy


def delete_policy(session: Session, *, org_id: int, policy_id: int) -> None:
    """Remove a policy; the type falls back to its general policy or its sla_hours."""
    policy = get_owned(session, SlaPolicy, policy_id, org_id=org_id, message="时效规则不存在")
    session.delete(policy)
    session.flush()


def _ensure_unique(session: Session, *, order_type_id: int, priority: str | None) -> None:
    same = select(SlaPolicy.id).where(SlaPolicy.order_type_id == order_type_id)
    same = same.where(
        SlaPolicy.priority.is_(None) if priority is None else SlaPolicy.priority == priority
    )
    ensure_absent(session, same, field="priority", message=DUPLICATE_POLICY)


def get_calendar(session: Session, *, org_id: int) -> dict[str, Any]:
    """The working week and the dated exceptions (holidays, make-up workdays)."""
    week = session.get(BusinessCalendar, org_id)
    days = session.scalars(
        select(BusinessDay).where(BusinessDay.org_id == org_id).order_by(BusinessDay.day)
    ).all()
    return {
        "customised": week is not None,
        "weekdays": sorted(week.weekdays) if week is not None else list(DEFAULT_WEEKDAYS),
        "opens": week.opens if week is not None else DEFAULT_OPENS,
        "closes": week.closes if week is not None else DEFAULT_CLOSES,
        "days": list(days),
    }


def set_week(
    session: Session, *, org_id: int, weekdays: list[int], opens: time, closes: time
) -> dict[str, Any]:
    """Set the working week (ISO weekdays, one local opening window a day)."""
    if not opens < closes:
        raise ValidationFailed.field("closes", "下班时间须晚于上班时间")
    week = session.get(BusinessCalendar, org_id)
    if week is None:
        week = BusinessCalendar(org_id=org_id)
        session.add(week)
    week.weekdays, week.opens, week.closes = sorted(set(weekdays)), opens, closes
    session.flush()
    return get_calendar(session, org_id=org_id)


def add_day(session: Session, *, org_id: int, day: date, kind: str, name: str) -> BusinessDay:
    """Mark a date a holiday or a make-up workday."""
    ensure_absent(
        session,
        select(BusinessDay.id).where(BusinessDay.org_id == org_id, BusinessDay.day == day),
        field="day",
        message="该日期已设置",
    )
    row = BusinessDay(org_id=org_id, day=day, kind=kind, name=name)
    session.add(row)
    session.flush()
    return row


def delete_day(session: Session, *, org_id: int, day_id: int) -> None:
    """Remove a dated exception: the date follows the working week again."""
    row = get_owned(session, BusinessDay, day_id, org_id=org_id, message="日期不存在")
    session.delete(row)
    session.flush()
