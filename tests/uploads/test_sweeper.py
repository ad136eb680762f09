"""The sweeper removes each kind of orphan, and nothing else."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.session import UnitOfWork
from server.jobs import PERIODIC
from server.models import Upload
from server.uploads import files as upload_service
from server.uploads.sweeper import sweep_uploads
from tests.uploads.helpers import order_row
from workers import tasks

NOW = datetime.now(UTC)
OLD = NOW - timedelta(hours=2)  # past the one-hour grace
FRESH = NOW - timedelta(minutes=5)  # a request may still be working on it


@dataclass
class Place:
    """One sweep's world: an upload directory of its own, and helpers to populate it."""

    root: Path
    session: object
    org_id: int
    user_id: int
    order_id: int

    def row(self, *, created: datetime, attached: bool = False, org_id: int | None = None):
        upload = Upload(
            id=secrets.token_hex(16),
            org_id=org_id or self.org_id,
            owner_user_id=self.user_id,
            content_type="image/png",
            size_bytes=10,
            width=1,
            height=1,
            sha256="0" * 64,
            created_at=created,
        )
        if attached:
            upload.order_id, upload.purpose = self.order_id, "report"
        self.session.add(upload)
        self.session.flush()
        return upload

    def final(self, upload: Upload, *, mtime: datetime) -> Path:
        return self._write(upload_service.upload_path(upload_dir=self.root, upload=upload), mtime)

    def staged(self, upload: Upload, *, mtime: datetime) -> Path:
        return self._write(upload_service.staging_path(upload_dir=self.root, upload=upload), mtime)

    def loose(self, relative: str, *, mtime: datetime) -> Path:
        return self._write(self.root / relative, mtime)

    @staticmethod
    def _write(path: Path, mtime: datetime) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG fake")
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
        return path


def _no_row(org_id: int) -> Upload:
    """An id nobody recorded (the file's row was rolled back or deleted)."""
    return Upload(id=secrets.token_hex(16), org_id=org_id, content_type="image/png")


@pytest.fixture
def place(tmp_path, db_session, make, org):
    user = make.tenant(org)
    order = order_row(make, org, user)
    return Place(tmp_path / "uploads", db_session, org.id, user.id, order.id)


def _exists(session, upload: Upload) -> bool:
    return session.scalar(select(Upload.id).where(Upload.id == upload.id)) is not None


def test_each_kind_of_orphan_is_removed_and_nothing_else(place, db_session, make):
    p = place
    # What must stay.
    attached = p.row(created=NOW - timedelta(days=30), attached=True)
    attached_file = p.final(attached, mtime=NOW - timedelta(days=30))
    recent_loose = p.row(created=NOW - timedelta(hours=20))
    recent_loose_file = p.final(recent_loose, mtime=NOW - timedelta(hours=20))
    in_flight_staged = p.staged(_no_row(p.org_id), mtime=FRESH)
    just_written_final = p.final(_no_row(p.org_id), mtime=FRESH)
    awaiting_rename = p.row(created=FRESH)  # committed a moment ago, rename not yet run
    not_ours = p.loose(f"{p.org_id}/README", mtime=OLD)
    other_org = make.org()
    unmounted_org_row = p.row(created=OLD, attached=True, org_id=other_org.id)

    # Orphans, one of each kind.
    rolled_back_staged = p.staged(_no_row(p.org_id), mtime=OLD)
    lost_rename = p.row(created=OLD, attached=True)
    lost_rename_staged = p.staged(lost_rename, mtime=OLD)
    file_without_row = p.final(_no_row(p.org_id), mtime=OLD)
    legacy_temp = p.loose(f"{p.org_id}/ab/.tmp-x1y2z3.png", mtime=OLD)
    row_without_file = p.row(created=OLD, attached=True)
    unattached_stale = p.row(created=NOW - timedelta(hours=25))
    unattached_stale_file = p.final(unattached_stale, mtime=NOW - timedelta(hours=25))

    uow = UnitOfWork(db_session)
    report = sweep_uploads(uow.session, upload_dir=p.root, now=NOW)
    # Rows go in the sweeper's transaction; files only once it has committed.
    assert rolled_back_staged.exists() and unattached_stale_file.exists()
    uow.commit()

    assert report.counts() == {
        "staged_promoted": 1,
        "staged_removed": 1,
        "files_removed": 2,
        "rows_without_files": 1,
        "unattached_removed": 1,
    }
    # Removed.
    assert not rolled_back_staged.exists()
    assert not file_without_row.exists()
    assert not legacy_temp.exists()
    assert not _exists(db_session, row_without_file)
    assert not _exists(db_session, unattached_stale)
    assert not unattached_stale_file.exists()
    # Repaired: the committed row's staged file is moved into place.
    assert not lost_rename_staged.exists()
    assert upload_service.upload_path(upload_dir=p.root, upload=lost_rename).exists()
    assert _exists(db_session, lost_rename)
    # Kept.
    for path in (attached_file, recent_loose_file, in_flight_staged, just_written_final, not_ours):
        assert path.exists(), path
    for row in (attached, recent_loose, awaiting_rename, unmounted_org_row):
        assert _exists(db_session, row), row.id


def test_a_second_sweep_finds_nothing(place, db_session):
    p = place
    p.staged(_no_row(p.org_id), mtime=OLD)
    p.row(created=OLD, attached=True)
    uow = UnitOfWork(db_session)
    sweep_uploads(uow.session, upload_dir=p.root, now=NOW)
    uow.commit()
    uow = UnitOfWork(db_session)
    again = sweep_uploads(uow.session, upload_dir=p.root, now=NOW)
    uow.commit()
    assert set(again.counts().values()) == {0}


def test_nothing_is_done_when_the_upload_directory_is_missing(place, db_session):
    p = place
    row = p.row(created=OLD, attached=True)  # its file "missing": the storage is not mounted
    uow = UnitOfWork(db_session)
    report = sweep_uploads(uow.session, upload_dir=p.root / "not-mounted", now=NOW)
    uow.commit()
    assert set(report.counts().values()) == {0}
    assert _exists(db_session, row)


def test_a_rolled_back_sweep_touches_no_file(place, db_session):
    p = place
    orphan = p.final(_no_row(p.org_id), mtime=OLD)
    stale = p.row(created=NOW - timedelta(hours=30))
    stale_file = p.final(stale, mtime=NOW - timedelta(hours=30))
    db_session.commit()  # the setup stays; only the sweep is rolled back
    uow = UnitOfWork(db_session)
    sweep_uploads(uow.session, upload_dir=p.root, now=NOW)
    uow.rollback()
    assert orphan.exists() and stale_file.exists()
    assert _exists(db_session, stale)


def test_the_sweeper_is_a_periodic_job():
    jobs = {periodic.job.func: periodic for periodic in PERIODIC}
    assert "workers.tasks.sweep_uploads" in jobs
    assert callable(tasks.sweep_uploads)
