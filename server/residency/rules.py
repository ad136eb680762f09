"""住户生命周期 (业主入伙, 家庭成员, 过户, 拆分 / 合并房, 收费对象): the pure rules.

Dates are local (Asia/Shanghai) days, periods inclusive at both ends (as `customer_rooms`).
A change that takes effect on day D ends what it replaces on D - 1 and starts what replaces it
on D: on every day exactly one side holds, so "who lived here on that day" has one answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

# Who may head a household: the owner or the tenant (a member's own relation is 'resident').
HEAD_RELATIONS = ("owner", "tenant")
MEMBER_RELATION = "resident"
# 家庭成员 relation labels the desk picks from (free text is refused: the reports group by it).
FAMILY_LABELS = ("配偶", "子女", "父母", "兄弟姐妹", "祖父母", "孙子女", "亲属", "保姆", "其他")
# What happened to a room (房屋沿革).
LINEAGE_KINDS = ("split", "merge")
LINEAGE_LABELS = {"split": "拆分", "merge": "合并"}
# The report's buckets.
BUCKETS = ("day", "month")
# A split makes at most this many rooms; a merge takes at most this many.
MAX_PARTS = 20


def last_day_before(day: date) -> date:
    """The end date of what a change on `day` replaces: the day before."""
    return day - timedelta(days=1)


def in_force(start: date, end: date | None, day: date) -> bool:
    """Whether a period [start, end] (end None: open) holds on `day`."""
    return start <= day and (end is None or end >= day)


def may_end_on(start: date, day: date) -> bool:
    """Whether a relation started on `start` can be ended by a change taking effect on `day`
    (it must have held at least one day before it)."""
    return start < day


def split_area_problem(old: Decimal | None, parts: Sequence[Decimal | None]) -> str | None:
    """Why the new rooms' building areas don't carry the old one (None when they do).

    When the old room has an area and every new room gives one, they must add up to it
    exactly; giving some and not others is refused (the area would be lost or invented).
    """
    given = [p for p in parts if p is not None]
    if not given:
        return None
    if len(given) != len(parts):
        return "请为每个新房间填写建筑面积，或都不填"
    if old is not None and sum(given, Decimal(0)) != old:
        return f"新房间建筑面积之和应等于原房间的 {old} ㎡"
    return None


def merged_area(parts: Sequence[Decimal | None]) -> Decimal | None:
    """The merged room's area: the sum of the old ones, unknown if any is unknown."""
    if any(p is None for p in parts):
        return None
    return sum((p for p in parts if p is not None), Decimal(0))


def bucket_of(day: date, bucket: str) -> date:
    """The first day of the bucket `day` falls in."""
    return day if bucket == "day" else day.replace(day=1)
