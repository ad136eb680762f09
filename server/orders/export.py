"""Exporting the console's order list: one row builder, written out as CSV or XLSX.

Exports are lists that leave the system (e-mailed, printed), so phones are masked as in any
list. Every row matching the filters is exported, up to `MAX_EXPORT_ROWS`; rows are read in
batches (`yield_per`) so memory does not grow with the export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.catalog.models import OrderSubtype, OrderType
from server.charges.order_charges import export_columns
from server.directory.models import Building, Community, Room
from server.kernel.money import fen_to_yuan_text
from server.kernel.personal_data import mask_phone
from server.orders.lists import DeskFilters, desk_orders_query
from server.orders.models import Order
from server.orders.rules.overdue import is_overdue
from server.orders.rules.states import LABELS, Status
from server.staff.models import Staff

# Larger exports are cut here; the caller says so (X-Export-Truncated) and should filter more.
MAX_EXPORT_ROWS = 50_000
BATCH_ROWS = 1_000

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PRIORITY_LABELS = {"normal": "普通", "urgent": "紧急"}
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DATETIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Yuan:
    """An amount in fen, shown as yuan: text in CSV, a number cell in XLSX."""

    fen: int

    def __str__(self) -> str:
        return fen_to_yuan_text(self.fen)


Cell = str | int | datetime | Yuan | None

# (header, column width in characters)
COLUMNS: tuple[tuple[str, int], ...] = (
    ("工单号", 18),
    ("状态", 8),
    ("紧急程度", 8),
    ("类型", 12),
    ("子类", 12),
    ("小区", 14),
    ("楼栋", 8),
    ("房间", 8),
    ("报修内容", 40),
    ("联系人", 10),
    ("联系电话", 14),
    ("处理师傅", 10),
    ("创建时间", 17),
    ("派单时间", 17),
    ("办结时间", 17),
    ("处理结果", 30),
    ("超时", 6),
    ("评分", 6),
    ("需回访", 8),
    ("重开次数", 8),
    ("应付金额（元）", 14),
    ("服务规格", 12),
    ("费用明细", 30),
    ("费用合计（元）", 14),
)
HEADERS = tuple(header for header, _ in COLUMNS)


def _export_query(
    *, org_id: int, filters: DeskFilters, now: datetime, tz: tzinfo
) -> Select[*tuple[Any, ...]]:
    # The console list's own query (same filters, same order), narrowed to plain columns so
    # no ORM objects or eager loads are built for tens of thousands of rows.
    charges = export_columns()
    return (
        desk_orders_query(org_id=org_id, filters=filters, now=now, tz=tz)
        .with_only_columns(
            Order.number,
            Order.status,
            Order.priority,
            OrderType.name.label("type_name"),
            OrderSubtype.name.label("subtype_name"),
            Community.name.label("community_name"),
            Building.name.label("building_name"),
            Room.code.label("room_code"),
            Order.description,
            Order.contact_name,
            Order.contact_phone,
            User.name.label("assignee_name"),
            Order.created_at,
            Order.assigned_at,
            Order.completed_at,
            Order.result,
            Order.due_at,
            Order.rating_score,
            Order.follow_up_required,
            Order.reopen_count,
            Order.payable_fen,
            charges.spec_name.label("spec_name"),
            charges.lines.label("charge_lines"),
            charges.gross_fen.label("gross_fen"),
            maintain_column_froms=False,
        )
        .select_from(Order)
        .join(OrderType, OrderType.id == Order.order_type_id)
        .join(OrderSubtype, OrderSubtype.id == Order.subtype_id)
        .join(Community, Community.id == Order.community_id)
        .join(Building, Building.id == Order.building_id)
        .join(Room, Room.id == Order.room_id)
        .outerjoin(Staff, Staff.id == Order.assignee_id)
        .outerjoin(User, User.id == Staff.user_id)
    )


def count_export(
    session: Session, *, org_id: int, filters: DeskFilters, now: datetime, tz: tzinfo
) -> int:
    """How many orders match the filters (before the export cap)."""
    stmt = desk_orders_query(org_id=org_id, filters=filters, now=now, tz=tz)
    return int(
        session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    )


def export_rows(
    session: Session,
    *,
    org_id: int,
    filters: DeskFilters,
    now: datetime,
    tz: tzinfo,
    limit: int | None = None,
) -> Iterator[list[Cell]]:
    """The matching orders as export rows (in `COLUMNS` order, times naive local), newest first."""
    cap = MAX_EXPORT_ROWS if limit is None else limit
    stmt = _export_query(org_id=org_id, filters=filters, now=now, tz=tz).limit(cap)
    for row in session.execute(stmt.execution_options(yield_per=BATCH_ROWS)):
        yield [
            row.number,
            LABELS[Status(row.status)],
            PRIORITY_LABELS.get(row.priority, row.priority),
            row.type_name,
            row.subtype_name,
            row.community_name,
            row.building_name,
            row.room_code,
            row.description,
            row.contact_name,
            mask_phone(row.contact_phone),
            row.assignee_name,
            _local(row.created_at, tz),
            _local(row.assigned_at, tz),
            _local(row.completed_at, tz),
            row.result,
            _yes_no(is_overdue(status=row.status, due_at=row.due_at, now=now)),
            row.rating_score,
            _yes_no(row.follow_up_required),
            row.reopen_count,
            Yuan(row.payable_fen),
            row.spec_name,
            row.charge_lines,
            Yuan(int(row.gross_fen)),
        ]


def csv_chunks(
    rows: Iterable[list[Cell]], *, batch: int = 500, headers: Sequence[str] = HEADERS
) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM (so Excel reads Chinese), header first, in chunks to stream."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(headers)
    pending = 0
    for row in rows:
        writer.writerow([_csv_text(cell) for cell in row])
        pending += 1
        if pending >= batch:
            yield _drain(buffer)
            pending = 0
    yield _drain(buffer)


def xlsx_bytes(
    rows: Iterable[list[Cell]], *, sheet_title: str = "工单", headers: Sequence[str] = HEADERS
) -> bytes:
    """One worksheet: bold header, fixed column widths, real date and number cells."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    widths = [width for _, width in COLUMNS] if headers is HEADERS else [18] * len(headers)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in headers:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_filename(now: datetime, tz: tzinfo, extension: str) -> str:
    """`orders-YYYYMMDD-HHMM.<ext>` in local time."""
    return f"orders-{now.astimezone(tz):%Y%m%d-%H%M}.{extension}"


def escape_formula(text: str) -> str:
    """Make a spreadsheet show `text` as text, never run it as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _local(value: datetime | None, tz: tzinfo) -> datetime | None:
    return None if value is None else value.astimezone(tz).replace(tzinfo=None)


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(_DATETIME_FORMAT)
    if isinstance(value, str):
        return escape_formula(value)
    return str(value)


def _xlsx_cell(sheet: Any, value: Cell) -> Any:
    if isinstance(value, Yuan):
        cell = WriteOnlyCell(sheet, value=Decimal(str(value)))
        cell.number_format = "0.00"
    elif isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
    else:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            # A typed string cell is never evaluated, whatever it starts with.
            cell.data_type = "s"
    return cell


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
