"""Files are staged during the request, fsynced, and renamed into place only after commit."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mobile_api.uploads import upload_limits
from server.db.session import UnitOfWork
from server.models import Upload
from server.uploads import files as upload_service
from tests.uploads.helpers import image_bytes, post, stored_path


@pytest.fixture
def user(make, org):
    return make.tenant(org)


def _store(session, settings, org, user) -> Upload:
    return upload_service.store_upload(
        session,
        upload_dir=settings.upload_dir,
        limits=upload_limits(settings),
        org_id=org.id,
        user_id=user.id,
        stream=io.BytesIO(image_bytes("PNG", (16, 16))),
        now=datetime.now(UTC),
    )


def _paths(settings, upload) -> tuple[Path, Path]:
    return (
        upload_service.staging_path(upload_dir=settings.upload_dir, upload=upload),
        upload_service.upload_path(upload_dir=settings.upload_dir, upload=upload),
    )


def test_the_file_is_staged_until_the_transaction_commits(db_session, settings, org, user):
    uow = UnitOfWork(db_session)
    upload = _store(uow.session, settings, org, user)
    staged, final = _paths(settings, upload)
    # Inside the transaction: written in full under the staging name, not servable yet.
    assert not final.exists()
    assert hashlib.sha256(staged.read_bytes()).hexdigest() == upload.sha256
    assert staged.stat().st_size == upload.size_bytes

    uow.commit()
    assert not staged.exists()
    assert hashlib.sha256(final.read_bytes()).hexdigest() == upload.sha256


def test_a_rolled_back_upload_never_becomes_visible(db_session, settings, org, user):
    uow = UnitOfWork(db_session)
    upload = _store(uow.session, settings, org, user)
    staged, final = _paths(settings, upload)
    uow.rollback()
    assert db_session.get(Upload, upload.id) is None
    assert not final.exists()
    # Left in staging for the sweeper (test_sweeper): nothing can serve it from there.
    assert staged.exists()
    staged.unlink()


def test_the_staged_file_is_fsynced_before_it_is_renamed(
    db_session, settings, org, user, monkeypatch
):
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(src)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    uow = UnitOfWork(db_session)
    upload = _store(uow.session, settings, org, user)
    staged, final = _paths(settings, upload)
    assert events == [("fsync", str(staged))]
    uow.commit()
    assert events == [
        ("fsync", str(staged)),
        ("replace", str(staged)),
        ("fsync", str(final.parent)),  # the rename itself made durable
    ]


def test_through_the_api_the_file_is_in_place_when_the_answer_arrives(client, make, org, settings):
    headers = make.headers(make.tenant(org))
    r = post(client, headers, image_bytes("PNG"), filename="a.png")
    assert r.status_code == 201
    path = stored_path(settings, r.json)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == client.get(
        r.json["url"], headers=headers
    ).headers["ETag"].strip('"')
    assert not list((settings.upload_dir / upload_service.STAGING_DIR).glob(f"{r.json['id']}.*"))
