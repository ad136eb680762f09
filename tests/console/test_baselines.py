"""Screens against committed baseline images, with a tolerance.

What changes with the data (counts, order rows, clocks) is masked; what is checked is the
layout, the fonts and the colours: a stylesheet or template change that moves things shows
here. After an intended change, regenerate: `BAOXIU_UPDATE_BASELINES=1 make test` (or pytest
on this file) and look at the new images before committing them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from tests.console.conftest import SCREENSHOTS

BASELINES = Path(__file__).parent / "baselines"
# A pixel differs when a channel moves by more than this (anti-aliasing stays under it) …
CHANNEL_TOLERANCE = 40
# … and a screen matches while at most this share of its pixels differ.
MAX_DIFFERING_SHARE = 0.01


def differing_share(actual: Path, expected: Path) -> float:
    a = Image.open(actual).convert("RGB")
    b = Image.open(expected).convert("RGB")
    if a.size != b.size:
        return 1.0
    diff = (
        ImageChops.difference(a, b)
        .convert("L")
        .point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
    )
    histogram = diff.histogram()
    return histogram[255] / (a.size[0] * a.size[1])


def check(page: Any, name: str, mask: list[Any], clip: dict[str, float] | None = None) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    actual = SCREENSHOTS / f"{name}.baseline-check.png"
    page.screenshot(path=str(actual), mask=mask, clip=clip, animations="disabled", caret="hide")
    expected = BASELINES / f"{name}.png"
    if os.environ.get("BAOXIU_UPDATE_BASELINES") == "1":
        BASELINES.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
        return
    if not expected.exists():
        pytest.fail(f"no baseline {expected}: run with BAOXIU_UPDATE_BASELINES=1 and look at it")
    share = differing_share(actual, expected)
    assert share <= MAX_DIFFERING_SHARE, (
        f"{name}: {share:.2%} of the pixels differ from {expected} (see {actual})"
    )


def test_login_screen_matches_its_baseline(page: Any, console_url: str) -> None:
    page.goto(f"{console_url}/console/login")
    page.get_by_label("手机号").wait_for()
    check(page, "login", mask=[])


def test_workbench_layout_matches_its_baseline(desk: Any) -> None:
    desk.locator(".tile").first.wait_for()
    # The navigation and the queue tiles: the list below grows with the data.
    check(
        desk,
        "workbench",
        mask=[desk.locator(".tile .count")],
        clip={"x": 0, "y": 0, "width": 1366, "height": 200},
    )
