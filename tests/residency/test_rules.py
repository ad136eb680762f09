"""The pure rules of residency: periods, areas, buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from server.residency.rules import (
    bucket_of,
    in_force,
    last_day_before,
    may_end_on,
    merged_area,
    split_area_problem,
)


def test_a_change_on_a_day_ends_what_it_replaces_the_day_before():
    assert last_day_before(date(2026, 3, 1)) == date(2026, 2, 28)
    assert may_end_on(date(2026, 1, 1), date(2026, 1, 2))
    assert not may_end_on(date(2026, 1, 2), date(2026, 1, 2))
    assert in_force(date(2026, 1, 1), date(2026, 1, 31), date(2026, 1, 31))
    assert not in_force(date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 1))
    assert in_force(date(2026, 1, 1), None, date(2099, 1, 1))


def test_split_areas_are_carried_exactly():
    old = Decimal("100.00")
    assert split_area_problem(old, [Decimal("60.00"), Decimal("40.00")]) is None
    assert split_area_problem(old, [None, None]) is None
    assert split_area_problem(None, [Decimal("1"), Decimal("2")]) is None
    assert "之和" in (split_area_problem(old, [Decimal("60"), Decimal("40.01")]) or "")
    assert "都不填" in (split_area_problem(old, [Decimal("60"), None]) or "")
    assert merged_area([Decimal("50.50"), Decimal("49.50")]) == Decimal("100.00")
    assert merged_area([Decimal("50.50"), None]) is None


def test_buckets():
    assert bucket_of(date(2026, 3, 17), "day") == date(2026, 3, 17)
    assert bucket_of(date(2026, 3, 17), "month") == date(2026, 3, 1)
