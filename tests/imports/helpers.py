"""Building import files and running import jobs in the tests."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook

from server.imports import loading
from server.imports.rules import SHEETS

IMPORTS = "/api/v1/admin/imports"


def headers_of(kind: str) -> list[str]:
    return SHEETS[kind].headers


def csv_bytes(kind: str, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers_of(kind))
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, Sequence[Sequence[Any]]]) -> bytes:
    """A workbook with one sheet per kind, named by its Chinese title."""
    from server.imports.rules import SHEET_TITLES

    book = Workbook()
    book.remove(book.active)
    for kind, rows in sheets.items():
        sheet = book.create_sheet(SHEET_TITLES[kind])
        sheet.append(headers_of(kind))
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(
    client: FlaskClient,
    headers: dict[str, str],
    *,
    kind: str,
    data: bytes,
    name: str = "file.csv",
    dry_run: bool = False,
    key: str | None = None,
) -> Any:
    extra = dict(headers)
    if key is not None:
        extra["Idempotency-Key"] = key
    return client.post(
        IMPORTS,
        data={
            "kind": kind,
            "dry_run": "true" if dry_run else "false",
            "file": (io.BytesIO(data), name),
        },
        headers=extra,
        content_type="multipart/form-data",
    )


def run_job(app: Flask, job_id: int, **options: Any) -> str:
    wiring = app.extensions["baoxiu"]
    return loading.run_import(
        wiring.db, job_id=job_id, upload_dir=wiring.settings.upload_dir, **options
    )


def import_file(
    client: FlaskClient,
    app: Flask,
    headers: dict[str, str],
    *,
    kind: str,
    data: bytes,
    name: str = "file.csv",
    dry_run: bool = False,
    on_batch: Callable[[int], None] | None = None,
    batch_rows: int | None = None,
) -> dict[str, Any]:
    """Upload, run the job as the worker would, and return the job as the API shows it."""
    r = upload(client, headers, kind=kind, data=data, name=name, dry_run=dry_run)
    assert r.status_code == 202, r.json
    options: dict[str, Any] = {}
    if on_batch is not None:
        options["on_batch"] = on_batch
    if batch_rows is not None:
        options["batch_rows"] = batch_rows
    run_job(app, r.json["id"], **options)
    job = client.get(f"{IMPORTS}/{r.json['id']}", headers=headers)
    assert job.status_code == 200
    return dict(job.json)
