"""数据字典's use cases: the lists with the organisation's labels, order and switches; adding,
changing and deleting items (admins); the enabled choices a client may send.

A list's items are its system values (the code's, relabelled / reordered / disabled by the
organisation's stored rows) and, for an open list, the organisation's own items. Every change
is audited in the same unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.audit import log as audit_log
from server.dictionary.models import DictionaryItem
from server.dictionary.rules import (
    LISTS,
    MAX_ITEMS,
    SORT_MAX,
    ValueList,
    add_refusal,
    change_refusal,
    code_problem,
    delete_refusal,
    value_list,
)
from server.kernel.errors import Conflict, NotFound, ValidationFailed
from server.kernel.permissions import Permission
from server.roles.grants import require

_UNIQUE = "uq_dictionary_items_org_id_list_code"
# A system value's order until the organisation changes it: 10, 20, 30 … in the code's order.
SORT_STEP = 10


@dataclass(frozen=True)
class Item:
    list: str
    code: str
    label: str
    sort: int
    enabled: bool
    system: bool
    # The code's own label of a system value (shown beside a relabelled one); "" for own items.
    default_label: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ListSummary:
    value_list: ValueList
    item_count: int
    enabled_count: int

    @property
    def name(self) -> str:
        return self.value_list.name


def get_list(name: str) -> ValueList:
    found = value_list(name)
    if found is None:
        raise NotFound("数据字典中没有这个列表")
    return found


def _rows(session: Session, *, org_id: int, names: list[str]) -> list[DictionaryItem]:
    return list(
        session.scalars(
            select(DictionaryItem).where(
                DictionaryItem.org_id == org_id, DictionaryItem.list.in_(names)
            )
        )
    )


def _merge(vl: ValueList, rows: list[DictionaryItem]) -> list[Item]:
    stored = {r.code: r for r in rows if r.list == vl.name}
    items: list[Item] = []
    for index, (code, label) in enumerate(vl.values):
        row = stored.pop(code, None)
        if row is None:
            items.append(Item(vl.name, code, label, (index + 1) * SORT_STEP, True, True, label))
        else:
            items.append(
                Item(
                    vl.name,
                    code,
                    row.label,
                    row.sort,
                    row.enabled or vl.closed,
                    True,
                    label,
                    row.updated_at,
                )
            )
    if not vl.closed:
        # Own items (a row left for a code the list no longer has is shown as the org's own).
        items.extend(
            Item(vl.name, r.code, r.label, r.sort, r.enabled, False, "", r.updated_at)
            for r in stored.values()
        )
    order = {code: i for i, code in enumerate(vl.codes)}
    items.sort(key=lambda it: (it.sort, order.get(it.code, len(order)), it.code))
    return items


def items_of(session: Session, *, org_id: int, name: str, enabled_only: bool = False) -> list[Item]:
    """A list's items for the organisation, in its order (disabled ones too unless asked)."""
    vl = get_list(name)
    items = _merge(vl, _rows(session, org_id=org_id, names=[vl.name]))
    return [i for i in items if i.enabled] if enabled_only else items


def all_lists(session: Session, *, org_id: int) -> list[ListSummary]:
    """Every list with how many items it has for the organisation (one statement)."""
    rows = _rows(session, org_id=org_id, names=[vl.name for vl in LISTS])
    result = []
    for vl in LISTS:
        items = _merge(vl, rows)
        result.append(ListSummary(vl, len(items), sum(1 for i in items if i.enabled)))
    return result


def labels(session: Session, *, org_id: int, name: str) -> dict[str, str]:
    """code → the organisation's label, in its order (all items: a stored value that was
    disabled since still shows its name)."""
    return {i.code: i.label for i in items_of(session, org_id=org_id, name=name)}


def choices(session: Session, *, org_id: int, name: str) -> list[tuple[str, str]]:
    """(code, label) of the enabled items, in order: a select's options."""
    return [
        (i.code, i.label) for i in items_of(session, org_id=org_id, name=name, enabled_only=True)
    ]


def chosen(session: Session, *, org_id: int, name: str, code: str, field: str) -> Item:
    """The enabled item `code` of a list, as a client sent it in `field` (else a 422)."""
    for item in items_of(session, org_id=org_id, name=name, enabled_only=True):
        if item.code == code:
            return item
    vl = get_list(name)
    raise ValidationFailed.field(field, f"“{vl.title}”中没有可用的选项 {code[:40]}")


def reason_text(
    session: Session, *, org_id: int, name: str, code: str | None, note: str | None
) -> str:
    """The reason as stored on an order's timeline: the chosen item's label, then the
    caller's own words (`取消原因：说明`); the words alone when no code was sent."""
    if code is None:
        if not note:
            raise ValidationFailed.field("reason", "请选择或填写原因")
        return note
    label = chosen(session, org_id=org_id, name=name, code=code, field="reason_code").label
    return f"{label}：{note}" if note else label


def _stored(session: Session, *, org_id: int, name: str, code: str) -> DictionaryItem | None:
    return session.scalar(
        select(DictionaryItem).where(
            DictionaryItem.org_id == org_id,
            DictionaryItem.list == name,
            DictionaryItem.code == code,
        )
    )


def _item(session: Session, *, org_id: int, name: str, code: str) -> Item:
    for item in items_of(session, org_id=org_id, name=name):
        if item.code == code:
            return item
    raise NotFound("该列表中没有这个编码")


def _flush(session: Session, *, code: str) -> None:
    """Flush; the same code written at the same moment by another admin (the unique index
    decides) is a 409."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if _UNIQUE not in str(exc.orig):
            raise
        message = f"编码 {code} 已存在"
        raise Conflict(message, errors={"code": [message]}) from None


def add_item(
    session: Session, *, org_id: int, name: str, data: dict[str, Any], now: datetime
) -> Item:
    """Add the organisation's own item to an open list (its code unique in the list)."""
    require(session, Permission.SETTINGS_ACT)
    vl = get_list(name)
    refusal = add_refusal(vl)
    if refusal is not None:
        raise Conflict(refusal)
    code = str(data["code"])
    problem = code_problem(code)
    if problem is not None:
        raise ValidationFailed.field("code", problem)
    if code in vl.codes:
        message = f"编码 {code} 是系统预置项"
        raise Conflict(message, errors={"code": [message]})
    counted = session.scalar(
        select(func.count())
        .select_from(DictionaryItem)
        .where(
            DictionaryItem.org_id == org_id,
            DictionaryItem.list == name,
            DictionaryItem.system.is_(False),
        )
    )
    if int(counted or 0) >= MAX_ITEMS:
        raise Conflict(f"每个列表最多自定义 {MAX_ITEMS} 项")
    sort = data.get("sort")
    if sort is None:
        last = max((i.sort for i in items_of(session, org_id=org_id, name=name)), default=0)
        sort = min(last + SORT_STEP, SORT_MAX)
    row = DictionaryItem(
        org_id=org_id,
        list=name,
        code=code,
        label=data["label"],
        sort=sort,
        enabled=data.get("enabled", True),
        system=False,
    )
    session.add(row)
    _flush(session, code=code)
    _audit(
        session,
        org_id=org_id,
        now=now,
        row=row,
        summary=f"数据字典“{vl.title}”新增 {row.label}（{code}）",
        data={"list": name, "code": code, "label": row.label, "sort": row.sort},
    )
    return _item(session, org_id=org_id, name=name, code=code)


def update_item(
    session: Session,
    *,
    org_id: int,
    name: str,
    code: str,
    changes: dict[str, Any],
    now: datetime,
) -> Item:
    """Relabel, reorder or (open lists) switch an item; a system value's change is stored as
    its row (written on its first change)."""
    require(session, Permission.SETTINGS_ACT)
    vl = get_list(name)
    current = _item(session, org_id=org_id, name=name, code=code)
    fields = {k: v for k, v in changes.items() if v is not None or k != "sort"}
    if fields.get("code") == code:
        del fields["code"]  # the same code sent back is no change
    # Switching an item on is no change for a closed list (its values are always on).
    asked = frozenset(k for k, v in fields.items() if not (k == "enabled" and v is True))
    refusal = change_refusal(vl, system=current.system, fields=asked)
    if refusal is not None:
        field, reason = refusal
        raise ValidationFailed.field(field, reason)
    before = {"label": current.label, "sort": current.sort, "enabled": current.enabled}
    if current.system:
        # A system value's row is written on its first change; two admins changing it for
        # the first time at once both get the row (the second waits, then changes it too).
        session.execute(
            pg_insert(DictionaryItem)
            .values(
                org_id=org_id,
                list=name,
                code=code,
                label=current.label,
                sort=current.sort,
                enabled=current.enabled,
                system=True,
            )
            .on_conflict_do_nothing(index_elements=["org_id", "list", "code"])
        )
    row = session.scalar(
        select(DictionaryItem)
        .where(
            DictionaryItem.org_id == org_id,
            DictionaryItem.list == name,
            DictionaryItem.code == code,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound("该列表中没有这个编码")
    for key in ("label", "sort", "enabled"):
        if key in fields:
            setattr(row, key, fields[key])
    _flush(session, code=code)
    after = {"label": row.label, "sort": row.sort, "enabled": row.enabled}
    if after != before:
        _audit(
            session,
            org_id=org_id,
            now=now,
            row=row,
            summary=f"数据字典“{vl.title}”修改 {current.label}（{code}）",
            data={"list": name, "code": code, "before": before, "after": after},
        )
    return _item(session, org_id=org_id, name=name, code=code)


def delete_item(session: Session, *, org_id: int, name: str, code: str, now: datetime) -> None:
    """Delete the organisation's own item (a system value is never deleted: disable it)."""
    require(session, Permission.SETTINGS_ACT)
    vl = get_list(name)
    current = _item(session, org_id=org_id, name=name, code=code)
    refusal = delete_refusal(vl, system=current.system)
    if refusal is not None:
        raise Conflict(refusal)
    row = _stored(session, org_id=org_id, name=name, code=code)
    if row is None:  # pragma: no cover - an own item always has its row
        raise NotFound("该列表中没有这个编码")
    _audit(
        session,
        org_id=org_id,
        now=now,
        row=row,
        summary=f"数据字典“{vl.title}”删除 {row.label}（{code}）",
        data={"list": name, "code": code, "label": row.label},
    )
    session.delete(row)
    session.flush()


def _audit(
    session: Session,
    *,
    org_id: int,
    now: datetime,
    row: DictionaryItem,
    summary: str,
    data: dict[str, Any],
) -> None:
    audit_log.record(
        session,
        org_id=org_id,
        at=now,
        kind="dictionary_changed",
        summary=summary,
        target_type="dictionary_item",
        target_id=row.id,
        data=data,
    )


@dataclass(frozen=True)
class ListView:
    value_list: ValueList
    items: list[Item]


def list_view(session: Session, *, org_id: int, name: str) -> ListView:
    """A list and its items for the organisation (the console's and the API's detail)."""
    return ListView(get_list(name), items_of(session, org_id=org_id, name=name))


def app_list(session: Session, *, org_id: int, name: str) -> ListView:
    """A list the tenant and technician apps show: its enabled items (404 for other lists)."""
    vl = get_list(name)
    if not vl.for_apps:
        raise NotFound("数据字典中没有这个列表")
    return ListView(vl, items_of(session, org_id=org_id, name=name, enabled_only=True))
