"""Storing uploaded images: checked, re-encoded, staged, and made visible only after commit.

An upload's file is first written (and fsynced) under a staging name, `<upload_dir>/.staging/
<id>.<ext>`, while the request's transaction is still open; it is renamed to its final name,
`<upload_dir>/<org_id>/<id[:2]>/<id>.<ext>`, only once that transaction has committed. A
rolled-back request therefore never leaves a file where it could be served; what it does leave
in staging, and any other file or row that lost its partner, is removed by the sweeper
(`server.uploads.sweeper`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from server.db.session import on_commit
from server.kernel.errors import UploadRejected, ValidationFailed
from server.uploads.images import EXTENSIONS, clean_image
from server.uploads.models import Upload
from server.uploads.quota import check_quota
from server.uploads.rules import UploadLimits

log = logging.getLogger(__name__)

MAX_ATTACHED_IMAGES = 9
STAGING_DIR = ".staging"

UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def store_upload(
    session: Session,
    *,
    upload_dir: Path,
    limits: UploadLimits,
    org_id: int,
    user_id: int,
    stream: IO[bytes],
    now: datetime,
) -> Upload:
    """Validate an uploaded image, strip its metadata, stage its file and record it.

    The file becomes visible under its final name once the caller's unit of work commits.
    """
    data = stream.read(limits.max_bytes + 1)
    if not data:
        raise UploadRejected("文件为空，请重新选择图片")
    if len(data) > limits.max_bytes:
        raise UploadRejected(f"图片不能超过 {_human_size(limits.max_bytes)}")
    # Cheap refusal first: a user over quota costs no decode.
    check_quota(session, user_id=user_id, limits=limits, incoming=len(data), now=now)
    image = clean_image(
        data,
        decode_budget_bytes=limits.decode_budget_bytes,
        max_concurrent_decodes=limits.max_concurrent_decodes,
    )
    check_quota(
        session, user_id=user_id, limits=limits, incoming=len(image.data), now=now, lock=True
    )
    upload = Upload(
        id=secrets.token_hex(16),
        org_id=org_id,
        owner_user_id=user_id,
        content_type=image.format.content_type,
        size_bytes=len(image.data),
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(image.data).hexdigest(),
        created_at=now,
    )
    staged = staging_path(upload_dir=upload_dir, upload=upload)
    write_fully(staged, image.data)
    try:
        session.add(upload)
        session.flush()
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    final = upload_path(upload_dir=upload_dir, upload=upload)
    on_commit(session, lambda: promote(staged, final))
    return upload


def upload_path(*, upload_dir: Path, upload: Upload) -> Path:
    """Where a committed upload's file lives: `<upload_dir>/<org_id>/<id[:2]>/<id>.<ext>`."""
    extension = EXTENSIONS[upload.content_type]
    return upload_dir / str(upload.org_id) / upload.id[:2] / f"{upload.id}.{extension}"


def staging_path(*, upload_dir: Path, upload: Upload) -> Path:
    """Where an upload's file waits for its row to commit: `<upload_dir>/.staging/<id>.<ext>`."""
    return upload_dir / STAGING_DIR / f"{upload.id}.{EXTENSIONS[upload.content_type]}"


def write_fully(path: Path, data: bytes) -> None:
    """Create `path` with `data`, on disk (fsynced) before this returns; no partial file stays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def promote(staged: Path, final: Path) -> None:
    """Rename a staged file (already fsynced) to its final name, durably."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)
    _fsync_directory(final.parent)


def unattached() -> tuple[ColumnElement[bool], ...]:
    """An upload nobody attached yet: to an order, an order's message, a complaint or a notice.

    The one spelling of "unattached": attaching reads it, and so does the sweeper.
    """
    return (
        Upload.order_id.is_(None),
        Upload.message_id.is_(None),
        Upload.complaint_id.is_(None),
        Upload.notice_id.is_(None),
    )


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
    if not all(isinstance(i, str) and UPLOAD_ID.fullmatch(i) for i in upload_ids):
        raise ValidationFailed.field("image_ids", "图片不存在或已被使用")
    # Locked in id order (a fixed lock order) so two filings racing for the same images
    # serialise; the loser re-reads the rows, sees them attached and is refused. The sweeper's
    # delete of stale unattached uploads waits on the same locks and re-checks the row.
    rows = session.scalars(
        select(Upload)
        .where(
            Upload.id.in_(upload_ids),
            Upload.org_id == org_id,
            Upload.owner_user_id == user_id,
            *unattached(),
        )
        .order_by(Upload.id)
        .with_for_update()
    ).all()
    by_id = {row.id: row for row in rows}
    if len(by_id) != len(upload_ids):
        raise ValidationFailed.field("image_ids", "图片不存在或已被使用")
    return [by_id[i] for i in upload_ids]


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        log.warning("could not fsync upload directory %s", directory)
    finally:
        os.close(fd)


def _human_size(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(size // 1024, 1)} KB"
