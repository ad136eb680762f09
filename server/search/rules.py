"""What a search box query is (pure): its kind decides which lookups run and how hits rank.

- 11 digits (a mainland mobile, spaces, dashes or +86 allowed) → a full phone;
- 4 digits → the last four digits of a phone (and a room code: 1001 is also a room);
- BX… → an order number (whole or its beginning);
- 18 characters shaped like a resident ID (17 digits and a digit or X) or a unified social
  credit code → an ID number;
- anything else → text: a room code, a customer's name (also by its pinyin: "zs" or
  "zhangsan" finds 张三, when the text is latin letters only) or a vehicle's plate (whole or a
  fragment: 粤B12345, 粤B, A12345; a phone's last four digits also look in plates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from server.kernel.personal_data import normalise_phone

ORDER_NUMBER_PREFIX = "BX"
MAX_QUERY_LENGTH = 50
DEFAULT_LIMIT = 5
MAX_LIMIT = 20
# Counts are exact up to this many matches; beyond, the answer says "more than".
COUNT_LIMIT = 1000
# Substring and similarity matching read the trigram indexes; a shorter text has no trigram
# of its own, so it matches by equality and prefix only.
MIN_CONTAINS_LENGTH = 3

_PHONE_TAIL = re.compile(r"^\d{4}$")
_ORDER_NUMBER = re.compile(r"^BX[0-9-]*$")
# An order number typed without its prefix: 20261122-0001.
_BARE_ORDER_NUMBER = re.compile(r"^\d{8}-\d*$")
_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_CREDIT_CODE = re.compile(r"^(?=.*\d)[0-9A-Z]{18}$")
# Latin letters only: a name's pinyin initials or full pinyin (at least two letters: one
# letter would match a large part of a million names).
_PINYIN = re.compile(r"^[a-z]{2,}$")
MAX_PINYIN_LENGTH = 40
# A plate or a fragment of one (normalised): an optional leading province character, letters
# and digits, an optional trailing 学 / 挂 / 警 …; at least one letter or digit, two characters.
_PLATE_FRAGMENT = re.compile(r"^[\u4e00-\u9fff]?[0-9A-Z]+[\u4e00-\u9fff]?$")
MIN_PLATE_LENGTH = 2


class QueryKind(StrEnum):
    PHONE = "phone"
    PHONE_TAIL = "phone_tail"
    ORDER_NUMBER = "order_number"
    ID_NUMBER = "id_number"
    TEXT = "text"


QUERY_KINDS = tuple(k.value for k in QueryKind)
QUERY_KIND_LABELS = {
    QueryKind.PHONE: "手机号",
    QueryKind.PHONE_TAIL: "手机尾号",
    QueryKind.ORDER_NUMBER: "工单号",
    QueryKind.ID_NUMBER: "证件号",
    QueryKind.TEXT: "房号、姓名或车牌",
}


class Match(StrEnum):
    """How a hit matched, best first (the rank is the position)."""

    EXACT = "exact"
    PREFIX = "prefix"
    TAIL = "tail"
    CONTAINS = "contains"
    SIMILAR = "similar"


MATCHES = tuple(m.value for m in Match)
MATCH_LABELS = {
    Match.EXACT: "完全匹配",
    Match.PREFIX: "开头匹配",
    Match.TAIL: "尾号匹配",
    Match.CONTAINS: "包含",
    Match.SIMILAR: "相似",
}


def rank_of(match: Match) -> int:
    return list(Match).index(match)


@dataclass(frozen=True)
class Query:
    """A classified query: `value` is what the lookups compare (normalised)."""

    kind: QueryKind
    value: str
    text: str  # as typed, trimmed

    @property
    def contains_allowed(self) -> bool:
        return len(self.value) >= MIN_CONTAINS_LENGTH

    @property
    def pinyin(self) -> str | None:
        """The text as pinyin to compare with names' initials and full pinyin (lower case),
        or None when it is no pinyin."""
        if self.kind != QueryKind.TEXT:
            return None
        compact = re.sub(r"[\s']+", "", self.value).lower()
        return compact if _PINYIN.match(compact) and len(compact) <= MAX_PINYIN_LENGTH else None


def plate_lookup(kind: QueryKind, fragment: str) -> bool:
    """Whether a query of `kind`, normalised as plates are (`fragment`), is looked up among
    plates: text or four digits shaped like (part of) a plate."""
    if kind not in (QueryKind.TEXT, QueryKind.PHONE_TAIL):
        return False
    return len(fragment) >= MIN_PLATE_LENGTH and _PLATE_FRAGMENT.match(fragment) is not None


def classify(raw: str) -> Query:
    """The kind of a trimmed, non-empty query and its normalised value."""
    text = raw.strip()
    compact = re.sub(r"\s+", "", text)
    if _PHONE_TAIL.match(compact):
        return Query(QueryKind.PHONE_TAIL, compact, text)
    phone = normalise_phone(compact)
    if phone is not None:
        return Query(QueryKind.PHONE, phone, text)
    upper = compact.upper()
    if _BARE_ORDER_NUMBER.match(upper):
        upper = ORDER_NUMBER_PREFIX + upper
    if _ORDER_NUMBER.match(upper):
        return Query(QueryKind.ORDER_NUMBER, upper, text)
    if _RESIDENT_ID.match(upper) or _CREDIT_CODE.match(upper):
        return Query(QueryKind.ID_NUMBER, upper, text)
    return Query(QueryKind.TEXT, text, text)


def like_escape(text: str) -> str:
    """`text` matched literally inside LIKE (its %, _ and \\ are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
