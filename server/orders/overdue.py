"""Overdue in SQL, beside its Python spelling in `rules/overdue.py`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_

from server.orders.models import Order
from server.orders.rules.overdue import OPEN_VALUES


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """`rules.overdue.is_overdue` on `orders` rows."""
    return and_(
        Order.status.in_(sorted(OPEN_VALUES)), Order.due_at.is_not(None), Order.due_at < now
    )
