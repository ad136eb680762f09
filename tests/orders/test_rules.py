"""Pure domain rules: grab caps, eligibility, personal data."""

from __future__ import annotations

import pytest

from server.kernel.personal_data import mask_id_number, mask_phone, mask_text, normalise_phone
from server.orders.rules.eligibility import is_eligible
from server.orders.rules.grab_cap import effective_grab_cap


@pytest.mark.parametrize(
    ("org", "dept", "tech", "expected"),
    [(5, None, None, 5), (5, 3, None, 3), (5, 3, 1, 1), (5, None, 0, 0), (5, 0, None, 0)],
)
def test_most_specific_cap_wins(org, dept, tech, expected):
    assert (
        effective_grab_cap(
            organisation_default=org, department_default=dept, technician_override=tech
        )
        == expected
    )


@pytest.mark.parametrize(
    ("type_dept", "type_post", "staff_dept", "staff_post", "expected"),
    [
        (None, None, None, None, True),
        (1, None, 1, None, True),
        (1, None, 2, 9, False),
        (None, 7, 3, 7, True),
        (None, 7, 3, 8, False),
        (1, 7, 1, 7, True),
        (1, 7, 1, 8, False),
        (1, 7, 2, 7, False),
    ],
)
def test_eligibility(type_dept, type_post, staff_dept, staff_post, expected):
    assert (
        is_eligible(
            type_department_id=type_dept,
            type_post_id=type_post,
            staff_department_id=staff_dept,
            staff_post_id=staff_post,
        )
        is expected
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800000001", "13800000001"),
        ("+86 138-0000-0001", "13800000001"),
        ("008613800000001", "13800000001"),
        ("12800000001", None),
        ("1380000000", None),
        ("phone", None),
    ],
)
def test_normalise_phone(raw, expected):
    assert normalise_phone(raw) == expected


def test_masking():
    assert mask_phone("13800000001") == "138****0001"
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_text("call 13800000001 re id 11010519491231002X") == (
        "call 138****0001 re id 110105********002X"
    )
    assert mask_text("order 20261122000123456") == "order 20261122000123456"
