"""The XLSX rows an import reads are the values openpyxl's own read-only `iter_rows` gives
(the import reads them with a reduced parser of its own): shared and inline strings, rich
text, numbers, dates, booleans, errors, formulas' cached values, gaps and blank rows."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook

from server.imports import reading
from server.imports.rules import is_blank

CELLS = [
    ["小区", 1, 2.5, True, datetime(2024, 1, 2, 3, 4), date(2024, 3, 4), None, "  x ", "=1+2"],
    [],
    [None, None, "间隔", 0, -7, 1e20, False],
    ["0571-88886666", "110101199003071233", 13800138000, "2024-06-30", "#N/A"],
]
# Text as other programs write it: runs of rich text with a phonetic guide, an error cell, a
# formula's cached string, a row without its number.
RICH_ROW = (
    b'<row r="9"><c r="A9" t="inlineStr"><is><r><t>ab</t></r><r><rPr><b/></rPr>'
    b'<t xml:space="preserve"> cd</t></r><rPh sb="0" eb="1"><t>ph</t></rPh></is></c>'
    b'<c r="C9" t="inlineStr"><is><t>plain</t></is></c><c r="D9" t="e"><v>#DIV/0!</v></c>'
    b'<c r="E9" t="b"><v>1</v></c><c r="F9" t="str"><f>A1</f><v>cached</v></c></row>'
    b'<row><c t="inlineStr"><is><t>no number</t></is></c><c><v>3</v></c></row>'
)


def _openpyxl_rows(path: Path, title: str) -> list[tuple[int, list[object]]]:
    """As the import read them before: each row as long as it is (no size scan)."""
    with reading._no_size_scan():
        book = load_workbook(path, read_only=True, data_only=True)
    try:
        found = []
        for number, values in enumerate(book[title].iter_rows(values_only=True), start=1):
            cells = list(values)
            if not is_blank(cells):
                found.append((number, cells))
        return found
    finally:
        book.close()


def _import_rows(path: Path) -> list[tuple[int, list[object]]]:
    with reading.opened(path, file_format="xlsx", kind="rooms") as sheets:
        return list(sheets[0].rows())


def _with_rich_row(path: Path, out: Path) -> None:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b"</sheetData>", RICH_ROW + b"</sheetData>")
            target.writestr(item, data)


def test_rows_are_read_as_openpyxl_reads_them(tmp_path):
    normal = Workbook()  # shared strings, a <dimension>
    sheet = normal.active
    sheet.title = "房间"
    for row in CELLS:
        sheet.append(row)
    sheet["H12"] = "远处"
    normal.save(tmp_path / "normal.xlsx")
    streamed = Workbook(write_only=True)  # inline strings, no <dimension>
    sheet = streamed.create_sheet("房间")
    for row in CELLS:
        sheet.append(row)
    streamed.save(tmp_path / "streamed.xlsx")
    _with_rich_row(tmp_path / "streamed.xlsx", tmp_path / "rich.xlsx")

    for name in ("normal.xlsx", "streamed.xlsx", "rich.xlsx"):
        path = tmp_path / name
        assert _import_rows(path) == _openpyxl_rows(path, "房间"), name
    rich = dict(_import_rows(tmp_path / "rich.xlsx"))
    assert rich[9] == ["ab cd", None, "plain", "#DIV/0!", True, "cached"]
    assert rich[10] == ["no number", 3]
    normal_rows = dict(_import_rows(tmp_path / "normal.xlsx"))
    assert normal_rows[1][4] == datetime(2024, 1, 2, 3, 4)
    assert normal_rows[3] == [None, None, "间隔", 0, -7, 1e20, False]
    assert normal_rows[12] == [None] * 7 + ["远处"]
