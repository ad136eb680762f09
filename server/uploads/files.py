"""Image uploads: checked by content, re-encoded without metadata, stored under unguessable names.

The file is written (atomically, via a temporary file and `os.replace`) only after the image
has been validated, but before the request's transaction commits. A rolled-back transaction
therefore leaves an orphaned file with no `uploads` row: harmless, since nothing can reach it
without the row, and a sweeper could delete files under `UPLOAD_DIR` that have no row.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import struct
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.kernel.errors import NotFound, UploadRejected, ValidationFailed
from server.uploads.models import Upload

# Decompression bombs: a small file that decodes to a huge bitmap. Checked from the header,
# before any pixel is decoded; Pillow's own (larger, process-wide) limit stays as a backstop.
MAX_PIXELS = 40_000_000
MAX_ATTACHED_IMAGES = 9
JPEG_QUALITY = 90
WEBP_QUALITY = 90

TOO_MANY_PIXELS = f"图片尺寸过大（不能超过 {MAX_PIXELS // 1_000_000} 百万像素）"
CORRUPT = "图片已损坏或不完整，请重新上传"


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

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")

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


def store_upload(
    session: Session,
    *,
    upload_dir: Path,
    max_bytes: int,
    org_id: int,
    user_id: int,
    stream: IO[bytes],
    now: datetime,
) -> Upload:
    """Validate an uploaded image, strip its metadata, write it to disk and record it."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise UploadRejected("文件为空，请重新选择图片")
    if len(data) > max_bytes:
        raise UploadRejected(f"图片不能超过 {_human_size(max_bytes)}")
    image = clean_image(data)
    upload_id = secrets.token_hex(16)
    upload = Upload(
        id=upload_id,
        org_id=org_id,
        owner_user_id=user_id,
        content_type=image.format.content_type,
        size_bytes=len(image.data),
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(image.data).hexdigest(),
        created_at=now,
    )
    _write_atomically(upload_path(upload_dir=upload_dir, upload=upload), image.data)
    session.add(upload)
    session.flush()
    return upload


def clean_image(data: bytes) -> CleanImage:
    """Identify a JPEG/PNG/WebP by its content and re-encode it upright, without metadata."""
    fmt = _identify(data)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            # Photos are often stored sideways with an EXIF orientation tag; since the tag
            # goes with the rest of the EXIF, apply it to the pixels first.
            upright = ImageOps.exif_transpose(im)
            return _encode(upright, fmt)
    except UploadRejected:
        raise
    except _DECODE_ERRORS as exc:
        raise UploadRejected(CORRUPT) from exc


def upload_path(*, upload_dir: Path, upload: Upload) -> Path:
    """Where an upload's file lives: `<upload_dir>/<org_id>/<id[:2]>/<id>.<ext>`."""
    extension = EXTENSIONS[upload.content_type]
    return upload_dir / str(upload.org_id) / upload.id[:2] / f"{upload.id}.{extension}"


def get_upload(session: Session, *, org_id: int, upload_id: str) -> Upload:
    """One upload of the organisation; 404 for anything else (never 403: no leaks)."""
    upload = session.get(Upload, upload_id) if _UPLOAD_ID.fullmatch(upload_id) else None
    if upload is None or upload.org_id != org_id:
        raise NotFound("图片不存在")
    return upload


def attachable_uploads(
    session: Session, *, org_id: int, user_id: int, upload_ids: list[str]
) -> list[Upload]:
    """The caller's own unattached uploads, locked, in the order given; else 422 on image_ids."""
    if not upload_ids:
        return []
    if len(upload_ids) > MAX_ATTACHED_IMAGES:
        raise ValidationFailed.field("image_ids", f"最多只能附 {MAX_ATTACHED_IMAGES} 张图片")
    if len(set(upload_ids)) != len(upload_ids):
        raise ValidationFailed.field("image_ids", "图片重复")
    if not all(isinstance(i, str) and _UPLOAD_ID.fullmatch(i) for i in upload_ids):
        raise ValidationFailed.field("image_ids", "图片不存在或已被使用")
    # Locked in id order (a fixed lock order) so two filings racing for the same images
    # serialise; the loser re-reads the rows, sees them attached and is refused.
    rows = session.scalars(
        select(Upload)
        .where(
            Upload.id.in_(upload_ids),
            Upload.org_id == org_id,
            Upload.owner_user_id == user_id,
            Upload.order_id.is_(None),
            Upload.message_id.is_(None),
        )
        .order_by(Upload.id)
        .with_for_update()
    ).all()
    by_id = {row.id: row for row in rows}
    if len(by_id) != len(upload_ids):
        raise ValidationFailed.field("image_ids", "图片不存在或已被使用")
    return [by_id[i] for i in upload_ids]


def _identify(data: bytes) -> ImageFormat:
    """The format by content (never by file name), after Pillow's structural check."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = FORMATS.get(im.format or "")
            if fmt is None:
                raise UploadRejected("仅支持 JPEG、PNG、WebP 格式的图片")
            width, height = im.size
            if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
                raise UploadRejected(TOO_MANY_PIXELS)
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


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file next to `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _human_size(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(size // 1024, 1)} KB"
