"""Import jobs as the desk sees them: upload (the file stored on disk first), list, detail.

The uploaded bytes are written under `<upload_dir>/imports/` before the job's row exists and
outside any transaction; the job is put on the queue after the commit that created its row.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.pagination import Page, paginate
from server.db.scoping import get_owned
from server.db.session import on_commit
from server.imports.loading import IMPORTS_DIR
from server.imports.models import ImportJob
from server.imports.reading import sniff_format
from server.imports.rules import MAX_FILE_BYTES, QUEUED, WORKBOOK
from server.jobs import RUN_IMPORT
from server.kernel.errors import ImportFileRejected
from server.kernel.permissions import Permission
from server.outbox.dispatch import DISPATCHER_KEY
from server.roles.grants import require

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
MSG_EMPTY = "文件为空"
MSG_TOO_LARGE = "文件不能超过 {mb} MB"
MSG_CSV_WORKBOOK = "CSV 文件只能包含一种数据，请选择要导入的类型"


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    file_hash: str
    size: int
    file_format: str


def store_file(
    upload_dir: Path, stream: IO[bytes], *, max_bytes: int = MAX_FILE_BYTES
) -> StoredFile:
    """Copy the uploaded stream to disk in chunks, hashing it; refuse empty or oversized files."""
    directory = upload_dir / IMPORTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(CHUNK):
                if not head:
                    head = chunk[:8]
                size += len(chunk)
                if size > max_bytes:
                    raise ImportFileRejected(
                        errors={"file": [MSG_TOO_LARGE.format(mb=max_bytes // (1024 * 1024))]}
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ImportFileRejected(errors={"file": [MSG_EMPTY]})
        file_format = sniff_format(head, "")
        stored_name = f"{secrets.token_hex(16)}.{file_format}"
        os.replace(temporary, directory / stored_name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredFile(stored_name, digest.hexdigest(), size, file_format)


def discard_file(upload_dir: Path, stored: StoredFile) -> None:
    """Remove a stored upload no job refers to (its request was refused or replayed)."""
    (upload_dir / IMPORTS_DIR / stored.stored_name).unlink(missing_ok=True)


def create_job(
    session: Session,
    *,
    org_id: int,
    user_id: int | None,
    kind: str,
    dry_run: bool,
    file_name: str,
    stored: StoredFile,
    now: datetime,
) -> ImportJob:
    """Record an import of a stored file and queue it after the commit."""
    require(session, Permission.IMPORTS_ACT)
    if stored.file_format == "csv" and kind == WORKBOOK:
        raise ImportFileRejected(errors={"kind": [MSG_CSV_WORKBOOK]})
    job = ImportJob(
        org_id=org_id,
        created_by_user_id=user_id,
        kind=kind,
        file_name=(file_name or f"import.{stored.file_format}")[-200:],
        file_format=stored.file_format,
        file_hash=stored.file_hash,
        file_size=stored.size,
        stored_name=stored.stored_name,
        dry_run=dry_run,
        status=QUEUED,
        rows_total=0,
        rows_done=0,
        error_count=0,
        counts={},
        errors=[],
        message="",
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    enqueue_on_commit(session, job.id)
    return job


def enqueue_on_commit(session: Session, job_id: int) -> None:
    dispatcher = session.info.get(DISPATCHER_KEY)

    def enqueue() -> None:
        if dispatcher is None:
            log.info("no job queue in this process: import %s waits", job_id)
            return
        Queue(RUN_IMPORT.queue, connection=dispatcher.connection).enqueue(
            RUN_IMPORT.func,
            job_id,
            job_timeout=RUN_IMPORT.timeout,
            description=f"import {job_id}",
        )

    on_commit(session, enqueue)


def list_jobs(session: Session, *, org_id: int, page: int, page_size: int) -> Page[ImportJob]:
    """The organisation's imports, newest first."""
    stmt = (
        select(ImportJob)
        .where(ImportJob.org_id == org_id)
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
    )
    return paginate(session, stmt, page=page, page_size=page_size)


def get_job(session: Session, *, org_id: int, job_id: int) -> ImportJob:
    """One import of the organisation."""
    return get_owned(session, ImportJob, job_id, org_id=org_id, message="导入任务不存在")
