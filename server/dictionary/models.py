"""数据字典's table: an organisation's items and its changes to the system values.

A system value (the code's, `rules.LISTS`) has a row only once the organisation relabelled,
reordered or disabled it (`system` true); the organisation's own items of an open list always
have one (`system` false). One row per (organisation, list, code).
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.dictionary.rules import CODE_MAX, LABEL_MAX, LIST_NAMES, SORT_MAX
from server.kernel.values import sql_in


class DictionaryItem(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "dictionary_items"
    __table_args__ = (
        UniqueConstraint("org_id", "list", "code"),
        CheckConstraint(sql_in("list", LIST_NAMES), name="list_known"),
        CheckConstraint(f"sort BETWEEN 0 AND {SORT_MAX}", name="sort_range"),
        CheckConstraint("label <> ''", name="label_present"),
    )

    list: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(CODE_MAX))
    label: Mapped[str] = mapped_column(String(LABEL_MAX))
    sort: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # A system value's stored change (never deleted, never recoded); False: the org's own.
    system: Mapped[bool] = mapped_column(Boolean, default=False)
