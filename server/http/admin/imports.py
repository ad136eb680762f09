"""Console: batch import and export (批量导入导出) of the property tree and customers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Response, g, jsonify, make_response, request, stream_with_context
from flask.views import MethodView

from schemas.common import page_of
from schemas.imports import (
    EXPORT_KINDS,
    TEMPLATE_NAMES,
    ExportArgsSchema,
    ImportFileSchema,
    ImportFormSchema,
    ImportJobSchema,
    ImportJobSummarySchema,
    ImportQueryArgsSchema,
)
from server.db.session import Database
from server.idempotency import keys as idempotency
from server.imports import export as exporting
from server.imports import jobs
from server.imports.rules import MAX_FILE_BYTES, SHEET_TITLES
from server.kernel.errors import ValidationFailed
from server.kernel.permissions import Permission
from server.web.audit import record_export
from server.web.blueprint import IDEMPOTENCY_HEADER, REPLAYS, Blueprint
from server.web.context import container, now, principal, session

blp = Blueprint(
    "admin_imports",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：批量导入导出（小区、楼栋、单元、房间、客户、联系人、客户房屋关系）",
)

_FILE_SCHEMA = {"type": "string", "format": "binary"}
_ATTACHMENT = {
    "Content-Disposition": {
        "description": 'attachment; filename="<数据种类>.<csv|xlsx>"',
        "schema": {"type": "string"},
    },
}


@blp.before_request
def _allow_large_sheets() -> None:
    # An onboarding file is larger than a photo: this blueprint's uploads may be bigger.
    if request.method == "POST":
        request.max_content_length = MAX_FILE_BYTES + 64 * 1024


def _stored_first(view: Callable[..., Any]) -> Callable[..., Any]:
    """Write the uploaded file to disk before the request opens any transaction; remove it
    again when the request is refused or replays an earlier answer."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.import_stored, g.import_replayed = None, False
        upload = request.files.get("file")
        upload_dir = container().settings.upload_dir
        if upload is not None and not isinstance(upload, str):
            g.import_stored = jobs.store_file(upload_dir, upload.stream)
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            _discard(upload_dir, g.import_stored)
            raise
        if response.status_code >= 400 or g.import_replayed:
            _discard(upload_dir, g.import_stored)
        return response

    return wrapper


def _discard(upload_dir: Path, stored: jobs.StoredFile | None) -> None:
    if stored is not None:
        jobs.discard_file(upload_dir, stored)


@blp.route("/imports")
class Imports(MethodView):
    @blp.auth(Permission.IMPORTS_ACT)
    @blp.arguments(ImportQueryArgsSchema, location="query")
    @blp.response(200, page_of(ImportJobSummarySchema))
    def get(self, args: dict[str, Any]) -> Any:
        """导入任务列表（本机构），新的在前：状态、进度、各类数据的新增/更新/未变行数"""
        return jobs.list_jobs(
            session(), org_id=principal().org_id, page=args["page"], page_size=args["page_size"]
        )

    @blp.auth(Permission.IMPORTS_ACT)
    @_stored_first
    @blp.doc(parameters=[IDEMPOTENCY_HEADER], **{REPLAYS: True})
    @blp.arguments(ImportFormSchema, location="form")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(202, ImportJobSchema)
    @blp.alt_response(409, description="idempotency_conflict：同一幂等键对应了不同的请求内容")
    @blp.alt_response(413, description="upload_rejected：文件过大")
    @blp.alt_response(
        422, description="import_file_rejected：文件为空、过大，或 CSV 选了整本工作簿"
    )
    def post(self, form: dict[str, Any], files: dict[str, Any]) -> Any:
        """上传导入文件（XLSX 或 CSV），在后台校验并导入

        文件先保存到服务器磁盘，再排队执行；用 `GET /admin/imports/{id}` 查看进度与错误报告。
        `dry_run=true` 只校验并报告每一个错误行（工作表、行号、列、原因），不写入任何数据；
        正式导入整个文件在一个事务中完成：任一行有误则全部不写入（status=rejected）。
        按自然键新增或更新（小区编码；小区内楼栋名；楼栋内单元名；小区内房间编码；
        客户证件号码，无证件号码时为手机号；客户的联系人手机号；客户、房间、关系与开始日期），
        与已有数据相同的行不做修改；同一文件再次正式导入不做任何修改。
        """
        stored: jobs.StoredFile = g.import_stored
        caller = principal()
        # Idempotency-Key: the same key with the same kind, mode and file bytes answers the
        # first job again (the body's hash is the stored file's, never the body held in memory).
        key = request.headers.get("Idempotency-Key")
        claim: int | None = None
        if key is not None:
            key = key.strip()
            if not 1 <= len(key) <= 128 or not key.isprintable():
                raise ValidationFailed.field("Idempotency-Key", "长度应为 1–128 个可见字符")
            fingerprint = f"POST {request.path} {form['kind']} {form['dry_run']} {stored.file_hash}"
            claimed = idempotency.begin(
                session(),
                org_id=caller.org_id,
                user_id=caller.user_id,
                key=key,
                request_hash=hashlib.sha256(fingerprint.encode()).hexdigest(),
                now=now(),
            )
            if isinstance(claimed, idempotency.Replay):
                g.import_replayed = True
                replay = jsonify(claimed.body)
                replay.status_code = claimed.status_code
                replay.headers["Idempotent-Replayed"] = "true"
                return replay
            claim = claimed
        job = jobs.create_job(
            session(),
            org_id=caller.org_id,
            user_id=caller.user_id,
            kind=form["kind"],
            dry_run=form["dry_run"],
            file_name=files["file"].filename or "",
            stored=stored,
            now=now(),
        )
        if claim is not None:
            idempotency.finish(
                session(), claim_id=claim, status_code=202, body=ImportJobSchema().dump(job)
            )
        return job


@blp.get("/imports/<int:job_id>")
@blp.auth(Permission.IMPORTS_ACT)
@blp.response(200, ImportJobSchema)
@blp.alt_response(404, description="导入任务不存在")
def import_job(job_id: int) -> Any:
    """导入任务详情：状态、进度（rows_done / rows_total）、计数与错误报告"""
    return jobs.get_job(session(), org_id=principal().org_id, job_id=job_id)


@blp.get(f"/imports/templates/<any({', '.join(repr(n) for n in TEMPLATE_NAMES)}):file_name>")
@blp.auth(Permission.IMPORTS_ACT)
@blp.response(200, schema=_FILE_SCHEMA, content_type=exporting.XLSX_MEDIA_TYPE, headers=_ATTACHMENT)
@blp.alt_response(200, schema=_FILE_SCHEMA, content_type=exporting.CSV_MEDIA_TYPE)
def import_template(file_name: str) -> Any:
    """下载导入模板：中文表头与一行示例（workbook.xlsx 含全部工作表）；带 * 的列必填"""
    kind, _, fmt = file_name.partition(".")
    if fmt == "csv":
        body, media_type = exporting.template_csv(kind), exporting.CSV_MEDIA_TYPE
    else:
        body, media_type = exporting.template_xlsx(kind), exporting.XLSX_MEDIA_TYPE
    return _attachment(body, media_type, file_name)


@blp.get(f"/exports/<any({', '.join(repr(k) for k in EXPORT_KINDS)}):kind>")
@blp.auth(Permission.IMPORTS_ACT)
@blp.arguments(ExportArgsSchema, location="query")
@blp.response(200, schema=_FILE_SCHEMA, content_type=exporting.CSV_MEDIA_TYPE, headers=_ATTACHMENT)
@blp.alt_response(200, schema=_FILE_SCHEMA, content_type=exporting.XLSX_MEDIA_TYPE)
def export_sheet(args: dict[str, Any], kind: str) -> Any:
    """导出一种数据（与导入模板相同的列）；手机号、证件号码脱敏（unmasked=true 且有权限时不脱敏）"""
    org_id, fmt, unmasked = principal().org_id, args["format"], args["unmasked"]
    if unmasked:
        exporting.require_unmasked(session())
    name = exporting.export_filename(kind, fmt)
    if fmt == "csv":
        body: Any = stream_with_context(_csv_stream(container().db, org_id, kind, unmasked))
        media_type = exporting.CSV_MEDIA_TYPE
    else:
        # Rows come in batches from a server-side cursor, which needs a transaction of its own.
        uow = container().db.unit_of_work()
        try:
            body = exporting.xlsx_export(
                exporting.export_rows(uow.session, org_id=org_id, kind=kind, unmasked=unmasked),
                kind,
            )
        finally:
            uow.close()
        media_type = exporting.XLSX_MEDIA_TYPE
    record_export(
        f"{SHEET_TITLES[kind]}资料" + ("（未脱敏）" if unmasked else ""),
        fmt=fmt,
        data={"sheet": kind, "unmasked": unmasked},
    )
    return _attachment(body, media_type, name)


def _csv_stream(db: Database, org_id: int, kind: str, unmasked: bool) -> Iterator[bytes]:
    # Streamed after the request's unit of work has closed, from a session of its own.
    uow = db.unit_of_work()
    try:
        yield from exporting.csv_stream(
            exporting.export_rows(uow.session, org_id=org_id, kind=kind, unmasked=unmasked),
            kind,
        )
    finally:
        uow.close()


def _attachment(body: Any, media_type: str, file_name: str) -> Response:
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
