"""Which technicians an order type reaches, in SQL, beside its Python spelling.

`rules/eligibility.py` says it in Python; this module says it to the database. Every query that
filters by it (the pool, the grab claim, the staff load view) uses these, and
`tests/orders/test_rule_spellings.py` checks the two agree row by row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, bindparam, exists, or_

from server.catalog.models import OrderType
from server.orders.models import Order
from server.orders.rules.eligibility import is_eligible


def type_reaches(order_type: OrderType, *, department_id: int | None, post_id: int | None) -> bool:
    """Python side, for a loaded order type."""
    return is_eligible(
        type_department_id=order_type.department_id,
        type_post_id=order_type.post_id,
        staff_department_id=department_id,
        staff_post_id=post_id,
    )


def eligible_types(department_id: Any, post_id: Any) -> ColumnElement[bool]:
    """`rules.eligibility.is_eligible` on `order_types` rows, for a technician's binding.

    The arguments are values or bind parameters; a technician without a department (or post)
    compares NULL, which matches no binding — as in Python.
    """
    return and_(
        or_(OrderType.department_id.is_(None), OrderType.department_id == department_id),
        or_(OrderType.post_id.is_(None), OrderType.post_id == post_id),
    )


# The same rule with the technician's binding as parameters, for statements built once.
ELIGIBLE_BY_PARAMS = eligible_types(
    bindparam("department_id", type_=BigInteger), bindparam("post_id", type_=BigInteger)
)


def order_eligible(department_id: Any, post_id: Any) -> ColumnElement[bool]:
    """The order's type (`orders.order_type_id`) reaches this binding."""
    return exists().where(
        OrderType.id == Order.order_type_id, eligible_types(department_id, post_id)
    )
