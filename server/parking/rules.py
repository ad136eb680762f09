"""Pure rules of parking: the value lists, mainland plate formats, and rental reminders.

No framework, database or settings here: the tables' CHECK constraints, the schemas'
validators and the reminder job are built on these.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

# 车位类型: 地上 / 地下 / 机械 (a mechanical stacker's slot).
SPACE_KINDS = ("ground", "underground", "mechanical")
SPACE_KIND_LABELS = {"ground": "地上", "underground": "地下", "mechanical": "机械"}
# 车位状态: in use (may be assigned) or disabled (under repair, retired: no new holder).
SPACE_ACTIVE, SPACE_DISABLED = "active", "disabled"
SPACE_STATUSES = (SPACE_ACTIVE, SPACE_DISABLED)
SPACE_STATUS_LABELS = {SPACE_ACTIVE: "正常", SPACE_DISABLED: "停用"}
# A customer's relation to a space: 产权 (owned) or 租用 (rented, under a contract).
OWNED, RENTED = "owned", "rented"
HOLDING_KINDS = (OWNED, RENTED)
HOLDING_KIND_LABELS = {OWNED: "产权", RENTED: "租用"}
DEFAULT_REMIND_DAYS = 30
MAX_REMIND_DAYS = 365

# --- plates (号牌, GA 36-2018 and its 2022 amendment for new-energy plates) ---------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Letters on plates never include I or O (they read as 1 and 0).
_LETTER = "A-HJ-NP-Z"
_ALNUM = "0-9A-HJ-NP-Z"
_P = f"[{PROVINCES}]"

PLATE_KINDS = (
    "ordinary",  # 普通号牌 (蓝牌、黄牌): 7 characters
    "new_energy",  # 新能源号牌 (绿牌): 8 characters
    "coach",  # 教练车 (学)
    "trailer",  # 挂车 (挂)
    "police",  # 警车 (警)
    "consulate",  # 领馆 (领)
    "embassy",  # 使馆 (使)
    "hk_macao",  # 粤Z 港澳入出境 (港 / 澳)
)
PLATE_KIND_LABELS = {
    "ordinary": "普通",
    "new_energy": "新能源",
    "coach": "教练",
    "trailer": "挂车",
    "police": "警用",
    "consulate": "领馆",
    "embassy": "使馆",
    "hk_macao": "港澳",
}

# Small new-energy cars: the first character of the serial says the energy: D (and since the
# 2022 amendment A B C E) pure electric, F (and G H J K) anything else; then one letter or
# digit and four digits. Large new-energy vehicles: five digits, then D or F.
_SMALL_NEV_ELECTRIC = "DABCE"
_SMALL_NEV_OTHER = "FGHJK"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ordinary", re.compile(f"^{_P}[{_LETTER}][{_ALNUM}]{{5}}$")),
    (
        "new_energy",
        re.compile(
            f"^{_P}[{_LETTER}](?:[{_SMALL_NEV_ELECTRIC}{_SMALL_NEV_OTHER}][{_ALNUM}][0-9]{{4}}"
            f"|[0-9]{{5}}[DF])$"
        ),
    ),
    ("coach", re.compile(f"^{_P}[{_LETTER}][{_ALNUM}]{{4}}学$")),
    ("trailer", re.compile(f"^{_P}[{_LETTER}][{_ALNUM}]{{4}}挂$")),
    ("police", re.compile(f"^{_P}[{_LETTER}][{_ALNUM}]{{4}}警$")),
    ("consulate", re.compile(f"^{_P}[{_LETTER}][{_ALNUM}]{{4}}领$")),
    # 使 + the mission's three-digit code + three digits (e.g. 使014578).
    ("embassy", re.compile("^使[0-9]{6}$")),
    ("hk_macao", re.compile(f"^粤Z[{_ALNUM}]{{4}}[港澳]$")),
)
# What people type between the parts: spaces, the middle dot, hyphens.
_SEPARATORS = re.compile(r"[\s·•.\-－—_]+")
MAX_PLATE_INPUT = 20


def normalise_plate(text: str) -> str:
    """A plate as stored: full-width letters and digits made ASCII, separators dropped,
    upper case (`粤b·12345` → `粤B12345`)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def plate_kind(plate: str) -> str | None:
    """The kind of a normalised plate, or None when it is no mainland plate."""
    for kind, pattern in _PATTERNS:
        if pattern.match(plate):
            return kind
    return None


def plate_problem(plate: str) -> str | None:
    """Why a normalised plate is not a valid mainland plate (None when it is), in zh-CN."""
    if not plate:
        return "请填写车牌号"
    if plate_kind(plate) is not None:
        return None
    if plate[0] == "使":
        return "使馆车牌格式应为 使 + 6 位数字，如 使014578"
    if plate[0] not in PROVINCES:
        return "车牌号应以省份简称开头，如 粤B12345"
    if len(plate) >= 2 and not re.match(f"[{_LETTER}]", plate[1]):
        return "车牌号第二位应为发牌机关字母（不含 I、O）"
    if "I" in plate[2:] or "O" in plate[2:]:
        return "车牌号中不能含字母 I 或 O"
    if plate[-1] in "学挂警领港澳":
        return f"带“{plate[-1]}”字的车牌格式应为 省份简称 + 字母 + 4 位字母或数字 + {plate[-1]}"
    if len(plate) == 8:
        return "新能源车牌格式不正确：小型车第三位为 D/F 等，大型车末位为 D/F"
    if len(plate) not in (7, 8):
        return "车牌号应为 7 位（普通）或 8 位（新能源）"
    return "车牌号格式不正确"


def energy_of(plate: str) -> str | None:
    """For a new-energy plate: 'electric' (纯电动) or 'hybrid' (非纯电动); else None."""
    if plate_kind(plate) != "new_energy":
        return None
    mark = plate[2] if plate[2].isalpha() else plate[-1]
    return "electric" if mark in _SMALL_NEV_ELECTRIC else "hybrid"


# --- periods and rental reminders -------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days a relation covers, both ends included; `end` None: open-ended."""

    start: date
    end: date | None

    def overlaps(self, other: Period) -> bool:
        return (self.end is None or other.start <= self.end) and (
            other.end is None or self.start <= other.end
        )


def period_problem(kind: str, start: date, end: date | None) -> tuple[str, str] | None:
    """(field, zh-CN reason) when a relation's dates are not acceptable, else None."""
    if end is not None and end < start:
        return "end_date", "结束日期不能早于开始日期"
    if kind == RENTED and end is None:
        return "end_date", "租用车位须填写合同结束日期"
    return None


def remind_from(end_date: date, remind_days: int) -> date:
    """The first local day on which a rental ending on `end_date` is to be reminded."""
    return end_date - timedelta(days=remind_days)


def reminder_due(
    *, kind: str, end_date: date | None, remind_days: int, today: date, ended: bool
) -> bool:
    """Whether a rental is due its expiry reminder today: rented, not ended early, its contract
    end not yet passed and within its reminder days."""
    if kind != RENTED or end_date is None or ended:
        return False
    return remind_from(end_date, remind_days) <= today <= end_date
