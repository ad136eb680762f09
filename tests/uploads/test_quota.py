"""Per-user upload quota: uploads per hour and stored bytes per day; 429 with Retry-After."""

from __future__ import annotations

import io
import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import text

from server.models import Upload
from server.uploads.rules import Recent, quota_retry_after
from tests.factories import Factory
from tests.fakes.server import serve
from tests.uploads.helpers import UPLOADS, files_under, image_bytes, post

MB = 1024 * 1024
NOW = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def user(make, org):
    return make.tenant(org)


@pytest.fixture
def headers(make, user):
    return make.headers(user)


def earlier_upload(db_session, user, *, ago: timedelta, size: int = 1000) -> Upload:
    row = Upload(
        id=secrets.token_hex(16),
        org_id=user.org_id,
        owner_user_id=user.id,
        content_type="image/png",
        size_bytes=size,
        width=8,
        height=8,
        sha256="0" * 64,
        created_at=datetime.now(UTC) - ago,
    )
    db_session.add(row)
    db_session.flush()
    return row


# --- the rule ------------------------------------------------------------------------------


def _recent(*ages_and_sizes: tuple[timedelta, int]) -> list[Recent]:
    return [Recent(NOW - age, size) for age, size in ages_and_sizes]


def test_rule_allows_under_both_limits():
    recent = _recent((timedelta(minutes=10), MB), (timedelta(hours=5), MB))
    assert quota_retry_after(recent, now=NOW, incoming=MB, per_hour=2, bytes_per_day=3 * MB) is None


def test_rule_hour_waits_until_the_oldest_upload_of_the_hour_ages_out():
    recent = _recent(
        (timedelta(minutes=50), 1), (timedelta(minutes=30), 1), (timedelta(minutes=10), 1)
    )
    assert quota_retry_after(recent, now=NOW, incoming=1, per_hour=3, bytes_per_day=MB) == (
        "hour",
        600,
    )
    # Lowered to 2 meanwhile: two have to leave, the second at 30 minutes from now.
    assert quota_retry_after(recent, now=NOW, incoming=1, per_hour=2, bytes_per_day=MB) == (
        "hour",
        1800,
    )
    # An upload of 61 minutes ago no longer counts.
    older = _recent((timedelta(minutes=61), 1), (timedelta(minutes=10), 1))
    assert quota_retry_after(older, now=NOW, incoming=1, per_hour=2, bytes_per_day=MB) is None


def test_rule_day_waits_until_enough_bytes_age_out():
    recent = _recent(
        (timedelta(hours=23), 2 * MB), (timedelta(hours=20), 2 * MB), (timedelta(hours=2), MB)
    )
    # 5 MB used of 6: a 1 MB upload fits, a 2 or 3 MB one needs the first 2 MB gone (in 1 h),
    # a 4 MB one the first two uploads (in 4 h).
    assert (
        quota_retry_after(recent, now=NOW, incoming=MB, per_hour=60, bytes_per_day=6 * MB) is None
    )
    assert quota_retry_after(
        recent, now=NOW, incoming=2 * MB, per_hour=60, bytes_per_day=6 * MB
    ) == ("day", 3600)
    assert quota_retry_after(
        recent, now=NOW, incoming=3 * MB, per_hour=60, bytes_per_day=6 * MB
    ) == ("day", 3600)
    assert quota_retry_after(
        recent, now=NOW, incoming=4 * MB, per_hour=60, bytes_per_day=6 * MB
    ) == ("day", 4 * 3600)
    # 25 hours ago no longer counts.
    old = _recent((timedelta(hours=25), 6 * MB))
    assert quota_retry_after(old, now=NOW, incoming=MB, per_hour=60, bytes_per_day=6 * MB) is None


# --- through the API -----------------------------------------------------------------------


def test_uploads_per_hour_are_limited_with_retry_after(
    client, make, org, user, headers, settings, with_settings, db_session
):
    with_settings(upload_quota_per_hour=3)
    for _ in range(3):
        assert post(client, headers, image_bytes("PNG"), filename="a.png").status_code == 201
    kept = set(settings.upload_dir.rglob("*"))
    r = post(client, headers, image_bytes("PNG"), filename="a.png")
    assert r.status_code == 429, r.json
    assert r.json["error"] == "rate_limited"
    assert "每小时最多上传 3 张" in r.json["message"]
    assert 3500 < int(r.headers["Retry-After"]) <= 3600
    # Nothing of the refused upload was kept.
    assert set(settings.upload_dir.rglob("*")) == kept
    count = db_session.scalar(
        text("SELECT count(*) FROM uploads WHERE owner_user_id = :u"), {"u": user.id}
    )
    assert count == 3

    # Another user of the organisation has their own quota.
    assert post(client, make.headers(make.tenant(org)), image_bytes("PNG")).status_code == 201


def test_the_hour_slides(client, user, headers, with_settings, db_session):
    with_settings(upload_quota_per_hour=2)
    earlier_upload(db_session, user, ago=timedelta(minutes=59))
    earlier_upload(db_session, user, ago=timedelta(minutes=58))
    earlier_upload(db_session, user, ago=timedelta(minutes=61))  # outside the hour
    r = post(client, headers, image_bytes("PNG"))
    assert r.status_code == 429, r.json
    # The first of the two leaves the hour in about a minute.
    assert 30 <= int(r.headers["Retry-After"]) <= 75


def test_stored_bytes_per_day_are_limited(client, user, headers, with_settings, db_session):
    with_settings(upload_quota_bytes_per_day=MB)
    earlier_upload(db_session, user, ago=timedelta(hours=23), size=MB - 100)
    earlier_upload(db_session, user, ago=timedelta(hours=25), size=MB)  # yesterday's
    r = post(client, headers, image_bytes("PNG"))
    assert r.status_code == 429, r.json
    assert r.json["error"] == "rate_limited" and "今日上传量已达上限（1 MB）" in r.json["message"]
    assert 3500 <= int(r.headers["Retry-After"]) <= 3700


@pytest.mark.concurrency
def test_parallel_uploads_of_one_user_stop_at_the_quota(app, settings, with_settings):
    """Real commits, real parallel clients: the locked re-check lets exactly the quota through."""
    with_settings(upload_quota_per_hour=3)
    container = app.extensions["baoxiu"]
    with container.db.transaction() as uow:
        make = Factory(uow.session, container.tokens)
        org = make.org(code=f"quota{uuid.uuid4().hex[:16]}")
        user = make.tenant(org)
        headers = make.headers(user)
    photo = image_bytes("PNG", (40, 30))
    barrier = threading.Barrier(8)

    def upload(base_url: str) -> requests.Response:
        with requests.Session() as http:
            barrier.wait(timeout=30)
            return http.post(
                base_url + UPLOADS,
                files={"file": ("a.png", io.BytesIO(photo), "image/png")},
                headers=headers,
                timeout=60,
            )

    with serve(app) as base_url, ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(upload, [base_url] * 8))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * 3 + [429] * 5, [r.text for r in answers]
    assert all(r.json()["error"] == "rate_limited" for r in answers if r.status_code == 429)
    with container.db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id FROM uploads WHERE owner_user_id = :u"), {"u": user.id}
        ).all()
    assert len(rows) == 3
    # Exactly the committed uploads' files are in place; nothing of the refused ones stays.
    assert len(files_under(settings.upload_dir / str(org.id))) == 3
