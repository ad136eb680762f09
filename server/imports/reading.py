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
from openpyxl.utils.exceptions import InvalidFileException

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

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number as a spreadsheet shows it, cells), the header row first, blanks skipped."""
        if self.file_format == "csv":
            with self.path.open(encoding=self.encoding, newline="") as handle:
                for number, cells in enumerate(csv.reader(handle), start=1):
                    if not is_blank(cells):
                        yield number, list(cells)
            return
        with _workbook(self.path) as book:
            sheet = book[self.sheet_name]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = list(values)
                if not is_blank(cells):
                    yield number, cells

    def count_rows(self) -> int:
        """Data rows (without the header): the dimension an XLSX declares, else by counting."""
        if self.file_format == "xlsx":
            with _workbook(self.path) as book:
                sheet = book[self.sheet_name]
                declared = sheet.max_row
            if declared:
                return max(int(declared) - 1, 0)
        return max(sum(1 for _ in self.rows()) - 1, 0)


@contextmanager
def _workbook(path: Path) -> Iterator[Any]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise UnreadableFile(MSG_BAD_FILE.format(reason="不是有效的 XLSX 文件")) from exc
    try:
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


def sources(path: Path, *, file_format: str, kind: str) -> list[SheetSource]:
    """The sheets to import, in the order they are written (each refers to those before)."""
    if file_format == "csv":
        if kind == WORKBOOK:
            raise UnreadableFile(MSG_BAD_FILE.format(reason="CSV 文件只能包含一种数据，请选择类型"))
        return [SheetSource(kind, SHEET_TITLES[kind], path, "csv", None, detect_encoding(path))]
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
        return [SheetSource(kind, SHEET_TITLES[kind], path, "xlsx", title)]
    if not found:
        names = "、".join(SHEET_TITLES[k] for k in SHEET_KINDS)
        raise UnreadableFile(MSG_NO_SHEETS.format(names=names))
    return [
        SheetSource(k, SHEET_TITLES[k], path, "xlsx", found[k]) for k in SHEET_KINDS if k in found
    ]


def sniff_format(head: bytes, file_name: str) -> str:
    """xlsx when the bytes are a ZIP (whatever the name says), csv otherwise."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    return "csv"
