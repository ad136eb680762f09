"""Checking and re-encoding an uploaded image, with its memory cost bounded before decoding.

Two limits keep one process's memory predictable whatever arrives:
- a decode budget in bytes, read from the header (Pillow's `Image.open` is lazy: size and mode
  are known before a single pixel is decoded). The pixel cap alone is not enough: a 308 KB
  16-bit RGBA PNG of 6300×6300 passes it and decodes to ~160 MB, twice that with a copy;
- a per-process bound on concurrent decodes: when every slot is taken the request waits a
  moment, then is told to retry (429 with Retry-After) instead of queueing without end.
So a process never holds more than about `max_concurrent_decodes × 2 × budget` in bitmaps.
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from server.kernel.errors import UploadRejected
from server.uploads.rules import UploadRateLimited, decoded_size

# Decompression bombs: a small file that decodes to a huge bitmap. Checked from the header,
# before any pixel is decoded; Pillow's own (larger, process-wide) limit stays as a backstop.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 90
WEBP_QUALITY = 90
# How long a request waits for a decode slot before it is asked to come back.
DECODE_WAIT_SECONDS = 3.0
RETRY_AFTER_BUSY_SECONDS = 2

TOO_MANY_PIXELS = f"图片尺寸过大（不能超过 {MAX_PIXELS // 1_000_000} 百万像素）"
CORRUPT = "图片已损坏或不完整，请重新上传"
BUSY = "图片处理繁忙，请稍后重试"


@dataclass(frozen=True)
class ImageFormat:
    pil_name: str
    content_type: str
    extension: str


JPEG = ImageFormat("JPEG", "image/jpeg", "jpg")
PNG = ImageFormat("PNG", "image/png", "png")
WEBP = ImageFormat("WEBP", "image/webp", "webp")
# What Pillow reports → what we store. MPO is a JPEG with extra frames (many phone cameras
# write it); only its first frame is kept.
FORMATS: dict[str, ImageFormat] = {"JPEG": JPEG, "MPO": JPEG, "PNG": PNG, "WEBP": WEBP}
EXTENSIONS = {fmt.content_type: fmt.extension for fmt in (JPEG, PNG, WEBP)}

# What Pillow raises on files it cannot identify or decode (truncated, corrupt, hostile).
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    KeyError,
    struct.error,
    Image.DecompressionBombError,
    # A warning only, unless warnings are errors (as under pytest): then it is raised.
    Image.DecompressionBombWarning,
)


@dataclass(frozen=True)
class CleanImage:
    """An image re-encoded without metadata, ready to be stored."""

    data: bytes
    format: ImageFormat
    width: int
    height: int


def clean_image(
    data: bytes, *, decode_budget_bytes: int, max_concurrent_decodes: int
) -> CleanImage:
    """Identify a JPEG/PNG/WebP by its content and re-encode it upright, without metadata.

    Refused (422) before decoding when its bitmap would exceed the budget; 429 when this
    process is already decoding `max_concurrent_decodes` images and no slot frees up soon.
    """
    fmt = _identify(data, decode_budget_bytes=decode_budget_bytes)
    with decode_slot(max_concurrent_decodes):
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                # Photos are often stored sideways with an EXIF orientation tag; since the tag
                # goes with the rest of the EXIF, apply it to the pixels first. In place: no
                # second copy of the bitmap when there is nothing to turn.
                ImageOps.exif_transpose(im, in_place=True)
                return _encode(im, fmt)
        except UploadRejected:
            raise
        except _DECODE_ERRORS as exc:
            raise UploadRejected(CORRUPT) from exc


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def decode_slots(limit: int) -> threading.BoundedSemaphore:
    """This process's decode slots for `limit` (one semaphore per configured limit)."""
    with _slots_lock:
        slots = _slots.get(limit)
        if slots is None:
            slots = _slots[limit] = threading.BoundedSemaphore(limit)
        return slots


@contextmanager
def decode_slot(limit: int) -> Iterator[None]:
    """Hold one of the process's decode slots; 429 if none frees up within a short wait."""
    slots = decode_slots(limit)
    if not slots.acquire(timeout=DECODE_WAIT_SECONDS):
        raise UploadRateLimited(BUSY, retry_after=RETRY_AFTER_BUSY_SECONDS)
    try:
        yield
    finally:
        slots.release()


def _identify(data: bytes, *, decode_budget_bytes: int) -> ImageFormat:
    """The format by content (never by file name), after the header and structural checks."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = FORMATS.get(im.format or "")
            if fmt is None:
                raise UploadRejected("仅支持 JPEG、PNG、WebP 格式的图片")
            width, height = im.size
            if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
                raise UploadRejected(TOO_MANY_PIXELS)
            cost = decoded_size(width=width, height=height, mode=im.mode)
            if cost > decode_budget_bytes:
                raise UploadRejected(
                    f"图片分辨率或色深过高（解码约需 {_megabytes(cost)} MB 内存，"
                    f"上限 {_megabytes(decode_budget_bytes)} MB），请缩小尺寸后重新上传"
                )
            im.verify()
    except UploadRejected:
        raise
    except UnidentifiedImageError as exc:
        raise UploadRejected("无法识别的文件，仅支持 JPEG、PNG、WebP 格式的图片") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadRejected(TOO_MANY_PIXELS) from exc
    except _DECODE_ERRORS as exc:
        raise UploadRejected(CORRUPT) from exc
    return fmt


def _encode(im: Image.Image, fmt: ImageFormat) -> CleanImage:
    """Save with only what rendering needs: no EXIF, XMP, comments or text chunks."""
    # Savers fall back to `im.info` for some metadata (a JPEG comment, PNG transparency):
    # keep the colour profile and transparency, drop the rest.
    im.info = {k: v for k, v in im.info.items() if k in ("icc_profile", "transparency")}
    options: dict[str, Any] = {"exif": b""}
    if "icc_profile" in im.info:
        options["icc_profile"] = im.info["icc_profile"]
    if fmt is JPEG:
        if im.mode not in ("L", "RGB", "CMYK"):
            im = im.convert("RGB")
        options.update(quality=JPEG_QUALITY, optimize=True)
    elif fmt is WEBP:
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if im.has_transparency_data else "RGB")
        options.update(quality=WEBP_QUALITY)
    else:
        options.update(optimize=True)
    out = io.BytesIO()
    im.save(out, format=fmt.pil_name, **options)
    return CleanImage(data=out.getvalue(), format=fmt, width=im.width, height=im.height)


def _megabytes(size: int) -> int:
    return max(round(size / (1024 * 1024)), 1)
