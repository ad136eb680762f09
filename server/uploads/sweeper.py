"""The upload sweeper: files without rows, rows without files, and uploads nobody attached.

Run periodically (`server.jobs`). What it removes, each only once older than a grace period
so that nothing a request is still working on is touched:
- staged files (`<upload_dir>/.staging/`) whose request rolled back; a staged file whose row
  did commit (the process died between the commit and the rename) is moved into place instead;
- final files whose row is gone (deleted, or written by a transaction that never committed)
  and leftover temporary files;
- rows whose file is neither in place nor staged;
- uploads nobody attached (to an order, a message, a complaint or a notice: `files.unattached`)
  within `unattached_after`: rows, then files.
The rows go in the sweeper's transaction; every file is moved or removed after it commits.

If the upload directory itself is missing (storage not mounted), nothing is done: an empty
mount must not read as "every file is lost". Likewise a row is only treated as having lost its
file when its organisation's directory exists.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.db.session import on_commit
from server.uploads.files import (
    STAGING_DIR,
    UPLOAD_ID,
    promote,
    staging_path,
    unattached,
    upload_path,
)
from server.uploads.images import EXTENSIONS
from server.uploads.models import Upload

log = logging.getLogger(__name__)

GRACE = timedelta(hours=1)
UNATTACHED_AFTER = timedelta(hours=24)
BATCH = 500
_EXTENSIONS = frozenset(EXTENSIONS.values())
_LEGACY_TEMP_PREFIX = ".tmp-"


@dataclass
class SweepReport:
    """What one sweep did (or, for files, arranged to do once its transaction commits)."""

    staged_promoted: int = 0
    staged_removed: int = 0
    files_removed: int = 0
    rows_without_files: int = 0
    unattached_removed: int = 0
    _promote: list[tuple[Path, Path]] = field(default_factory=list, repr=False)
    _unlink: list[Path] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        return {
            "staged_promoted": self.staged_promoted,
            "staged_removed": self.staged_removed,
            "files_removed": self.files_removed,
            "rows_without_files": self.rows_without_files,
            "unattached_removed": self.unattached_removed,
        }


def sweep_uploads(
    session: Session,
    *,
    upload_dir: Path,
    now: datetime,
    grace: timedelta = GRACE,
    unattached_after: timedelta = UNATTACHED_AFTER,
) -> SweepReport:
    """Remove orphaned upload files and rows; file changes run after the caller commits."""
    report = SweepReport()
    if not upload_dir.is_dir():
        log.warning("upload sweep skipped: %s is not a directory", upload_dir)
        return report
    cutoff = (now - grace).timestamp()
    _sweep_staging(session, upload_dir=upload_dir, cutoff=cutoff, report=report)
    _sweep_final_files(session, upload_dir=upload_dir, cutoff=cutoff, report=report)
    _sweep_rows_without_files(session, upload_dir=upload_dir, before=now - grace, report=report)
    _sweep_unattached(session, upload_dir=upload_dir, before=now - unattached_after, report=report)
    on_commit(session, lambda: _apply(report))
    return report


def _sweep_staging(
    session: Session, *, upload_dir: Path, cutoff: float, report: SweepReport
) -> None:
    staging = upload_dir / STAGING_DIR
    old = [p for p in _files_in(staging) if _older_than(p, cutoff)]
    for batch in _batches(old):
        rows = _rows_by_id(session, [_upload_id(p) for p in batch])
        for path in batch:
            row = rows.get(_upload_id(path) or "")
            if row is not None and path == staging_path(upload_dir=upload_dir, upload=row):
                final = upload_path(upload_dir=upload_dir, upload=row)
                if not final.exists():
                    report._promote.append((path, final))
                    report.staged_promoted += 1
                    continue
            report._unlink.append(path)
            report.staged_removed += 1


def _sweep_final_files(
    session: Session, *, upload_dir: Path, cutoff: float, report: SweepReport
) -> None:
    candidates: list[Path] = []
    for org_dir in _org_dirs(upload_dir):
        for shard in _dirs_in(org_dir):
            for path in _files_in(shard):
                if not _older_than(path, cutoff):
                    continue
                if path.name.startswith(_LEGACY_TEMP_PREFIX):
                    report._unlink.append(path)
                    report.files_removed += 1
                elif _upload_id(path) is not None:
                    candidates.append(path)
    for batch in _batches(candidates):
        rows = _rows_by_id(session, [_upload_id(p) for p in batch])
        for path in batch:
            row = rows.get(_upload_id(path) or "")
            if row is None or path != upload_path(upload_dir=upload_dir, upload=row):
                report._unlink.append(path)
                report.files_removed += 1


def _sweep_rows_without_files(
    session: Session, *, upload_dir: Path, before: datetime, report: SweepReport
) -> None:
    promoted = {final for _, final in report._promote}
    last = ""
    while True:
        rows = [
            _ref(row)
            for row in session.execute(
                select(Upload.id, Upload.org_id, Upload.content_type)
                .where(Upload.id > last, Upload.created_at < before)
                .order_by(Upload.id)
                .limit(BATCH)
            )
        ]
        if not rows:
            return
        last = rows[-1].id
        lost = [
            row.id
            for row in rows
            if (upload_dir / str(row.org_id)).is_dir()
            and not (final := upload_path(upload_dir=upload_dir, upload=row)).exists()
            and final not in promoted
            and not staging_path(upload_dir=upload_dir, upload=row).exists()
        ]
        if lost:
            session.execute(
                delete(Upload)
                .where(Upload.id.in_(lost))
                .execution_options(synchronize_session=False)
            )
            report.rows_without_files += len(lost)


def _sweep_unattached(
    session: Session, *, upload_dir: Path, before: datetime, report: SweepReport
) -> None:
    # Rows that a filing has locked to attach are waited for, then re-checked by PostgreSQL:
    # an upload attached meanwhile no longer matches and stays.
    gone = session.execute(
        delete(Upload)
        .where(*unattached(), Upload.created_at < before)
        .returning(Upload.id, Upload.org_id, Upload.content_type)
        .execution_options(synchronize_session=False)
    ).all()
    for row in gone:
        upload = _ref(row)
        report._unlink.append(upload_path(upload_dir=upload_dir, upload=upload))
        report._unlink.append(staging_path(upload_dir=upload_dir, upload=upload))
    report.unattached_removed = len(gone)


def _apply(report: SweepReport) -> None:
    """After commit: move staged files into place and remove the rest."""
    for staged, final in report._promote:
        try:
            promote(staged, final)
        except OSError:
            log.exception("upload sweep: could not move %s into place", staged.name)
    for path in report._unlink:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.exception("upload sweep: could not remove %s", path.name)
    log.info("upload sweep: %s", report.counts())


def _rows_by_id(session: Session, ids: Iterable[str | None]) -> dict[str, Upload]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.execute(
        select(Upload.id, Upload.org_id, Upload.content_type).where(Upload.id.in_(wanted))
    )
    return {row.id: _ref(row) for row in rows}


def _ref(row: Any) -> Upload:
    """A detached stand-in carrying what the paths are made of (never added to the session)."""
    return Upload(id=row.id, org_id=row.org_id, content_type=row.content_type)


def _upload_id(path: Path) -> str | None:
    """The upload id a file name carries (`<32 hex>.<ext>`), or None for any other name."""
    stem, dot, extension = path.name.partition(".")
    if dot and extension in _EXTENSIONS and UPLOAD_ID.fullmatch(stem):
        return stem
    return None


def _org_dirs(upload_dir: Path) -> Iterator[Path]:
    return (d for d in _dirs_in(upload_dir) if d.name.isdigit())


def _dirs_in(directory: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield Path(entry.path)


def _files_in(directory: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_file(follow_symlinks=False):
            yield Path(entry.path)


def _older_than(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _batches(paths: list[Path]) -> Iterator[list[Path]]:
    for start in range(0, len(paths), BATCH):
        yield paths[start : start + BATCH]
