"""Fen rendered as yuan text: integer arithmetic, exact, signed."""

from __future__ import annotations

import pytest

from server.kernel.money import fen_to_yuan_text


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (5000, "50.00"),
        (12345, "123.45"),
        (-1, "-0.01"),
        (-5, "-0.05"),
        (-100, "-1.00"),
        (-12345, "-123.45"),
        # Far beyond float's exact range: still exact.
        (123456789012345678901, "1234567890123456789.01"),
    ],
)
def test_fen_to_yuan_text(fen, text):
    assert fen_to_yuan_text(fen) == text


@pytest.mark.parametrize("bad", [1.5, "100", None, True])
def test_fen_to_yuan_text_refuses_non_integers(bad):
    with pytest.raises(TypeError):
        fen_to_yuan_text(bad)
