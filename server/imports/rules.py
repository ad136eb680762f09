"""The onboarding sheets (批量导入): their kinds, columns, Chinese headers and cell rules.

Pure Python. Each sheet is a list of columns; a row of cells becomes a dict of clean values
and a list of (column header, zh-CN reason) for every cell that is not acceptable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from server.kernel.personal_data import normalise_phone
from server.parking.rules import (
    HOLDING_KIND_LABELS,
    MAX_PLATE_INPUT,
    MAX_REMIND_DAYS,
    SPACE_KIND_LABELS,
    SPACE_STATUS_LABELS,
    normalise_plate,
    plate_problem,
)

COMMUNITIES = "communities"
BUILDINGS = "buildings"
UNITS = "units"
ROOMS = "rooms"
CUSTOMERS = "customers"
CONTACTS = "contacts"
CUSTOMER_ROOMS = "customer_rooms"
PARKING_SPACES = "parking_spaces"
SPACE_HOLDINGS = "space_holdings"
VEHICLES = "vehicles"
# In the order they are written: each sheet refers only to the sheets before it.
SHEET_KINDS = (
    COMMUNITIES,
    BUILDINGS,
    UNITS,
    ROOMS,
    CUSTOMERS,
    CONTACTS,
    CUSTOMER_ROOMS,
    PARKING_SPACES,
    SPACE_HOLDINGS,
    VEHICLES,
)
WORKBOOK = "workbook"  # an XLSX with one sheet per kind, named by the kind or its title
UPLOAD_KINDS = (*SHEET_KINDS, WORKBOOK)
FORMATS = ("csv", "xlsx")

SHEET_TITLES = {
    COMMUNITIES: "小区",
    BUILDINGS: "楼栋",
    UNITS: "单元",
    ROOMS: "房间",
    CUSTOMERS: "客户",
    CONTACTS: "联系人",
    CUSTOMER_ROOMS: "客户房屋关系",
    PARKING_SPACES: "车位",
    SPACE_HOLDINGS: "车位关系",
    VEHICLES: "车辆",
    WORKBOOK: "整本工作簿",
}

QUEUED, RUNNING, DONE, REJECTED, FAILED = "queued", "running", "done", "rejected", "failed"
# done: validated (dry run) or written (real run); rejected: a real run with bad rows, nothing
# written; failed: the file could not be read or the job crashed, nothing written.
JOB_STATUSES = (QUEUED, RUNNING, DONE, REJECTED, FAILED)
FINISHED = frozenset({DONE, REJECTED, FAILED})
STATUS_LABELS = {
    QUEUED: "排队中",
    RUNNING: "进行中",
    DONE: "完成",
    REJECTED: "有错误，未导入",
    FAILED: "失败",
}

MAX_REPORTED_ERRORS = 5000  # the report keeps this many; `error_count` counts them all
MAX_FILE_BYTES = 64 * 1024 * 1024
BATCH_ROWS = 1000

# Value labels the sheets use (the codes themselves are accepted too).
CUSTOMER_KIND_LABELS = {"person": "个人", "company": "企业"}
ID_TYPE_LABELS = {
    "id_card": "身份证",
    "passport": "护照",
    "hk_macao_pass": "港澳通行证",
    "taiwan_pass": "台胞证",
    "credit_code": "统一社会信用代码",
    "other": "其他",
}
ORIENTATION_LABELS = {
    "east": "东",
    "south": "南",
    "west": "西",
    "north": "北",
    "southeast": "东南",
    "southwest": "西南",
    "northeast": "东北",
    "northwest": "西北",
    "north_south": "南北",
    "east_west": "东西",
}
ROOM_USE_LABELS = {"residence": "住宅", "shop": "商铺", "parking": "车位", "garage": "车库"}
CONTACT_RELATION_LABELS = {"self": "本人", "family": "家属", "employee": "员工", "other": "其他"}
ROOM_RELATION_LABELS = {"owner": "业主", "tenant": "租户", "resident": "住户"}
# Other spellings people type.
_ALIASES = {
    "公司": "company",
    "单位": "company",
    "居民身份证": "id_card",
    "营业执照": "credit_code",
    "台湾居民来往大陆通行证": "taiwan_pass",
    "南北通透": "north_south",
    "家庭成员": "family",
    "住宅房": "residence",
    "商业": "shop",
    "承租人": "tenant",
    "租客": "tenant",
    "家属": "family",
    "产权人": "owner",
    "自有": "owned",
    "产权车位": "owned",
    "租赁": "rented",
    "地面": "ground",
    "机械车位": "mechanical",
    "启用": "active",
}

MSG_REQUIRED = "必填"
MSG_TOO_LONG = "不能超过 {n} 个字符"
MSG_NOT_INTEGER = "应为整数"
MSG_INTEGER_RANGE = "应在 {low} 到 {high} 之间"
MSG_NOT_AREA = "应为大于 0 的数字，最多两位小数"
MSG_NOT_DATE = "日期格式应为 YYYY-MM-DD"
MSG_NOT_CHOICE = "应为以下之一：{choices}"
MSG_BAD_PHONE = "手机号格式不正确（应为 11 位中国大陆手机号）"
MSG_BAD_LANDLINE = "电话格式不正确"
MSG_UNKNOWN_HEADER = "无法识别的表头：{names}"
MSG_MISSING_HEADER = "缺少必需的列：{names}"
MSG_EMPTY_FILE = "文件中没有表头"
MSG_NO_SHEETS = "工作簿中没有可识别的工作表（应命名为：{names}）"
MSG_BAD_FILE = "无法读取文件：{reason}"
MSG_DUPLICATE_IN_FILE = "与第 {row} 行重复"
MSG_UNKNOWN_COMMUNITY = "小区编码不存在"
MSG_UNKNOWN_BUILDING = "楼栋不存在（请先导入楼栋）"
MSG_UNKNOWN_UNIT = "单元不存在（请先导入单元）"
MSG_UNKNOWN_ROOM = "房间不存在"
MSG_UNKNOWN_CUSTOMER = "客户不存在（按证件号码或手机号查找）"
MSG_AMBIGUOUS_CUSTOMER = "该手机号对应多个客户，请填写证件号码"
MSG_CUSTOMER_KEY = "证件号码与手机号至少填写一个"
MSG_PERIOD = "结束日期不能早于开始日期"
MSG_OVERLAP = "与该客户在此房间的{relation}关系日期重叠（{start} 起）"
MSG_ID_TYPE_KIND = "企业客户的证件类型应为统一社会信用代码"
MSG_UNKNOWN_SPACE = "车位不存在（请先导入车位）"
MSG_SPACE_COMMUNITY = "填写车位编号时须填写小区编码"
MSG_SPACE_DISABLED = "该车位已停用，不能分配"
MSG_SPACE_TAKEN = "该车位在此期间已有{kind}关系（{start} 起）"
MSG_HOLDING_ENDED = "该车位关系已结束，不能修改"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    parse: Callable[[Any], Any]
    required: bool = False
    example: Any = ""
    note: str = ""


@dataclass(frozen=True)
class Sheet:
    kind: str
    columns: tuple[Column, ...]
    by_header: Mapping[str, Column] = field(init=False)

    def __post_init__(self) -> None:
        names: dict[str, Column] = {}
        for column in self.columns:
            names[column.header] = column
            names[column.header.rstrip("*")] = column
            names[column.key] = column
        object.__setattr__(self, "by_header", names)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


class CellError(ValueError):
    """A cell's value is not acceptable; the message is the zh-CN reason."""


def text(max_len: int, *, upper: bool = False) -> Callable[[Any], str | None]:
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a code typed as a number in a spreadsheet
        result = str(value).strip()
        if upper:
            result = result.upper()
        if not result:
            return None
        if len(result) > max_len:
            raise CellError(MSG_TOO_LONG.format(n=max_len))
        return result

    return parse


def integer(low: int, high: int) -> Callable[[Any], int | None]:
    def parse(value: Any) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                number = int(value)
            else:
                number = int(str(value).strip())
        except ValueError:
            raise CellError(MSG_NOT_INTEGER) from None
        if not low <= number <= high:
            raise CellError(MSG_INTEGER_RANGE.format(low=low, high=high))
        return number

    return parse


def area(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise CellError(MSG_NOT_AREA) from None
    if not number.is_finite() or number <= 0 or number >= Decimal("100000000"):
        raise CellError(MSG_NOT_AREA)
    if number != number.quantize(Decimal("0.01")):
        # Floats from spreadsheets (88.5 stored as 88.50000001) round to the cent.
        if isinstance(value, float):
            return number.quantize(Decimal("0.01"))
        raise CellError(MSG_NOT_AREA)
    return number.quantize(Decimal("0.01"))


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value).strip()
    if not raw:
        return None
    match = _DATE.match(raw) or _COMPACT_DATE.match(raw)
    if match is None:
        raise CellError(MSG_NOT_DATE)
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError(MSG_NOT_DATE) from None


def choice(labels: Mapping[str, str]) -> Callable[[Any], str | None]:
    by_text = {label: code for code, label in labels.items()}
    by_text.update({code: code for code in labels})
    by_text.update({alias: code for alias, code in _ALIASES.items() if code in labels})
    listed = "、".join(labels.values())

    def parse(value: Any) -> str | None:
        if value is None:
            return None
        raw = str(value).strip()
        if not raw:
            return None
        code = by_text.get(raw) or by_text.get(raw.lower())
        if code is None:
            raise CellError(MSG_NOT_CHOICE.format(choices=listed))
        return code

    return parse


def mobile(value: Any) -> str | None:
    raw = text(40)(value)
    if raw is None:
        return None
    phone = normalise_phone(raw)
    if phone is None:
        raise CellError(MSG_BAD_PHONE)
    return phone


_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def any_phone(value: Any) -> str | None:
    """A mobile, or a landline with its area code (an emergency contact may have either)."""
    raw = text(40)(value)
    if raw is None:
        return None
    phone = normalise_phone(raw)
    if phone is not None:
        return phone
    if _LANDLINE.match(raw.replace(" ", "")):
        return raw.replace(" ", "")
    raise CellError(MSG_BAD_LANDLINE)


def id_number(value: Any) -> str | None:
    """Upper-cased, spaces removed; its checksum is checked with the customer's kind."""
    raw = text(40, upper=True)(value)
    return None if raw is None else raw.replace(" ", "")


def plate(value: Any) -> str | None:
    """A mainland plate, normalised as stored (粤b·12345 → 粤B12345)."""
    raw = text(MAX_PLATE_INPUT)(value)
    if raw is None:
        return None
    normalised = normalise_plate(raw)
    problem = plate_problem(normalised)
    if problem is not None:
        raise CellError(problem)
    return normalised


def _c(key: str, header: str, parse: Callable[[Any], Any], example: Any = "", **kw: Any) -> Column:
    return Column(key, header, parse, example=example, **kw)


def _r(key: str, header: str, parse: Callable[[Any], Any], example: Any = "", **kw: Any) -> Column:
    return Column(key, header + "*", parse, required=True, example=example, **kw)


_COMMUNITY_CODE = _r("community_code", "小区编码", text(32), "YGHY")
_BUILDING_NAME = _r("building_name", "楼栋", text(50), "1栋")
_CUSTOMER_ID = _c("customer_id_number", "客户证件号码", id_number, "110101199003071233")
_CUSTOMER_PHONE = _c("customer_phone", "客户手机号", mobile, "13800138000")

SHEETS: dict[str, Sheet] = {
    COMMUNITIES: Sheet(
        COMMUNITIES,
        (
            _COMMUNITY_CODE,
            _r("name", "小区名称", text(100), "阳光花园"),
            _c("address", "地址", text(200), "杭州市西湖区文三路 1 号"),
        ),
    ),
    BUILDINGS: Sheet(
        BUILDINGS,
        (
            _COMMUNITY_CODE,
            _r("name", "楼栋", text(50), "1栋"),
            _c("floors", "楼层数", integer(1, 300), 18),
        ),
    ),
    UNITS: Sheet(
        UNITS,
        (_COMMUNITY_CODE, _BUILDING_NAME, _r("name", "单元", text(50), "1单元")),
    ),
    ROOMS: Sheet(
        ROOMS,
        (
            _COMMUNITY_CODE,
            _BUILDING_NAME,
            _c("unit_name", "单元", text(50), "1单元"),
            _r("code", "房间编码", text(50), "1-1-101", note="小区内唯一"),
            _r("floor", "楼层", integer(-10, 300), 1),
            _c("building_area", "建筑面积", area, "88.50"),
            _c("charge_area", "计费面积", area, "86.00"),
            _c("layout", "户型", text(50), "三室两厅"),
            _c("orientation", "朝向", choice(ORIENTATION_LABELS), "南北"),
            _c("use", "用途", choice(ROOM_USE_LABELS), "住宅"),
            _c("delivered_on", "交付日期", day, "2024-06-30"),
            _c("moved_in_on", "入住日期", day, "2024-08-01"),
        ),
    ),
    CUSTOMERS: Sheet(
        CUSTOMERS,
        (
            _r("kind", "客户类型", choice(CUSTOMER_KIND_LABELS), "个人"),
            _r("name", "客户名称", text(100), "张三"),
            _c("id_type", "证件类型", choice(ID_TYPE_LABELS), "身份证"),
            _c("id_number", "证件号码", id_number, "110101199003071233"),
            _r("phone", "手机号", mobile, "13800138000"),
            _c("emergency_name", "紧急联系人", text(50), "李四"),
            _c("emergency_phone", "紧急联系电话", any_phone, "13900139000"),
            _c("remark", "备注", text(500), ""),
        ),
    ),
    CONTACTS: Sheet(
        CONTACTS,
        (
            _CUSTOMER_ID,
            _CUSTOMER_PHONE,
            _r("name", "联系人姓名", text(50), "张小三"),
            _r("phone", "联系人手机号", mobile, "13700137000"),
            _r("relation", "关系", choice(CONTACT_RELATION_LABELS), "家属"),
        ),
    ),
    CUSTOMER_ROOMS: Sheet(
        CUSTOMER_ROOMS,
        (
            _CUSTOMER_ID,
            _CUSTOMER_PHONE,
            _COMMUNITY_CODE,
            _r("room_code", "房间编码", text(50), "1-1-101"),
            _r("relation", "关系", choice(ROOM_RELATION_LABELS), "业主"),
            _r("start_date", "开始日期", day, "2024-08-01"),
            _c("end_date", "结束日期", day, ""),
        ),
    ),
    PARKING_SPACES: Sheet(
        PARKING_SPACES,
        (
            _COMMUNITY_CODE,
            _r("number", "车位编号", text(32, upper=True), "B2-015", note="小区内唯一"),
            _c("area", "区域", text(50), "地下二层 B 区"),
            _r("kind", "车位类型", choice(SPACE_KIND_LABELS), "地下"),
            _c("location", "位置", text(200), "1 栋电梯口旁"),
            _c("status", "状态", choice(SPACE_STATUS_LABELS), "正常"),
            _c("remark", "备注", text(500), ""),
        ),
    ),
    SPACE_HOLDINGS: Sheet(
        SPACE_HOLDINGS,
        (
            _CUSTOMER_ID,
            _CUSTOMER_PHONE,
            _COMMUNITY_CODE,
            _r("space_number", "车位编号", text(32, upper=True), "B2-015"),
            _r("kind", "关系", choice(HOLDING_KIND_LABELS), "租用"),
            _r("start_date", "开始日期", day, "2025-01-01"),
            _c("end_date", "结束日期", day, "2025-12-31", note="租用必填"),
            _c("contract_number", "合同编号", text(50), "ZY-2025-001"),
            _c("remind_days", "到期提醒天数", integer(0, MAX_REMIND_DAYS), 30),
        ),
    ),
    VEHICLES: Sheet(
        VEHICLES,
        (
            _r("plate", "车牌号", plate, "浙A12345"),
            _CUSTOMER_ID,
            _CUSTOMER_PHONE,
            _c("model", "品牌车型", text(50), "比亚迪 汉"),
            _c("colour", "颜色", text(20), "白色"),
            _c("community_code", "小区编码", text(32), "YGHY"),
            _c("space_number", "车位编号", text(32, upper=True), "B2-015"),
            _c("remark", "备注", text(500), ""),
        ),
    ),
}


def sheet_kind_of_title(title: str) -> str | None:
    """The kind a workbook's sheet holds, by its name (`房间` or `rooms`)."""
    name = title.strip()
    for kind, label in SHEET_TITLES.items():
        if kind != WORKBOOK and name in (kind, label):
            return kind
    return None


@dataclass
class HeaderMap:
    """Where each column of a sheet is in the file's header row."""

    positions: dict[str, int]
    problems: list[str]


def map_headers(sheet: Sheet, header_row: Sequence[Any]) -> HeaderMap:
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(header_row):
        name = "" if cell is None else str(cell).strip().lstrip("\ufeff")
        if not name:
            continue
        column = sheet.by_header.get(name)
        if column is None:
            unknown.append(name)
        elif column.key not in positions:
            positions[column.key] = index
    problems = []
    missing = [c.header for c in sheet.columns if c.required and c.key not in positions]
    if missing:
        problems.append(MSG_MISSING_HEADER.format(names="、".join(missing)))
    if unknown:
        problems.append(MSG_UNKNOWN_HEADER.format(names="、".join(unknown[:10])))
    return HeaderMap(positions, problems)


def parse_row(
    sheet: Sheet, headers: HeaderMap, cells: Sequence[Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The row's clean values, and (column header, reason) for each cell refused."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in sheet.columns:
        at = headers.positions.get(column.key)
        raw = cells[at] if at is not None and at < len(cells) else None
        try:
            value = column.parse(raw)
        except CellError as exc:
            problems.append((column.header, str(exc)))
            continue
        if value is None and column.required:
            problems.append((column.header, MSG_REQUIRED))
            continue
        values[column.key] = value
    return values, problems


def is_blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def periods_overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Two inclusive periods (None: open-ended) share at least one day."""
    return (b_end is None or a_start <= b_end) and (a_end is None or b_start <= a_end)
