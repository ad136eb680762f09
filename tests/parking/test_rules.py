"""Plate formats, value lists and rental reminders: pure functions, many examples."""

from __future__ import annotations

from datetime import date

import pytest

from server.parking.rules import (
    OWNED,
    PROVINCES,
    RENTED,
    Period,
    energy_of,
    normalise_plate,
    period_problem,
    plate_kind,
    plate_problem,
    reminder_due,
)


@pytest.mark.parametrize(
    ("typed", "plate", "kind"),
    [
        ("粤B12345", "粤B12345", "ordinary"),
        ("京A8888Q", "京A8888Q", "ordinary"),
        ("沪AB1C23", "沪AB1C23", "ordinary"),
        ("粤b·12345", "粤B12345", "ordinary"),
        (" 粤B 12345 ", "粤B12345", "ordinary"),
        ("粤B-12345", "粤B12345", "ordinary"),
        ("粤Ｂ１２３４５", "粤B12345", "ordinary"),  # full-width letters and digits
        ("川AZ9999", "川AZ9999", "ordinary"),
        # New energy, small cars: D/F (and since 2022 A B C E / G H J K) then 1 alnum + 4 digits
        ("京AD12345", "京AD12345", "new_energy"),
        ("粤BF12345", "粤BF12345", "new_energy"),
        ("沪ADA1234", "沪ADA1234", "new_energy"),
        ("浙AA12345", "浙AA12345", "new_energy"),
        ("苏EK12345", "苏EK12345", "new_energy"),
        # New energy, large vehicles: five digits then D/F
        ("粤B12345D", "粤B12345D", "new_energy"),
        ("京A12345F", "京A12345F", "new_energy"),
        ("粤b12345d", "粤B12345D", "new_energy"),
        # Suffixes
        ("粤B1234学", "粤B1234学", "coach"),
        ("鲁A1234挂", "鲁A1234挂", "trailer"),
        ("京A1234警", "京A1234警", "police"),
        ("沪A1234领", "沪A1234领", "consulate"),
        ("使014578", "使014578", "embassy"),
        ("粤Z1234港", "粤Z1234港", "hk_macao"),
        ("粤ZA123澳", "粤ZA123澳", "hk_macao"),
    ],
)
def test_valid_plates(typed, plate, kind):
    assert normalise_plate(typed) == plate
    assert plate_kind(plate) == kind
    assert plate_problem(plate) is None


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "请填写车牌号"),
        ("AB12345", "省份简称"),  # no province
        ("港A12345", "省份简称"),  # not a mainland province abbreviation
        ("粤112345", "发牌机关字母"),  # second character must be a letter
        ("粤I12345", "发牌机关字母"),  # I is never a letter on a plate
        ("粤O12345", "发牌机关字母"),
        ("粤BI2345", "I 或 O"),
        ("粤B1234O", "I 或 O"),
        ("粤B1234", "7 位"),  # too short
        ("粤B123456789", "7 位"),  # too long
        ("粤BX12345", "新能源"),  # X is no energy mark
        ("粤BD1234A", "新能源"),  # small NEV: the last four are digits
        ("粤B1234AD", "新能源"),  # large NEV: five digits before D/F
        ("粤B12345E", "新能源"),  # large NEV: only D or F at the end
        ("粤B123学", "格式应为"),  # coach plates have four characters before 学
        ("使01457", "使馆"),
        ("粤B1234#", "格式"),
    ],
)
def test_invalid_plates(typed, reason):
    plate = normalise_plate(typed)
    assert plate_kind(plate) is None
    problem = plate_problem(plate)
    assert problem is not None and reason in problem, problem


def test_every_province_abbreviation_is_accepted():
    assert len(PROVINCES) == 31
    for province in PROVINCES:
        assert plate_kind(f"{province}A12345") == "ordinary"
        assert plate_kind(f"{province}AD12345") == "new_energy"


def test_energy_of_new_energy_plates():
    assert energy_of("京AD12345") == "electric"
    assert energy_of("京AA12345") == "electric"
    assert energy_of("粤BF12345") == "hybrid"
    assert energy_of("粤B12345D") == "electric"
    assert energy_of("粤B12345F") == "hybrid"
    assert energy_of("粤B12345") is None


def test_periods_overlap_both_ends_included():
    march = Period(date(2026, 3, 1), date(2026, 3, 31))
    assert march.overlaps(Period(date(2026, 3, 31), None))
    assert not march.overlaps(Period(date(2026, 4, 1), None))
    assert march.overlaps(Period(date(2026, 1, 1), date(2026, 3, 1)))
    assert not march.overlaps(Period(date(2026, 1, 1), date(2026, 2, 28)))
    assert Period(date(2026, 1, 1), None).overlaps(Period(date(2030, 1, 1), None))


def test_period_problems():
    start = date(2026, 3, 1)
    assert period_problem(OWNED, start, None) is None
    assert period_problem(RENTED, start, None) == ("end_date", "租用车位须填写合同结束日期")
    assert period_problem(RENTED, start, date(2026, 2, 28))[0] == "end_date"
    assert period_problem(RENTED, start, start) is None


def test_reminder_due_window():
    end = date(2026, 6, 30)

    def due(today, *, kind=RENTED, days=30, ended=False):
        return reminder_due(kind=kind, end_date=end, remind_days=days, today=today, ended=ended)

    assert not due(date(2026, 5, 30))
    assert due(date(2026, 5, 31))  # exactly 30 days before
    assert due(end)
    assert not due(date(2026, 7, 1))  # already over
    assert not due(date(2026, 6, 15), ended=True)
    assert not due(date(2026, 6, 15), kind=OWNED)
    assert due(end, days=0) and not due(date(2026, 6, 29), days=0)
