"""An import queued by the HTTP API runs in a real RQ worker, on committed data."""

from __future__ import annotations

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import delete, func, select, text

from server.directory.models import Building, Community, Customer, Room
from server.jobs import RUN_IMPORT
from server.models import Organisation
from tests.factories import Factory
from tests.imports.helpers import IMPORTS, upload, xlsx_bytes
from workers import runtime

ROOMS = [
    ["WK", "1栋", None, f"1-{n:03d}", 1, "80", None, None, None, "住宅", None, None]
    for n in range(250)
]


@pytest.mark.usefixtures("database_url")
def test_an_import_runs_in_a_real_worker(app, redis_url, database_url, monkeypatch):
    db = app.extensions["baoxiu"].db
    settings = app.extensions["baoxiu"].settings
    with db.transaction() as uow:
        make = Factory(uow.session, app.extensions["baoxiu"].tokens)
        org = make.org()
        headers = make.headers(make.admin(org))
        org_id = org.id
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("UPLOAD_DIR", str(settings.upload_dir))
    runtime.settings.cache_clear()
    runtime.database.cache_clear()
    client = app.test_client()  # no test transaction: the request commits for real
    try:
        data = xlsx_bytes(
            {
                "communities": [["WK", "工人新村", ""]],
                "buildings": [["WK", "1栋", 6]],
                "rooms": ROOMS,
            }
        )
        r = upload(client, headers, kind="workbook", data=data, name="worker.xlsx")
        assert r.status_code == 202, r.json
        job_id = r.json["id"]
        # The API queued the job after its commit; run it on this test's own queue.
        connection = redis.Redis.from_url(redis_url)
        queued = Queue(RUN_IMPORT.queue, connection=connection)
        ours = [
            job
            for job in Job.fetch_many(queued.job_ids, connection=connection)
            if job is not None and job.description == f"import {job_id}"
        ]
        assert ours and ours[-1].func_name == RUN_IMPORT.func and ours[-1].args == (job_id,)
        for job in ours:  # (earlier test runs' databases had job ids of their own)
            queued.remove(job)
        mine = Queue("test-imports", connection=connection)
        job = mine.enqueue(RUN_IMPORT.func, job_id)
        SimpleWorker([mine], connection=connection).work(burst=True)
        job.refresh()
        assert job.is_finished, job.latest_result()
        assert job.return_value() == "done"
        shown = client.get(f"{IMPORTS}/{job_id}", headers=headers).json
        assert shown["status"] == "done" and shown["rows_done"] == shown["rows_total"] == 252
        assert shown["counts"]["rooms"]["created"] == 250
        with db.transaction() as uow:
            assert (
                uow.session.scalar(
                    select(func.count()).select_from(Room).where(Room.org_id == org_id)
                )
                == 250
            )
    finally:
        runtime.database().dispose()
        runtime.settings.cache_clear()
        runtime.database.cache_clear()
        with db.transaction() as uow:
            for model in (Room, Building, Community, Customer):
                uow.session.execute(delete(model).where(model.org_id == org_id))
            uow.session.execute(text("DELETE FROM import_jobs WHERE org_id = :o"), {"o": org_id})
            uow.session.execute(delete(Organisation).where(Organisation.id == org_id))
