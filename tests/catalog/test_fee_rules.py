"""The fee switch and amount of a subtype, checked together."""

from __future__ import annotations

import pytest

from server.catalog.rules import fee_setting_problem


@pytest.mark.parametrize(
    ("fee_mode", "fee_fen"),
    [
        ("none", 0),
        ("charge_on_order", 1),
        ("charge_after_completion", 0),
        ("charge_after_completion", 5000),
    ],
)
def test_usable_settings(fee_mode, fee_fen):
    assert fee_setting_problem(fee_mode=fee_mode, fee_fen=fee_fen) is None


@pytest.mark.parametrize(
    ("fee_mode", "fee_fen"),
    [("charge_on_order", 0), ("none", -1), ("charge_after_completion", -100)],
)
def test_unusable_settings(fee_mode, fee_fen):
    assert fee_setting_problem(fee_mode=fee_mode, fee_fen=fee_fen)
