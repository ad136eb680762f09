"""全能搜索: one query, four groups (rooms, customers, orders, vehicles) of the caller's
organisation.

Each group is one statement of (id, rank) over the indexes of `search.models` — ranked exact
first, then prefix, then a phone's last four digits, then substring, then similarity (names) —
plus a capped count; the first `limit` hits are then loaded by primary key. Which lookups run
follows the query's kind (`rules.classify`):

- phone (11 digits): customers by their phone or a contact's phone; orders by contact phone;
- phone_tail (4 digits): the same by the last four digits, and rooms by code;
- order_number (BX…): orders by number, equal or prefix;
- id_number: customers by ID number, equal;
- text: rooms by code (equal, prefix, substring), customers by name (equal, prefix,
  substring, similarity) and, for latin letters, by the name's pinyin initials or full pinyin
  (equal, prefix: "zs", "zhangs" find 张三); active vehicles by plate (equal, prefix,
  substring: 粤B12345, 粤B, A12345), also for four digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, selectinload

from server.directory.models import Contact, Customer, Room
from server.orders.models import Order
from server.parking.models import Vehicle
from server.parking.vehicles import plate_fragment
from server.search.models import phone_tail
from server.search.rules import (
    COUNT_LIMIT,
    MIN_CONTAINS_LENGTH,
    Match,
    Query,
    QueryKind,
    classify,
    like_escape,
    plate_lookup,
    rank_of,
)

# A statement of several columns (ids, ranks, fields).
Rows = Select[*tuple[Any, ...]]

MATCH_BY_RANK = {rank_of(m): m for m in Match}

# Which field a customer matched on (shown beside the hit).
NAME, PHONE, CONTACT_PHONE, ID_NUMBER = "name", "phone", "contact_phone", "id_number"
PINYIN = "pinyin"
FIELDS = (NAME, PHONE, CONTACT_PHONE, ID_NUMBER, PINYIN)
FIELD_LABELS = {
    NAME: "姓名",
    PHONE: "手机号",
    CONTACT_PHONE: "联系人手机号",
    ID_NUMBER: "证件号",
    PINYIN: "姓名拼音",
}


@dataclass(frozen=True)
class Hit:
    """One row found: the loaded object, how it matched and (customers) on which field."""

    item: Any
    match: Match
    field: str | None = None


@dataclass(frozen=True)
class Group:
    total: int
    total_exact: bool
    items: list[Hit] = field(default_factory=list)


EMPTY = Group(0, True)


@dataclass(frozen=True)
class Result:
    query: Query
    rooms: Group
    customers: Group
    orders: Group
    vehicles: Group

    @property
    def q(self) -> str:
        return self.query.text

    @property
    def query_kind(self) -> str:
        return self.query.kind.value


def search(session: Session, *, org_id: int, q: str, limit: int) -> Result:
    """Rooms, customers, orders and vehicles of the organisation matching `q` (trimmed, non-empty),
    each group ranked, counted (exactly up to `rules.COUNT_LIMIT`) and cut at `limit`."""
    query = classify(q)
    return Result(
        query=query,
        rooms=_rooms(session, org_id=org_id, query=query, limit=limit),
        customers=_customers(session, org_id=org_id, query=query, limit=limit),
        orders=_orders(session, org_id=org_id, query=query, limit=limit),
        vehicles=_vehicles(session, org_id=org_id, query=query, limit=limit),
    )


def _rank(*cases: tuple[ColumnElement[bool], Match], otherwise: Match) -> ColumnElement[int]:
    return case(
        *((condition, literal(rank_of(match), Integer)) for condition, match in cases),
        else_=literal(rank_of(otherwise), Integer),
    )


def _code_statement(*, org_id: int, query: Query) -> Rows | None:
    """Rooms by code: (id, rank), best first."""
    if query.kind not in (QueryKind.TEXT, QueryKind.PHONE_TAIL):
        return None
    value = query.value
    prefix = Room.code.like(f"{like_escape(value)}%", escape="\\")
    if query.contains_allowed:
        matches = Room.code.ilike(f"%{like_escape(value)}%", escape="\\")
        rank = _rank(
            (Room.code == value, Match.EXACT), (prefix, Match.PREFIX), otherwise=Match.CONTAINS
        )
    else:
        matches = prefix
        rank = _rank((Room.code == value, Match.EXACT), otherwise=Match.PREFIX)
    stmt: Rows = select(Room.id.label("id"), rank.label("rank"), Room.code.label("key")).where(
        Room.org_id == org_id, matches
    )
    return stmt


def code_statement(*, org_id: int, q: str) -> Rows | None:
    """The rooms' statement for `q` (EXPLAIN in the tests)."""
    return _code_statement(org_id=org_id, query=classify(q))


def _rooms(session: Session, *, org_id: int, query: Query, limit: int) -> Group:
    stmt = _code_statement(org_id=org_id, query=query)
    if stmt is None:
        return EMPTY
    ranked = stmt.subquery()
    page = session.execute(
        select(ranked.c.id, ranked.c.rank)
        .order_by(ranked.c.rank, ranked.c.key, ranked.c.id)
        .limit(limit)
    ).all()
    loaded = {
        r.id: r for r in session.scalars(select(Room).where(Room.id.in_([p.id for p in page])))
    }
    total, exact = _count(session, stmt, shown=len(page), limit=limit)
    return Group(total, exact, [Hit(loaded[p.id], MATCH_BY_RANK[p.rank]) for p in page])


def _customer_parts(*, org_id: int, query: Query) -> list[Rows]:
    """Statements of (customer id, rank, field), one per lookup; a customer may appear in
    several (its best rank wins)."""
    value = query.value

    def part(stmt: Rows, match: Match | ColumnElement[int], name: str) -> Rows:
        rank = literal(rank_of(match), Integer) if isinstance(match, Match) else match
        return stmt.add_columns(rank.label("rank"), literal(name, String).label("field"))

    if query.kind == QueryKind.PHONE:
        return [
            part(
                select(Customer.id.label("id")).where(
                    Customer.org_id == org_id, Customer.phone == value
                ),
                Match.EXACT,
                PHONE,
            ),
            part(
                select(Contact.customer_id.label("id")).where(
                    Contact.org_id == org_id, Contact.phone == value
                ),
                Match.EXACT,
                CONTACT_PHONE,
            ),
        ]
    if query.kind == QueryKind.PHONE_TAIL:
        return [
            part(
                select(Customer.id.label("id")).where(
                    Customer.org_id == org_id, phone_tail(Customer.phone) == value
                ),
                Match.TAIL,
                PHONE,
            ),
            part(
                select(Contact.customer_id.label("id")).where(
                    Contact.org_id == org_id, phone_tail(Contact.phone) == value
                ),
                Match.TAIL,
                CONTACT_PHONE,
            ),
        ]
    if query.kind == QueryKind.ID_NUMBER:
        return [
            part(
                select(Customer.id.label("id")).where(
                    Customer.org_id == org_id, Customer.id_number == value
                ),
                Match.EXACT,
                ID_NUMBER,
            )
        ]
    if query.kind == QueryKind.TEXT:
        prefix = Customer.name.like(f"{like_escape(value)}%", escape="\\")
        if query.contains_allowed:
            contains = Customer.name.ilike(f"%{like_escape(value)}%", escape="\\")
            matches: ColumnElement[bool] = contains | Customer.name.op("%")(value)
            rank = _rank(
                (Customer.name == value, Match.EXACT),
                (prefix, Match.PREFIX),
                (contains, Match.CONTAINS),
                otherwise=Match.SIMILAR,
            )
        else:
            matches = prefix
            rank = _rank((Customer.name == value, Match.EXACT), otherwise=Match.PREFIX)
        parts = [
            part(
                select(Customer.id.label("id")).where(Customer.org_id == org_id, matches),
                rank,
                NAME,
            )
        ]
        pinyin = query.pinyin
        if pinyin is not None:
            like = f"{like_escape(pinyin)}%"
            initials = Customer.name_initials.like(like, escape="\\")
            full = Customer.name_pinyin.like(like, escape="\\")
            parts.append(
                part(
                    select(Customer.id.label("id")).where(
                        Customer.org_id == org_id, initials | full
                    ),
                    _rank(
                        (
                            (Customer.name_initials == pinyin) | (Customer.name_pinyin == pinyin),
                            Match.EXACT,
                        ),
                        otherwise=Match.PREFIX,
                    ),
                    PINYIN,
                )
            )
        return parts
    return []


def customer_statement(*, org_id: int, q: str) -> Rows | None:
    """The customers' statement for `q`: (id, rank, field) per customer, best first."""
    return _customer_statement(org_id=org_id, query=classify(q))


def _customer_statement(*, org_id: int, query: Query) -> Rows | None:
    """One lookup (a name, an ID number) reads `customers` alone, ranked there; phones read
    customers and contacts, a name in latin letters its pinyin too, a customer found twice
    keeping its best rank. Never a join back
    to `customers` for the order: at a million rows the planner may hash-join it whole."""
    parts = _customer_parts(org_id=org_id, query=query)
    if not parts:
        return None
    if len(parts) == 1:
        (part,) = parts
        if query.kind == QueryKind.TEXT:
            return part.order_by(
                literal_column("rank"),
                func.similarity(Customer.name, query.value).desc(),
                Customer.name,
                Customer.id,
            )
        return part.order_by(literal_column("rank"), Customer.id)
    found = union_all(*parts).subquery("found")
    stmt: Rows = (
        select(
            found.c.id,
            func.min(found.c.rank).label("rank"),
            # The field of the best rank; the customer's own phone before a contact's.
            # The name before its pinyin.
            func.array_agg(
                aggregate_order_by(
                    found.c.field,
                    found.c.rank,
                    found.c.field == literal(PINYIN, String),
                    found.c.field.desc(),
                )
            )[1].label("field"),
        )
        .group_by(found.c.id)
        .order_by(literal_column("rank"), found.c.id)
    )
    return stmt


def _customers(session: Session, *, org_id: int, query: Query, limit: int) -> Group:
    stmt = _customer_statement(org_id=org_id, query=query)
    if stmt is None:
        return EMPTY
    page = session.execute(stmt.limit(limit)).all()
    loaded = {
        c.id: c
        for c in session.scalars(
            select(Customer)
            .where(Customer.id.in_([p.id for p in page]))
            .options(selectinload(Customer.contacts))
        )
    }
    total, exact = _count(session, stmt.order_by(None), shown=len(page), limit=limit)
    return Group(total, exact, [Hit(loaded[p.id], MATCH_BY_RANK[p.rank], p.field) for p in page])


def _order_statement(*, org_id: int, query: Query) -> Rows | None:
    """Orders: (id, rank), best first then newest."""
    value = query.value
    if query.kind == QueryKind.ORDER_NUMBER:
        prefix = Order.number.like(f"{like_escape(value)}%", escape="\\")
        rank = _rank((Order.number == value, Match.EXACT), otherwise=Match.PREFIX)
        where: ColumnElement[bool] = prefix
    elif query.kind == QueryKind.PHONE:
        where, rank = Order.contact_phone == value, literal(rank_of(Match.EXACT), Integer)
    elif query.kind == QueryKind.PHONE_TAIL:
        where = phone_tail(Order.contact_phone) == value
        rank = literal(rank_of(Match.TAIL), Integer)
    else:
        return None
    order = [rank] if query.kind == QueryKind.ORDER_NUMBER else []
    stmt: Rows = (
        select(Order.id.label("id"), rank.label("rank"))
        .where(Order.org_id == org_id, where)
        .order_by(*order, Order.created_at.desc(), Order.id.desc())
    )
    return stmt


def order_statement(*, org_id: int, q: str) -> Rows | None:
    """The orders' statement for `q` (EXPLAIN in the tests)."""
    return _order_statement(org_id=org_id, query=classify(q))


def _orders(session: Session, *, org_id: int, query: Query, limit: int) -> Group:
    stmt = _order_statement(org_id=org_id, query=query)
    if stmt is None:
        return EMPTY
    page = session.execute(stmt.limit(limit)).all()
    loaded = {
        o.id: o for o in session.scalars(select(Order).where(Order.id.in_([p.id for p in page])))
    }
    total, exact = _count(session, stmt.order_by(None), shown=len(page), limit=limit)
    return Group(total, exact, [Hit(loaded[p.id], MATCH_BY_RANK[p.rank]) for p in page])


def _vehicle_statement(*, org_id: int, query: Query) -> Rows | None:
    """Active vehicles by plate: (id, rank), best first then by plate."""
    if query.kind not in (QueryKind.TEXT, QueryKind.PHONE_TAIL):
        return None
    value = plate_fragment(query.value)
    if not plate_lookup(query.kind, value):
        return None
    prefix = Vehicle.plate.like(f"{like_escape(value)}%", escape="\\")
    if len(value) >= MIN_CONTAINS_LENGTH:
        matches = Vehicle.plate.like(f"%{like_escape(value)}%", escape="\\")
        rank = _rank(
            (Vehicle.plate == value, Match.EXACT), (prefix, Match.PREFIX), otherwise=Match.CONTAINS
        )
    else:
        matches = prefix
        rank = _rank((Vehicle.plate == value, Match.EXACT), otherwise=Match.PREFIX)
    stmt: Rows = (
        select(Vehicle.id.label("id"), rank.label("rank"))
        .where(Vehicle.org_id == org_id, Vehicle.removed_at.is_(None), matches)
        .order_by(literal_column("rank"), Vehicle.plate, Vehicle.id)
    )
    return stmt


def vehicle_statement(*, org_id: int, q: str) -> Rows | None:
    """The vehicles' statement for `q` (EXPLAIN in the tests)."""
    return _vehicle_statement(org_id=org_id, query=classify(q))


def _vehicles(session: Session, *, org_id: int, query: Query, limit: int) -> Group:
    stmt = _vehicle_statement(org_id=org_id, query=query)
    if stmt is None:
        return EMPTY
    page = session.execute(stmt.limit(limit)).all()
    loaded = {
        v.id: v
        for v in session.scalars(select(Vehicle).where(Vehicle.id.in_([p.id for p in page])))
    }
    total, exact = _count(session, stmt.order_by(None), shown=len(page), limit=limit)
    return Group(total, exact, [Hit(loaded[p.id], MATCH_BY_RANK[p.rank]) for p in page])


def _count(session: Session, stmt: Rows, *, shown: int, limit: int) -> tuple[int, bool]:
    """How many rows `stmt` matches, exactly up to COUNT_LIMIT (then COUNT_LIMIT, False); a
    page shorter than `limit` is the whole answer (no second statement)."""
    if shown < limit:
        return shown, True
    capped = stmt.order_by(None).limit(COUNT_LIMIT + 1).subquery()
    counted = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    return (counted, True) if counted <= COUNT_LIMIT else (COUNT_LIMIT, False)


def statements(*, org_id: int, q: str) -> Sequence[Rows]:
    """Every statement a query runs (for EXPLAIN in the tests and the bench)."""
    found = (
        code_statement(org_id=org_id, q=q),
        customer_statement(org_id=org_id, q=q),
        order_statement(org_id=org_id, q=q),
        vehicle_statement(org_id=org_id, q=q),
    )
    return [s for s in found if s is not None]
