"""Reading an uploaded sheet as a stream of rows: CSV (UTF-8 with or without BOM, or GBK /
GB18030) or XLSX (openpyxl's read-only mode). Nothing holds the whole file in memory."""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import (
    INLINE_STRING,
    ROW_TAG,
    VALUE_TAG,
    WorkSheetParser,
    _cast_number,
)
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from server.imports.rules import (
    MSG_BAD_FILE,
    MSG_NO_SHEETS,
    SHEET_KINDS,
    SHEET_TITLES,
    WORKBOOK,
    is_blank,
    sheet_kind_of_title,
)

CHUNK = 1024 * 1024


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX we can read; the message is zh-CN."""


@dataclass(frozen=True)
class SheetSource:
    """One sheet of the file: its kind, a way to count its rows and to stream them."""

    kind: str
    title: str
    path: Path
    file_format: str
    sheet_name: str | None = None
    encoding: str = "utf-8-sig"
    book: Any = None  # the open workbook (XLSX), shared by the sheets of one file

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number as a spreadsheet shows it, cells), the header row first, blanks skipped."""
        if self.file_format == "csv":
            with self.path.open(encoding=self.encoding, newline="") as handle:
                for number, cells in enumerate(csv.reader(handle), start=1):
                    if not is_blank(cells):
                        yield number, list(cells)
            return
        yield from _xlsx_rows(self.book[self.sheet_name])

    def count_rows(self) -> int:
        """Data rows (without the header), for the progress: CSV records, or an XLSX sheet's
        `<row>` elements counted in its XML without parsing it."""
        if self.file_format == "csv":
            return max(sum(1 for _ in self.rows()) - 1, 0)
        part = self.book._sheets_by_name_part[self.sheet_name]
        count, tail = 0, b""
        with zipfile.ZipFile(self.path) as archive, archive.open(part) as handle:
            while chunk := handle.read(CHUNK):
                data = tail + chunk
                count += data.count(b"<row ") + data.count(b"<row>")
                count -= tail.count(b"<row ") + tail.count(b"<row>")
                tail = data[-5:]
        return max(count - 1, 0)


_TEXT = f"{{{SHEET_MAIN_NS}}}t"
_RUN = f"{{{SHEET_MAIN_NS}}}r"


class _RowParser(WorkSheetParser):  # type: ignore[misc]
    """openpyxl's sheet parser reduced to what an import reads: each row's cell values.

    The same values as `iter_rows(values_only=True)` of a read-only, data-only workbook, read
    faster: an inline string (as openpyxl's own write-only mode and many exporters write
    text) is joined from its runs instead of built into a rich-text object, a shared string or
    a plain number is read directly, and nothing else of the sheet (row heights, columns,
    merged cells…) is kept. Dates, booleans, errors go through openpyxl's own `parse_cell`."""

    def rows(self) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
        number = 0
        for _, element in iterparse(self.source):
            if element.tag == ROW_TAG:
                given = element.get("r")
                number = int(float(given)) if given else number + 1
                self.row_counter, self.col_counter = number, 0
                cells = [self.cell(c) for c in element]
                element.clear()
                yield number, cells

    def cell(self, element: Any) -> tuple[int, Any]:
        kind = element.get("t", "n")
        style = element.get("s")
        if (kind == "n" and style and int(style) in self.date_formats) or kind in ("b", "d", "e"):
            found = self.parse_cell(element)
            return found["column"], found["value"]
        coordinate = element.get("r")
        if coordinate:
            self.col_counter = coordinate_to_tuple(coordinate)[1]
        else:
            self.col_counter += 1
        if kind == "inlineStr":
            child = element.find(INLINE_STRING)
            if child is None:
                return self.col_counter, None
            plain = child.findtext(_TEXT)
            runs = [run.findtext(_TEXT) or "" for run in child.iterfind(_RUN)]
            return self.col_counter, (plain or "") + "".join(runs)
        value = element.findtext(VALUE_TAG) or None
        if value is None:
            return self.col_counter, None
        if kind == "s":
            return self.col_counter, self.shared_strings[int(value)]
        if kind == "n":
            return self.col_counter, _cast_number(value)
        return self.col_counter, value  # "str": a formula's text


def _xlsx_rows(sheet: ReadOnlyWorksheet) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) of a read-only sheet, blank rows skipped; each row as wide as its
    last cell."""
    book = sheet.parent
    with sheet._get_source() as source:
        parser = _RowParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, found in parser.rows():
            if not found:
                continue
            width = found[-1][0]
            cells: list[Any] = [None] * width
            for column, value in found:
                if 1 <= column <= width:
                    cells[column - 1] = value
            if not is_blank(cells):
                yield number, cells


@contextmanager
def _no_size_scan() -> Iterator[None]:
    """openpyxl's read-only sheets look for their size when the workbook opens; a sheet
    without a `<dimension>` (as many programs write them) is then parsed whole, every time.
    The rows are streamed without it (each row as long as it is), so the look is skipped."""
    original = ReadOnlyWorksheet._get_size
    ReadOnlyWorksheet._get_size = lambda self: None
    try:
        yield
    finally:
        ReadOnlyWorksheet._get_size = original


@contextmanager
def _workbook(path: Path) -> Iterator[Any]:
    try:
        with _no_size_scan():
            book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise UnreadableFile(MSG_BAD_FILE.format(reason="不是有效的 XLSX 文件")) from exc
    try:
        # Which part of the archive holds each sheet (to count its rows without parsing).
        book._sheets_by_name_part = {
            sheet.title: sheet._worksheet_path for sheet in book.worksheets
        }
        yield book
    finally:
        book.close()


def detect_encoding(path: Path) -> str:
    """UTF-8 (a BOM is dropped) when every byte decodes as UTF-8, else GB18030 (covers GBK)."""
    decoder: codecs.IncrementalDecoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    decoder = codecs.getincrementaldecoder("gb18030")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(MSG_BAD_FILE.format(reason="编码不是 UTF-8 或 GBK")) from exc
    return "gb18030"


@contextmanager
def opened(path: Path, *, file_format: str, kind: str) -> Iterator[list[SheetSource]]:
    """The sheets to import, in the order they are written (each refers to those before);
    an XLSX is opened once for all of them."""
    if file_format == "csv":
        if kind == WORKBOOK:
            raise UnreadableFile(MSG_BAD_FILE.format(reason="CSV 文件只能包含一种数据，请选择类型"))
        yield [SheetSource(kind, SHEET_TITLES[kind], path, "csv", None, detect_encoding(path))]
        return
    with _workbook(path) as book:
        titles = list(book.sheetnames)
        found: dict[str, str] = {}
        for title in titles:
            sheet_kind = sheet_kind_of_title(title)
            if sheet_kind is not None and sheet_kind not in found:
                found[sheet_kind] = title
        if kind != WORKBOOK:
            # A one-kind upload: the sheet named for the kind, else the first sheet.
            title = found.get(kind) or titles[0]
            yield [SheetSource(kind, SHEET_TITLES[kind], path, "xlsx", title, book=book)]
            return
        if not found:
            names = "、".join(SHEET_TITLES[k] for k in SHEET_KINDS)
            raise UnreadableFile(MSG_NO_SHEETS.format(names=names))
        yield [
            SheetSource(k, SHEET_TITLES[k], path, "xlsx", found[k], book=book)
            for k in SHEET_KINDS
            if k in found
        ]


def sniff_format(head: bytes, file_name: str) -> str:
    """xlsx when the bytes are a ZIP (whatever the name says), csv otherwise."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    return "csv"
