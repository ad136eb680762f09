"""The directory's value lists: what a customer, a contact and a room relation may be.

Pure Python: the tables' CHECK constraints and the schemas' validators are built from these.
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

CUSTOMER_KINDS = ("person", "company")
# Who a contact is to their customer: the person themself, family, a company's employee.
CONTACT_SELF = "self"
CONTACT_RELATIONS = (CONTACT_SELF, "family", "employee", "other")
ROOM_RELATIONS = ("owner", "tenant", "resident")
ORIENTATIONS = (
    "east",
    "south",
    "west",
    "north",
    "southeast",
    "southwest",
    "northeast",
    "northwest",
    "north_south",
    "east_west",
)

# What a room is used for (房屋用途): 住宅 / 商铺 / 车位 / 车库.
ROOM_USES = ("residence", "shop", "parking", "garage")
# The document behind a customer's ID number (证件类型).
ID_TYPES = ("id_card", "passport", "hk_macao_pass", "taiwan_pass", "credit_code", "other")

# A customer's name in pinyin (客户姓名拼音), for the search box: 张三 → initials "zs", full
# "zhangsan". Lower case ASCII letters and digits only (other characters dropped), each cut to
# its column's length. Common readings: a surname's special reading (曾 zēng, 单 shàn) is not
# known, so 曾 reads "ceng" — the initials of most names are unaffected.
NAME_PINYIN_MAX = 200
_NOT_KEY = re.compile(r"[^a-z0-9]+")


def pinyin_keys(name: str) -> tuple[str, str]:
    """(initials, full pinyin) of a name: 张三 → ("zs", "zhangsan"); Tom Li → ("tomli", "tomli")."""
    name = unicodedata.normalize("NFKC", name)
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"))
    full = "".join(lazy_pinyin(name, style=Style.NORMAL, errors="default"))
    return (
        _NOT_KEY.sub("", initials.lower())[:NAME_PINYIN_MAX],
        _NOT_KEY.sub("", full.lower())[:NAME_PINYIN_MAX],
    )
