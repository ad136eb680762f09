"""Batch import and export (批量导入导出): the upload form, the job and its report."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.common import LocalDateTime, PageArgsSchema
from server.imports.rules import (
    FORMATS,
    JOB_STATUSES,
    SHEET_KINDS,
    SHEET_TITLES,
    STATUS_LABELS,
    UPLOAD_KINDS,
)

_KINDS = "；".join(f"{kind} {SHEET_TITLES[kind]}" for kind in UPLOAD_KINDS)


class ImportFormSchema(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(UPLOAD_KINDS),
        metadata={"description": f"导入的数据：{_KINDS}（workbook 仅限 XLSX，每种数据一个工作表）"},
    )
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "true：只校验、报告所有错误行，不写入任何数据"},
    )


class ImportFileSchema(Schema):
    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "XLSX，或 CSV（UTF-8，可带 BOM；或 GBK），首行为表头（见模板）",
        },
    )


class ImportRowErrorSchema(Schema):
    sheet = fields.String(metadata={"description": "工作表（数据种类）"})
    row = fields.Integer(metadata={"description": "行号（与表格软件显示的一致，表头为第 1 行）"})
    column = fields.String(metadata={"description": "列（表头名称）；整表的问题为空"})
    message = fields.String(metadata={"description": "原因"})


class ImportJobSummarySchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(UPLOAD_KINDS)})
    kind_label = fields.Function(
        lambda job: SHEET_TITLES.get(job.kind, job.kind), metadata={"type": "string"}
    )
    file_name = fields.String()
    file_format = fields.String(metadata={"enum": list(FORMATS)})
    file_size = fields.Integer(metadata={"description": "字节"})
    dry_run = fields.Boolean(metadata={"description": "试运行（只校验）"})
    status = fields.String(
        metadata={
            "enum": list(JOB_STATUSES),
            "description": "queued 排队中；running 进行中；done 完成（试运行：校验完毕，见 "
            "error_count）；rejected 有错误行，未写入任何数据；failed 文件无法读取或出错，未写入",
        }
    )
    status_label = fields.Function(
        lambda job: STATUS_LABELS.get(job.status, job.status), metadata={"type": "string"}
    )
    rows_total = fields.Integer(metadata={"description": "数据行数（不含表头）"})
    rows_done = fields.Integer(metadata={"description": "已处理的行数（进度）"})
    error_count = fields.Integer(metadata={"description": "错误数（每个有问题的单元格一条）"})
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={
            "description": "按数据种类：created 新增、updated 更新、unchanged 未变"
            "（试运行为将要发生的）"
        },
    )
    message = fields.String(metadata={"description": "结果说明"})
    duplicate_of_id = fields.Integer(
        allow_none=True, metadata={"description": "同一文件此前已成功导入的任务（本次未做修改）"}
    )
    created_at = LocalDateTime()
    started_at = LocalDateTime(allow_none=True)
    finished_at = LocalDateTime(allow_none=True)


class ImportJobSchema(ImportJobSummarySchema):
    errors = fields.List(
        fields.Nested(ImportRowErrorSchema),
        metadata={"description": "错误行（最多 5000 条；总数见 error_count）"},
    )


class ImportQueryArgsSchema(PageArgsSchema):
    pass


class ExportArgsSchema(Schema):
    format = fields.String(
        load_default="csv",
        validate=validate.OneOf(FORMATS),
        metadata={"description": "csv（UTF-8 带 BOM）或 xlsx"},
    )
    unmasked = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true：手机号、证件号码不脱敏（可再导入），"
            "需要 personal_data.view 权限，否则 403；记入操作日志"
        },
    )


EXPORT_KINDS = SHEET_KINDS
TEMPLATE_NAMES = tuple(
    f"{kind}.{fmt}"
    for kind in UPLOAD_KINDS
    for fmt in FORMATS
    if not (kind == "workbook" and fmt == "csv")
)
