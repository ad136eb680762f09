"""Background jobs run through a real RQ worker on real Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from server.accounts import maintenance
from server.jobs import PERIODIC, QUEUES
from server.models import Organisation, RefreshToken, User
from workers import main as worker_main


def test_purge_refresh_tokens_keeps_live_ones(db_session):
    org = Organisation(code="purge", name="x")
    db_session.add(org)
    db_session.flush()
    user = User(org_id=org.id, phone="13711111111", roles=["tenant"])
    db_session.add(user)
    db_session.flush()
    now = datetime.now(UTC)
    rows = {
        "live": (now - timedelta(days=1), now + timedelta(days=5), None),
        "expired": (now - timedelta(days=40), now - timedelta(days=10), None),
        "revoked-long-ago": (
            now - timedelta(days=20),
            now + timedelta(days=10),
            now - timedelta(days=8),
        ),
        "revoked-recently": (
            now - timedelta(days=2),
            now + timedelta(days=28),
            now - timedelta(days=1),
        ),
    }
    for jti, (issued, expires, revoked) in rows.items():
        db_session.add(
            RefreshToken(
                jti=jti,
                user_id=user.id,
                org_id=org.id,
                issued_at=issued,
                expires_at=expires,
                revoked_at=revoked,
            )
        )
    db_session.flush()
    assert maintenance.purge_refresh_tokens(db_session, now=now) == 2
    left = set(db_session.scalars(select(RefreshToken.jti).where(RefreshToken.user_id == user.id)))
    assert left == {"live", "revoked-recently"}


def test_every_periodic_job_resolves_and_registers(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    for periodic in PERIODIC:
        assert callable(worker_main._resolve(periodic.job.func))
        assert periodic.job.queue in QUEUES
    scheduler = worker_main.build_scheduler()
    assert len(scheduler._cron_jobs) == len(PERIODIC)


@pytest.mark.usefixtures("database_url")
def test_job_runs_in_a_real_worker(redis_url, database_url, monkeypatch):
    import redis

    from workers import runtime

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    runtime.settings.cache_clear()
    runtime.database.cache_clear()
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("test-jobs", connection=connection)
    job = queue.enqueue(worker_main._resolve("workers.tasks.purge_refresh_tokens"))
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.is_finished and isinstance(job.return_value(), int)
    runtime.database().dispose()
    runtime.settings.cache_clear()
    runtime.database.cache_clear()


def test_purge_idempotency_keys_drops_old_keeps_fresh(db_session):
    from server.idempotency import keys as idempotency
    from server.models import IdempotencyKey

    org = Organisation(code="purge-idem", name="x")
    db_session.add(org)
    db_session.flush()
    user = User(org_id=org.id, phone="13711111112", roles=["tenant"])
    db_session.add(user)
    db_session.flush()
    now = datetime.now(UTC)
    ages = {
        "fresh": timedelta(minutes=5),
        "almost-a-day": timedelta(hours=23, minutes=59),
        "a-day-and-a-bit": timedelta(hours=24, minutes=1),
        "last-week": timedelta(days=7),
    }
    for key, age in ages.items():
        db_session.add(
            IdempotencyKey(
                org_id=org.id,
                user_id=user.id,
                key=key,
                request_hash="0" * 64,
                status_code=201,
                response_body={"id": 1},
                created_at=now - age,
            )
        )
    db_session.flush()
    assert idempotency.purge_expired(db_session, now=now) == 2
    left = set(
        db_session.scalars(select(IdempotencyKey.key).where(IdempotencyKey.user_id == user.id))
    )
    assert left == {"fresh", "almost-a-day"}


@pytest.mark.usefixtures("database_url")
def test_purge_idempotency_keys_is_scheduled_and_runs(redis_url, database_url, monkeypatch):
    import redis

    from workers import runtime

    assert "workers.tasks.purge_idempotency_keys" in {p.job.func for p in PERIODIC}
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    runtime.settings.cache_clear()
    runtime.database.cache_clear()
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("test-jobs", connection=connection)
    job = queue.enqueue(worker_main._resolve("workers.tasks.purge_idempotency_keys"))
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.is_finished and isinstance(job.return_value(), int)
    runtime.database().dispose()
    runtime.settings.cache_clear()
    runtime.database.cache_clear()
