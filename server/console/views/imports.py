"""批量导入: upload an onboarding file (dry run or real run), follow its progress, read its
report; download the templates and the exports. Admins only, as in the JSON API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, redirect, request, stream_with_context

from schemas.imports import EXPORT_KINDS, TEMPLATE_NAMES, ImportJobSchema, ImportJobSummarySchema
from server.console.blueprint import bp
from server.console.web import desk_page, discard_changes, is_htmx, page, private
from server.db.session import Database
from server.imports import export as exporting
from server.imports import jobs
from server.imports.rules import (
    FINISHED,
    MAX_FILE_BYTES,
    SHEET_KINDS,
    SHEET_TITLES,
    SHEETS,
    UPLOAD_KINDS,
)
from server.kernel.errors import DomainError, ImportFileRejected, NotFound
from server.kernel.permissions import Permission
from server.web.audit import record_export
from server.web.context import container, now, principal, session

PAGE_SIZE = 20
POLL_SECONDS = 2
_SUMMARY = ImportJobSummarySchema()
_JOB = ImportJobSchema()
MSG_ADMINS_ONLY = "批量导入仅限管理员使用。"
MSG_NO_FILE = "请选择要导入的文件"


@bp.before_request
def _allow_large_sheets() -> None:
    # An onboarding file is larger than a photo: only this screen's upload may be bigger.
    if request.endpoint == "console.upload_import":
        request.max_content_length = MAX_FILE_BYTES + 64 * 1024


def _admin() -> bool:
    return principal().may(Permission.IMPORTS_ACT.value)


def _admins_only() -> Response:
    return page("console/error.html", status=403, title="没有权限", message=MSG_ADMINS_ONLY)


def _kinds() -> list[tuple[str, str]]:
    return [(kind, SHEET_TITLES[kind]) for kind in UPLOAD_KINDS]


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 10_000 else 1


def _listing() -> dict[str, Any]:
    found = jobs.list_jobs(
        session(), org_id=principal().org_id, page=_page_number(), page_size=PAGE_SIZE
    )
    items = [_SUMMARY.dump(job) for job in found.items]
    return {
        "items": items,
        "total": found.total,
        "page": found.page,
        "page_size": found.page_size,
        "active": any(job["status"] not in FINISHED for job in items),
    }


def _screen(*, refused: str | None = None, sent: dict[str, Any] | None = None) -> Response:
    listing = _listing()
    return page(
        "console/imports.html",
        listing=listing,
        kinds=_kinds(),
        sheet_kinds=[(kind, SHEET_TITLES[kind]) for kind in SHEET_KINDS],
        columns={kind: SHEETS[kind].headers for kind in SHEET_KINDS},
        sent=sent or {"kind": "workbook", "dry_run": True},
        refused=refused,
        poll_seconds=POLL_SECONDS,
        page_url=lambda n: f"/console/imports?page={n}",
        nav="imports",
    )


@bp.get("/imports")
@desk_page
def imports() -> Any:
    if not _admin():
        return _admins_only()
    if is_htmx():
        return page(
            "console/import_jobs.html",
            listing=_listing(),
            poll_seconds=POLL_SECONDS,
            page_url=lambda n: f"/console/imports?page={n}",
        )
    return _screen()


@bp.post("/imports")
@desk_page
def upload_import() -> Any:
    if not _admin():
        return _admins_only()
    kind = request.form.get("kind", "")
    dry_run = request.form.get("dry_run") == "on"
    sent = {"kind": kind, "dry_run": dry_run}
    if kind not in UPLOAD_KINDS:
        return _screen(refused="请选择要导入的数据种类", sent=sent)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _screen(refused=MSG_NO_FILE, sent=sent)
    upload_dir = container().settings.upload_dir
    stored = None
    try:
        # On disk before any transaction; the job row (and its queueing) after.
        stored = jobs.store_file(upload_dir, upload.stream)
        caller = principal()
        job = jobs.create_job(
            session(),
            org_id=caller.org_id,
            user_id=caller.user_id,
            kind=kind,
            dry_run=dry_run,
            file_name=upload.filename,
            stored=stored,
            now=now(),
        )
    except DomainError as exc:
        discard_changes()
        if stored is not None:
            jobs.discard_file(upload_dir, stored)
        reasons = [m for ms in (exc.errors or {}).values() for m in ms]
        text = (
            "；".join(reasons) if isinstance(exc, ImportFileRejected) and reasons else exc.message
        )
        return _screen(refused=text, sent=sent)
    return redirect(f"/console/imports/{job.id}", code=303)


@bp.get("/imports/<int:job_id>")
@desk_page
def import_job(job_id: int) -> Any:
    if not _admin():
        return _admins_only()
    try:
        job = _JOB.dump(jobs.get_job(session(), org_id=principal().org_id, job_id=job_id))
    except NotFound as exc:
        return page("console/error.html", status=404, title="导入任务不存在", message=exc.message)
    template = "console/import_live.html" if is_htmx() else "console/import_job.html"
    return page(
        template,
        job=job,
        finished=job["status"] in FINISHED,
        poll_seconds=POLL_SECONDS,
        titles=SHEET_TITLES,
        nav="imports",
    )


@bp.get("/imports/templates/<string:file_name>")
@desk_page
def import_template_file(file_name: str) -> Any:
    if not _admin():
        return _admins_only()
    if file_name not in TEMPLATE_NAMES:
        return page("console/error.html", status=404, title="模板不存在", message="模板不存在")
    kind, _, fmt = file_name.partition(".")
    if fmt == "csv":
        body, media_type = exporting.template_csv(kind), exporting.CSV_MEDIA_TYPE
    else:
        body, media_type = exporting.template_xlsx(kind), exporting.XLSX_MEDIA_TYPE
    return _attachment(body, media_type, file_name)


@bp.get("/imports/exports/<string:kind>")
@desk_page
def export_file(kind: str) -> Any:
    if not _admin():
        return _admins_only()
    fmt = request.args.get("format", "csv")
    if kind not in EXPORT_KINDS or fmt not in ("csv", "xlsx"):
        return page("console/error.html", status=404, title="无此导出", message="无此导出")
    org_id = principal().org_id
    if fmt == "csv":
        body: Any = stream_with_context(_csv_stream(container().db, org_id, kind))
        media_type = exporting.CSV_MEDIA_TYPE
    else:
        # Rows come in batches from a server-side cursor, which needs a transaction.
        uow = container().db.unit_of_work()
        try:
            body = exporting.xlsx_export(
                exporting.export_rows(uow.session, org_id=org_id, kind=kind), kind
            )
        finally:
            uow.close()
        media_type = exporting.XLSX_MEDIA_TYPE
    record_export(f"{SHEET_TITLES[kind]}资料", fmt=fmt, data={"sheet": kind, "unmasked": False})
    return _attachment(body, media_type, exporting.export_filename(kind, fmt))


def _csv_stream(db: Database, org_id: int, kind: str) -> Iterator[bytes]:
    # Streamed after the request's unit of work has closed, from a session of its own.
    uow = db.unit_of_work()
    try:
        yield from exporting.csv_stream(
            exporting.export_rows(uow.session, org_id=org_id, kind=kind), kind
        )
    finally:
        uow.close()


def _attachment(body: Any, media_type: str, file_name: str) -> Response:
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return private(response)
