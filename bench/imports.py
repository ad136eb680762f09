"""Batch import of a 100,000-row onboarding workbook: a dry run and a real run, in a worker
process of their own, rows per second and that process's peak memory.

    python -m bench.imports [--rooms 50000] [--customers 50000] [--keep]

One run:

1. Creates a fresh database `baoxiu_bench_imports` (on `DATABASE_URL`'s server if set, else the
   embedded PostgreSQL), migrates it, seeds one organisation.
2. Writes one XLSX workbook, streamed (openpyxl write-only): 5 communities, 100 buildings, 400
   units, `--rooms` rooms (areas, layout, orientation, use, dates) and `--customers` customers
   (person, valid 18-digit resident IDs, phones, emergency contacts).
3. **Dry run** and then **real run** of the same file: each an import job row, run by
   `server.imports.loading.run_import` in a fresh Python process (as an RQ work horse would),
   timed from the start of that process to its end; its peak memory is the child's max RSS
   (`resource.getrusage(RUSAGE_CHILDREN)`).
4. **Same file again** (real run): changes nothing (the file hash), and **same rows, other
   bytes** (a CSV of the rooms): every row unchanged.
5. Prints rows/s (aim ≥ 2,000) and peak RSS (aim < 300 MB) for each, checks the counts
   written (exit 1 if wrong), drops the database unless `--keep`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from openpyxl import Workbook

from bench.grab import _with_database
from server import runtime
from server.config import Settings
from server.db import migrate
from server.db.session import Database
from server.imports.loading import IMPORTS_DIR
from server.imports.models import ImportJob
from server.imports.rules import SHEETS
from server.models import Organisation

BENCH_DB = "baoxiu_bench_imports"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ORIENTATIONS = ("南", "北", "东", "西", "南北", "东南")
LAYOUTS = ("一室一厅", "两室一厅", "三室两厅", "四室两厅")


def resident_id(i: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=i // 900)
    body = f"330106{born:%Y%m%d}{i % 900 + 100:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def room_rows(count: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for i in range(count):
        community = i % 5
        building = (i // 5) % 20
        unit = (i // 100) % 4
        code = f"{building + 1}-{unit + 1}-{i:06d}"
        rows.append(
            [
                f"C{community}",
                f"{building + 1}栋",
                f"{unit + 1}单元",
                code,
                i % 30 + 1,
                f"{60 + i % 90}.{i % 100:02d}",
                f"{58 + i % 90}.00",
                LAYOUTS[i % 4],
                ORIENTATIONS[i % 6],
                "住宅" if i % 10 else "商铺",
                "2024-06-30",
                None if i % 3 else "2024-09-01",
            ]
        )
    return rows


def write_workbook(path: Path, *, rooms: int, customers: int) -> int:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("小区")
    sheet.append(SHEETS["communities"].headers)
    for c in range(5):
        sheet.append([f"C{c}", f"小区{c}", f"杭州市某路 {c} 号"])
    sheet = book.create_sheet("楼栋")
    sheet.append(SHEETS["buildings"].headers)
    for c in range(5):
        for b in range(20):
            sheet.append([f"C{c}", f"{b + 1}栋", 30])
    sheet = book.create_sheet("单元")
    sheet.append(SHEETS["units"].headers)
    for c in range(5):
        for b in range(20):
            for u in range(4):
                sheet.append([f"C{c}", f"{b + 1}栋", f"{u + 1}单元"])
    sheet = book.create_sheet("房间")
    sheet.append(SHEETS["rooms"].headers)
    for row in room_rows(rooms):
        sheet.append(row)
    sheet = book.create_sheet("客户")
    sheet.append(SHEETS["customers"].headers)
    for i in range(customers):
        sheet.append(
            [
                "个人",
                f"业主{i}",
                "身份证",
                resident_id(i),
                f"13{i:09d}",
                f"联系人{i}",
                f"15{i:09d}",
                "",
            ]
        )
    book.save(path)
    return 5 + 100 + 400 + rooms + customers


def _fresh_database(server_url: str) -> str:
    admin = _with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    url = _with_database(server_url, BENCH_DB)
    migrate.upgrade(url)
    return url


def _job(
    db: Database, org_id: int, upload_dir: Path, path: Path, *, dry_run: bool, kind: str
) -> int:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    fmt = path.suffix.lstrip(".")
    stored = f"{secrets.token_hex(16)}.{fmt}"
    (upload_dir / IMPORTS_DIR).mkdir(parents=True, exist_ok=True)
    shutil.copy(path, upload_dir / IMPORTS_DIR / stored)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        job = ImportJob(
            org_id=org_id,
            kind=kind,
            file_name=path.name,
            file_format=fmt,
            file_hash=digest,
            file_size=path.stat().st_size,
            stored_name=stored,
            dry_run=dry_run,
            status="queued",
            rows_total=0,
            rows_done=0,
            error_count=0,
            counts={},
            errors=[],
            message="",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(job)
        uow.session.flush()
        return int(job.id)


def _run_in_child(url: str, job_id: int, upload_dir: Path) -> tuple[float, float, str]:
    """Run the job in a fresh process; (seconds, the child's peak RSS in MB, its status)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.imports",
            "--child",
            str(job_id),
            "--url",
            url,
            "--upload-dir",
            str(upload_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:  # another, larger child ran before: ask the child itself
        peak = int(out.stdout.split()[-1])
    return seconds, peak / 1024, out.stdout.split()[0]


def child(job_id: int, url: str, upload_dir: str) -> None:
    from server.imports import loading

    db = Database(url, pool_size=2, max_overflow=2)
    status = loading.run_import(db, job_id=job_id, upload_dir=Path(upload_dir))
    db.dispose()
    print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _show(db: Database, job_id: int) -> ImportJob:
    with db.transaction() as uow:
        job = uow.session.get(ImportJob, job_id)
        assert job is not None
        uow.session.expunge(job)
        return job


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", type=int)
    parser.add_argument("--url")
    parser.add_argument("--upload-dir")
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.url, args.upload_dir)
        return 0
    settings = runtime.resolve(Settings.from_env())
    assert settings.database_url
    url = _fresh_database(settings.database_url)
    db = Database(url)
    work = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    failures = 0
    try:
        with db.transaction() as uow:
            org = Organisation(code="bench", name="导入基准物业")
            uow.session.add(org)
            uow.session.flush()
            org_id = int(org.id)
        print("writing the workbook …")
        started = time.perf_counter()
        book = work / "onboarding.xlsx"
        rows = write_workbook(book, rooms=args.rooms, customers=args.customers)
        print(
            f"  {rows:,} rows ({args.rooms:,} rooms, {args.customers:,} customers) in "
            f"{time.perf_counter() - started:.1f} s, {book.stat().st_size / 1e6:.1f} MB"
        )
        upload_dir = work / "uploads"
        runs = [
            ("dry run", book, True, "workbook"),
            ("real run", book, False, "workbook"),
            ("same file again", book, False, "workbook"),
        ]
        rooms_csv = work / "rooms.csv"
        with rooms_csv.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(SHEETS["rooms"].headers)
            writer.writerows(room_rows(args.rooms))
        runs.append(("same rooms, other bytes (CSV)", rooms_csv, False, "rooms"))
        print()
        for name, path, dry_run, kind in runs:
            job_id = _job(db, org_id, upload_dir, path, dry_run=dry_run, kind=kind)
            seconds, peak_mb, status = _run_in_child(url, job_id, upload_dir)
            job = _show(db, job_id)
            rate = job.rows_done / seconds if job.rows_done else 0
            print(
                f"{name:32s} {status:8s} {job.rows_done:>8,} rows  {seconds:6.1f} s  "
                f"{rate:>8,.0f} rows/s  peak RSS {peak_mb:5.0f} MB  errors {job.error_count}"
            )
            print(f"{'':32s} {job.counts}  {job.message}")
            if status != "done" or job.error_count:
                failures += 1
        with psycopg.connect(url) as conn:
            found = {
                table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for table in ("rooms", "customers", "contacts")
            }
        print(f"\nwritten: {found}")
        if found != {"rooms": args.rooms, "customers": args.customers, "contacts": args.customers}:
            print("unexpected counts", file=sys.stderr)
            failures += 1
    finally:
        db.dispose()
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep:
            admin = _with_database(settings.database_url, "postgres")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
