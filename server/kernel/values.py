"""Value lists and limits defined once.

Database CHECK constraints, marshmallow validators and the OpenAPI enums are built from these
tuples, so a value added here is accepted everywhere at once (with a migration for the CHECK).
A list used by one area only lives in that area's `rules`; the lists here are shared by areas.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

# The grab cap (抢单数上限): organisation default and the ceiling of every level.
DEFAULT_GRAB_CAP = 5
MAX_GRAB_CAP = 100

# What an uploaded image was attached as: the uploads table holds it, orders and notices set it.
PURPOSE_REPORT = "report"  # a photo of the reported problem (filing)
PURPOSE_COMPLETION = "completion"  # a photo of the finished work
PURPOSE_MESSAGE = "message"  # a photo in the order's conversation
PURPOSE_NOTICE = "notice"  # an image of a notice (通知公告, 公告板)
UPLOAD_PURPOSES = (PURPOSE_REPORT, PURPOSE_COMPLETION, PURPOSE_MESSAGE, PURPOSE_NOTICE)


def values_of(enum: type[StrEnum]) -> tuple[str, ...]:
    """The plain string values of an enum, in declaration order."""
    return tuple(member.value for member in enum)


def _quoted(values: Iterable[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def sql_in(column: str, values: Iterable[str], *, nullable: bool = False) -> str:
    """The text of a CHECK constraint `column IN (...)` for a value list (NULL allowed or not)."""
    check = f"{column} IN ({_quoted(values)})"
    return f"{column} IS NULL OR {check}" if nullable else check


def sql_subset(column: str, values: Iterable[str]) -> str:
    """The text of a CHECK constraint: every element of the array `column` is a listed value."""
    return f"{column} <@ ARRAY[{_quoted(values)}]::varchar[]"


# What an order may be charged for (工时 labour, 耗材 materials, 服务项 service items): the
# subtype lists the kinds it allows, each order charge is one of them.
CHARGE_LABOR = "labor"
CHARGE_MATERIAL = "material"
CHARGE_SERVICE = "service"
CHARGE_KINDS = (CHARGE_LABOR, CHARGE_MATERIAL, CHARGE_SERVICE)

# What a pay-on-order (下单即收费) subtype asks before the order enters the pool: a deposit
# (订金) or the full spec price (全额).
PREPAY_DEPOSIT = "deposit"
PREPAY_FULL = "full"
PREPAY_KINDS = (PREPAY_DEPOSIT, PREPAY_FULL)
