"""Upload limits as pure arithmetic: what a decode costs, and when a user may upload again."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.kernel.errors import RateLimited

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# Bytes per pixel of Pillow's in-memory bitmap for each mode. Pillow keeps every multi-band
# mode (RGB included) in 4 bytes per pixel; 16-bit greyscale in 2; bilevel, greyscale and
# palette images in 1. A 16-bit RGBA PNG decodes to "RGBA": 4 bytes, whatever the file's depth.
_BYTES_PER_PIXEL = {
    "1": 1,
    "L": 1,
    "P": 1,
    "I;16": 2,
    "I;16L": 2,
    "I;16B": 2,
    "I;16N": 2,
    "BGR;15": 2,
    "BGR;16": 2,
    "BGR;24": 3,
}
_FOUR_BYTE_MODES = frozenset(
    {"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "LA", "La", "PA", "I", "F"}
)
# A mode this table does not know (a newer Pillow's wide mode) is charged as if 64-bit.
_UNKNOWN_MODE_BYTES = 8


def bytes_per_pixel(mode: str) -> int:
    """What one pixel of `mode` costs once decoded."""
    if mode in _FOUR_BYTE_MODES:
        return 4
    return _BYTES_PER_PIXEL.get(mode, _UNKNOWN_MODE_BYTES)


def decoded_size(*, width: int, height: int, mode: str) -> int:
    """The bytes a decode allocates for the bitmap, known from the header alone."""
    return width * height * bytes_per_pixel(mode)


@dataclass(frozen=True)
class UploadLimits:
    """Everything an upload is measured against (from the settings)."""

    max_bytes: int
    decode_budget_bytes: int
    max_concurrent_decodes: int
    per_hour: int
    bytes_per_day: int


@dataclass(frozen=True)
class Recent:
    """One of the user's earlier uploads, as the quota sees it."""

    created_at: datetime
    size_bytes: int


class UploadRateLimited(RateLimited):
    """429 `rate_limited`, with the seconds after which trying again can succeed."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(int(retry_after), 1)


def quota_retry_after(
    recent: Sequence[Recent], *, now: datetime, incoming: int, per_hour: int, bytes_per_day: int
) -> tuple[str, int] | None:
    """None if one more upload of `incoming` bytes fits; else (which limit, seconds to wait).

    Both windows slide: the last hour holds at most `per_hour` uploads, the last 24 hours at
    most `bytes_per_day` bytes. The wait is until enough earlier uploads have left the window.
    """
    in_hour = sorted(r.created_at for r in recent if r.created_at > now - HOUR)
    if len(in_hour) >= per_hour:
        # Once the oldest (len - per_hour + 1) uploads have aged out there is room for one.
        leaves = in_hour[len(in_hour) - per_hour] + HOUR
        return "hour", _seconds_until(leaves, now)
    in_day = sorted((r for r in recent if r.created_at > now - DAY), key=lambda r: r.created_at)
    excess = sum(r.size_bytes for r in in_day) + incoming - bytes_per_day
    if excess > 0:
        if incoming > bytes_per_day:
            return "day", int(DAY.total_seconds())
        freed = 0
        for r in in_day:
            freed += r.size_bytes
            if freed >= excess:
                return "day", _seconds_until(r.created_at + DAY, now)
    return None


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(math.ceil((moment - now).total_seconds()), 1)
