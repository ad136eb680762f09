"""Running an import job: stream the file's rows, check them in batches, write them in batches
inside ONE transaction, report every bad row; commit only a real run without a bad row.

A dry run does exactly the same work (so a room may refer to a building of the same workbook)
and rolls back. Rows are upserted by their natural keys (community code; building name in its
community; unit name in its building; room code in its community; a customer's ID number, else
their phone; a contact's phone for its customer; a relation's customer, room, kind and start
date; a parking space's number in its community; a space relation's space, customer, kind and
start date; an active vehicle's plate): a row equal to what is stored changes nothing, so the
same file twice writes nothing the second time. The job's progress is written in short
transactions of its own.

A batch is written in a few statements whatever its size: its keys looked up at once (arrays,
`= ANY` or a join with `unnest`), its rows COPied into a temporary table and upserted from it by
one INSERT … SELECT … ON CONFLICT.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from psycopg.rows import namedtuple_row
from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.db.session import Database, core
from server.directory.customers import id_number_problem, name_pinyin
from server.directory.models import Building, Community, Contact, Customer, CustomerRoom, Room, Unit
from server.imports import reading
from server.imports.models import ImportJob
from server.imports.rules import (
    BATCH_ROWS,
    BUILDINGS,
    COMMUNITIES,
    CONTACTS,
    CUSTOMER_ROOMS,
    CUSTOMERS,
    DONE,
    FAILED,
    MAX_REPORTED_ERRORS,
    MSG_AMBIGUOUS_CUSTOMER,
    MSG_CUSTOMER_KEY,
    MSG_DUPLICATE_IN_FILE,
    MSG_EMPTY_FILE,
    MSG_HOLDING_ENDED,
    MSG_ID_TYPE_KIND,
    MSG_OVERLAP,
    MSG_PERIOD,
    MSG_SPACE_COMMUNITY,
    MSG_SPACE_DISABLED,
    MSG_SPACE_TAKEN,
    MSG_UNKNOWN_BUILDING,
    MSG_UNKNOWN_COMMUNITY,
    MSG_UNKNOWN_CUSTOMER,
    MSG_UNKNOWN_ROOM,
    MSG_UNKNOWN_SPACE,
    MSG_UNKNOWN_UNIT,
    PARKING_SPACES,
    QUEUED,
    REJECTED,
    ROOM_RELATION_LABELS,
    ROOMS,
    RUNNING,
    SHEETS,
    SPACE_HOLDINGS,
    UNITS,
    VEHICLES,
    Sheet,
    map_headers,
    parse_row,
    periods_overlap,
)
from server.parking.models import ParkingSpace, SpaceHolding, Vehicle
from server.parking.rules import (
    DEFAULT_REMIND_DAYS,
    HOLDING_KIND_LABELS,
    RENTED,
    SPACE_ACTIVE,
    SPACE_DISABLED,
    period_problem,
    plate_kind,
)

log = logging.getLogger(__name__)

IMPORTS_DIR = "imports"
PROGRESS_EVERY = 0.5  # seconds between progress writes (and after every sheet)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _customer_key(number: str | None, phone: str | None) -> tuple[str, str | None]:
    """How a customers sheet's row finds its customer: by ID number, else by phone."""
    return ("id", number) if number else ("phone", phone)


def _name(column: str) -> str:
    return f'"{column}"'


def _names(columns: Iterable[str]) -> str:
    return ", ".join(_name(c) for c in columns)


# A customer's name in pinyin, beside the name (server.directory.customers.name_pinyin).
_PINYIN = ("name_initials", "name_pinyin")


def stored_path(upload_dir: Path, stored_name: str) -> Path:
    return upload_dir / IMPORTS_DIR / stored_name


@dataclass
class Report:
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    rows_done: int = 0
    bad_rows: set[tuple[str, int]] = field(default_factory=set)

    def error(self, sheet: str, row: int, column: str, message: str) -> None:
        self.error_count += 1
        self.bad_rows.add((sheet, row))
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(
                {"sheet": sheet, "row": row, "column": column.rstrip("*"), "message": message}
            )

    def ordered_errors(self) -> list[dict[str, Any]]:
        """The errors by sheet (in the order read), then row: a row's parse errors and those
        found when its batch was checked end up together."""
        sheets: dict[str, int] = {}
        for e in self.errors:
            sheets.setdefault(e["sheet"], len(sheets))
        return sorted(self.errors, key=lambda e: (sheets[e["sheet"]], e["row"]))

    def count(self, kind: str, *, created: int = 0, updated: int = 0, unchanged: int = 0) -> None:
        tally = self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        tally["created"] += created
        tally["updated"] += updated
        tally["unchanged"] += unchanged


@dataclass
class Row:
    number: int
    values: dict[str, Any]
    bad: bool = False


class Loader:
    """Checks and writes the rows of one organisation, sheet after sheet, in one session."""

    def __init__(self, session: Session, *, org_id: int, report: Report, now: datetime) -> None:
        self.session = session
        self.conn = core(session)
        self.org_id = org_id
        self.report = report
        self.now = now
        self.title = ""
        self.sheet: Sheet = SHEETS[COMMUNITIES]
        self.communities: dict[str, int] = {}
        self.buildings: dict[tuple[int, str], int] = {}
        self.units: dict[tuple[int, str], int] = {}
        self.seen: dict[Any, int] = {}  # a natural key of this sheet → its first row
        # Periods of this file (a room's relations of one customer and kind; a parking space's).
        self.periods: dict[Any, list[tuple[date, date | None, Any]]] = {}
        self.stages: dict[str, tuple[str, ...]] = {}  # temporary table → its columns
        self._load_tree()

    # The tree above rooms is small (communities, buildings, units): kept in memory.
    def _load_tree(self) -> None:
        c, b, u = _table(Community), _table(Building), _table(Unit)
        org = self.org_id
        for cid, code in self.conn.execute(select(c.c.id, c.c.code).where(c.c.org_id == org)):
            self.communities[code] = cid
        for bid, community_id, name in self.conn.execute(
            select(b.c.id, b.c.community_id, b.c.name).where(b.c.org_id == org)
        ):
            self.buildings[(community_id, name)] = bid
        for uid, building_id, name in self.conn.execute(
            select(u.c.id, u.c.building_id, u.c.name).where(u.c.org_id == org)
        ):
            self.units[(building_id, name)] = uid

    def start_sheet(self, kind: str, title: str) -> None:
        self.sheet, self.title = SHEETS[kind], title
        self.seen = {}
        self.periods = {}

    def bad(self, row: Row, column: str, message: str) -> None:
        row.bad = True
        self.report.error(self.title, row.number, column, message)

    def header(self, key: str) -> str:
        for column in self.sheet.columns:
            if column.key == key:
                return column.header
        return key

    def once(self, row: Row, key: Any, column: str) -> bool:
        """False (and a duplicate error) when an earlier row of the sheet had the same key."""
        first = self.seen.get(key)
        if first is not None:
            self.bad(row, self.header(column), MSG_DUPLICATE_IN_FILE.format(row=first))
            return False
        self.seen[key] = row.number
        return True

    def load(self, rows: Sequence[Row]) -> None:
        handler: Callable[[Sequence[Row]], None] = getattr(self, f"_load_{self.sheet.kind}")
        handler(rows)

    # -- writing helpers ------------------------------------------------------------------

    def _cursor(self) -> Any:
        """A cursor on the session's own psycopg connection (inside its transaction), whose
        rows are read by column name.

        Lookups by a batch's keys are run with `prepare=False`: each is planned for its own
        keys and for the tables as they are now. The tables grow during the import, and a
        prepared statement's generic plan, made while they were small, read them whole for
        every batch (the bench's dry run grew to 1.8 s a batch)."""
        raw: Any = self.conn.connection.driver_connection  # psycopg 3
        return raw.cursor(row_factory=namedtuple_row)

    def _stage(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
        """COPY `rows` into a temporary table shaped like `columns` of `table` (made once per
        transaction, emptied before each batch); its name."""
        name = f"import_stage_{table.name}"
        with self._cursor() as cursor:
            made = self.stages.get(name)
            if made is None:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
                cursor.execute(
                    f"CREATE TEMP TABLE {name} ON COMMIT DROP AS"
                    f" SELECT {_names(columns)} FROM {table.name} WITH NO DATA"
                )
                self.stages[name] = tuple(columns)
            else:
                assert made == tuple(columns), (name, made, columns)
                cursor.execute(f"TRUNCATE {name}")
            with cursor.copy(f"COPY {name} ({_names(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return name

    def _upsert(
        self,
        table: Table,
        records: list[dict[str, Any]],
        *,
        conflict: Sequence[str],
        compare: Sequence[str],
        returning: Sequence[str] = (),
        conflict_where: str = "",
    ) -> list[Any]:
        """Insert `records` (as `_insert` does), or update the row with the same `conflict` key
        where one of `compare` differs; returns (returning…, inserted) of the rows written.

        One batch is three statements whatever its size: COPY into a temporary table, then one
        INSERT … SELECT … ON CONFLICT from it (after the TRUNCATE of the previous batch)."""
        if compare:
            changed = " OR ".join(
                f"t.{_name(k)} IS DISTINCT FROM EXCLUDED.{_name(k)}" for k in compare
            )
            assigned = ", ".join(f"{_name(k)} = EXCLUDED.{_name(k)}" for k in compare)
            action = f"DO UPDATE SET {assigned}, updated_at = EXCLUDED.updated_at WHERE {changed}"
        else:
            action = "DO NOTHING"
        return self._insert(
            table,
            records,
            conflict=f"ON CONFLICT ({_names(conflict)}){conflict_where} {action}",
            returning=returning,
        )

    def _insert(
        self,
        table: Table,
        records: list[dict[str, Any]],
        *,
        conflict: str = "",
        returning: Sequence[str] = (),
    ) -> list[Any]:
        """Insert `records` (each with the same keys; the organisation, the times and the
        model's defaults of the other columns are added here) through a temporary table: COPY,
        then one INSERT … SELECT (with its `conflict` clause); returns (returning…, inserted)
        of the rows written."""
        if not records:
            return []
        columns = list(records[0])
        stage = self._stage(table, columns, ([r[c] for c in columns] for r in records))
        constants: dict[str, Any] = {"org_id": self.org_id, "created_at": self.now}
        constants["updated_at"] = self.now
        for column in table.columns:
            default = column.default
            if column.name not in columns and column.name not in constants and default is not None:
                assert default.is_scalar, (table.name, column.name)
                constants[column.name] = default.arg  # type: ignore[attr-defined]
        back = "".join(f"t.{_name(k)}, " for k in returning)
        sql = (
            f"INSERT INTO {table.name} AS t ({_names([*columns, *constants])})"
            f" SELECT {_names(columns)}, {', '.join(f'%({k})s' for k in constants)}"
            f" FROM {stage} {conflict} RETURNING {back}(t.xmax = 0) AS inserted"
        )
        with self._cursor() as cursor:
            cursor.execute(sql, constants)
            return cast(list[Any], cursor.fetchall())

    def _tally(self, kind: str, total: int, written: Iterable[Any]) -> None:
        written = list(written)
        created = sum(1 for r in written if r.inserted)
        updated = len(written) - created
        self.report.count(kind, created=created, updated=updated, unchanged=total - len(written))

    def _stamp(self, record: dict[str, Any]) -> dict[str, Any]:
        record["org_id"] = self.org_id
        record["created_at"] = self.now
        record["updated_at"] = self.now
        return record

    def _community(self, row: Row) -> int | None:
        community_id = self.communities.get(row.values["community_code"])
        if community_id is None:
            self.bad(row, self.header("community_code"), MSG_UNKNOWN_COMMUNITY)
        return community_id

    # -- the sheets -----------------------------------------------------------------------

    def _load_communities(self, rows: Sequence[Row]) -> None:
        records = []
        for row in rows:
            v = row.values
            if row.bad or not self.once(row, v["community_code"], "community_code"):
                continue
            records.append(
                {"code": v["community_code"], "name": v["name"], "address": v["address"] or ""}
            )
        table = _table(Community)
        written = self._upsert(
            table,
            records,
            conflict=("org_id", "code"),
            compare=("name", "address"),
            returning=("id", "code"),
        )
        for r in written:
            self.communities[r.code] = r.id
        self._tally(COMMUNITIES, len(records), written)

    def _load_buildings(self, rows: Sequence[Row]) -> None:
        records = []
        for row in rows:
            v = row.values
            community_id = None if row.bad else self._community(row)
            if community_id is None or not self.once(row, (community_id, v["name"]), "name"):
                continue
            records.append({"community_id": community_id, "name": v["name"], "floors": v["floors"]})
        written = self._upsert(
            _table(Building),
            records,
            conflict=("community_id", "name"),
            compare=("floors",),
            returning=("id", "community_id", "name"),
        )
        for r in written:
            self.buildings[(r.community_id, r.name)] = r.id
        self._tally(BUILDINGS, len(records), written)

    def _building(self, row: Row, community_id: int) -> int | None:
        building_id = self.buildings.get((community_id, row.values["building_name"]))
        if building_id is None:
            self.bad(row, self.header("building_name"), MSG_UNKNOWN_BUILDING)
        return building_id

    def _load_units(self, rows: Sequence[Row]) -> None:
        records = []
        for row in rows:
            v = row.values
            community_id = None if row.bad else self._community(row)
            building_id = None if community_id is None else self._building(row, community_id)
            if building_id is None or not self.once(row, (building_id, v["name"]), "name"):
                continue
            records.append({"building_id": building_id, "name": v["name"]})
        written = self._upsert(
            _table(Unit),
            records,
            conflict=("building_id", "name"),
            compare=(),
            returning=("id", "building_id", "name"),
        )
        for r in written:
            self.units[(r.building_id, r.name)] = r.id
        self._tally(UNITS, len(records), written)

    _ROOM_FIELDS = (
        "floor",
        "building_area",
        "charge_area",
        "layout",
        "orientation",
        "use",
        "delivered_on",
        "moved_in_on",
    )

    def _load_rooms(self, rows: Sequence[Row]) -> None:
        records = []
        for row in rows:
            v = row.values
            community_id = None if row.bad else self._community(row)
            building_id = None if community_id is None else self._building(row, community_id)
            if building_id is None:
                continue
            unit_id = None
            if v["unit_name"] is not None:
                unit_id = self.units.get((building_id, v["unit_name"]))
                if unit_id is None:
                    self.bad(row, self.header("unit_name"), MSG_UNKNOWN_UNIT)
                    continue
            if not self.once(row, (community_id, v["code"]), "code"):
                continue
            record = {k: v[k] for k in self._ROOM_FIELDS}
            record["layout"] = record["layout"] or ""
            record.update(
                community_id=community_id, building_id=building_id, unit_id=unit_id, code=v["code"]
            )
            records.append(record)
        written = self._upsert(
            _table(Room),
            records,
            conflict=("community_id", "code"),
            compare=("building_id", "unit_id", *self._ROOM_FIELDS),
        )
        self._tally(ROOMS, len(records), written)

    _CUSTOMER_FIELDS = (
        "kind",
        "name",
        "id_type",
        "id_number",
        "phone",
        "emergency_name",
        "emergency_phone",
        "remark",
    )

    def _check_customer(self, row: Row) -> None:
        v = row.values
        kind, id_type, number = v["kind"], v["id_type"], v["id_number"]
        if number is None:
            return
        if kind == "company" and id_type not in (None, "credit_code", "other"):
            self.bad(row, self.header("id_type"), MSG_ID_TYPE_KIND)
            return
        checked = (
            "company"
            if kind == "company" and id_type in (None, "credit_code")
            else "person"
            if kind == "person" and id_type in (None, "id_card")
            else None
        )
        if checked is not None:
            problem = id_number_problem(checked, number)
            if problem is not None:
                self.bad(row, self.header("id_number"), problem)

    def _load_customers(self, rows: Sequence[Row]) -> None:
        pending: list[Row] = []
        for row in rows:
            if row.bad:
                continue
            self._check_customer(row)
            v = row.values
            key = ("id", v["id_number"]) if v["id_number"] else ("phone", v["phone"])
            if row.bad or not self.once(row, key, key[0] if key[0] == "phone" else "id_number"):
                continue
            if v["id_type"] is None and v["id_number"] is not None:
                v["id_type"] = "credit_code" if v["kind"] == "company" else "id_card"
            pending.append(row)
        if not pending:
            return
        by_number, by_phone = self._stored_customers(
            numbers={r.values["id_number"] for r in pending if r.values["id_number"]},
            phones={r.values["phone"] for r in pending if not r.values["id_number"]},
            columns=("id", *self._CUSTOMER_FIELDS),
        )
        new: list[tuple[Row, dict[str, Any]]] = []
        stored: list[tuple[Row, int]] = []
        updates = []
        unchanged = 0
        for row in pending:
            v = row.values
            record = {k: v[k] for k in self._CUSTOMER_FIELDS}
            record["emergency_name"] = record["emergency_name"] or ""
            record["remark"] = record["remark"] or ""
            record["name_initials"], record["name_pinyin"] = name_pinyin(record["name"])
            if v["id_number"]:
                existing = by_number.get(v["id_number"])
            else:
                matches = by_phone.get(v["phone"], [])
                if len(matches) > 1:
                    self.bad(row, self.header("phone"), MSG_AMBIGUOUS_CUSTOMER)
                    continue
                existing = matches[0] if matches else None
            if existing is None:
                new.append((row, record))
                continue
            stored.append((row, existing.id))
            if any(getattr(existing, k) != record[k] for k in self._CUSTOMER_FIELDS):
                updates.append({"b_id": existing.id, **record, "updated_at": self.now})
            else:
                unchanged += 1
        t = _table(Customer)
        inserted = self._insert(t, [r for _, r in new], returning=("id", "id_number", "phone"))
        created = {_customer_key(c.id_number, c.phone): c.id for c in inserted}
        if updates:
            self.conn.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(
                    {k: bindparam(k) for k in (*self._CUSTOMER_FIELDS, *_PINYIN, "updated_at")}
                ),
                updates,
            )
        self.report.count(CUSTOMERS, created=len(new), updated=len(updates), unchanged=unchanged)
        # A person with a phone is their own contact (as at the desk): they can log in at once.
        written = stored + [
            (row, created[_customer_key(row.values["id_number"], row.values["phone"])])
            for row, _ in new
        ]
        self._insert(
            _table(Contact),
            [
                {
                    "customer_id": customer_id,
                    "name": row.values["name"][:50],
                    "phone": row.values["phone"],
                    "relation": "self",
                }
                for row, customer_id in written
                if row.values["kind"] == "person"
            ],
            conflict="ON CONFLICT (customer_id, phone) DO NOTHING",
        )

    def _stored_customers(
        self, *, numbers: set[str], phones: set[str], columns: Sequence[str]
    ) -> tuple[dict[str, Any], dict[str, list[Any]]]:
        """The organisation's customers with one of `numbers` (by ID number) or, with one of
        `phones` (by phone, several may share one); one statement."""
        by_number: dict[str, Any] = {}
        by_phone: dict[str, list[Any]] = {}
        if not numbers and not phones:
            return by_number, by_phone
        with self._cursor() as cursor:
            cursor.execute(
                f"SELECT {_names(columns)} FROM customers WHERE org_id = %(org)s"
                " AND (id_number = ANY(%(numbers)s::text[]) OR phone = ANY(%(phones)s::text[]))",
                {"org": self.org_id, "numbers": list(numbers), "phones": list(phones)},
                prepare=False,
            )
            for found in cursor:
                if found.id_number in numbers:
                    by_number[found.id_number] = found
                if found.phone in phones:
                    by_phone.setdefault(found.phone, []).append(found)
        return by_number, by_phone

    def _customer_ids(
        self, keys: list[tuple[str | None, str | None]]
    ) -> dict[tuple[str | None, str | None], int | str]:
        """(ID number, phone) → the customer's id, or an error message; by ID number first."""
        by_number, by_phone = self._stored_customers(
            numbers={n for n, _ in keys if n},
            phones={p for n, p in keys if not n and p},
            columns=("id", "id_number", "phone"),
        )
        result: dict[tuple[str | None, str | None], int | str] = {}
        for number, phone in keys:
            if number:
                found = by_number.get(number)
                result[(number, phone)] = MSG_UNKNOWN_CUSTOMER if found is None else found.id
                continue
            matches = by_phone.get(phone or "", [])
            if len(matches) == 1:
                result[(number, phone)] = matches[0].id
            else:
                result[(number, phone)] = (
                    MSG_AMBIGUOUS_CUSTOMER if matches else MSG_UNKNOWN_CUSTOMER
                )
        return result

    def _resolve_customers(self, rows: Sequence[Row]) -> list[tuple[Row, int]]:
        keyed = []
        for row in rows:
            if row.bad:
                continue
            v = row.values
            if not v["customer_id_number"] and not v["customer_phone"]:
                self.bad(row, self.header("customer_id_number"), MSG_CUSTOMER_KEY)
                continue
            keyed.append(row)
        ids = self._customer_ids(
            [(r.values["customer_id_number"], r.values["customer_phone"]) for r in keyed]
        )
        resolved = []
        for row in keyed:
            v = row.values
            found = ids[(v["customer_id_number"], v["customer_phone"])]
            if isinstance(found, str):
                column = "customer_id_number" if v["customer_id_number"] else "customer_phone"
                self.bad(row, self.header(column), found)
                continue
            resolved.append((row, found))
        return resolved

    def _load_contacts(self, rows: Sequence[Row]) -> None:
        records = []
        for row, customer_id in self._resolve_customers(rows):
            v = row.values
            if not self.once(row, (customer_id, v["phone"]), "phone"):
                continue
            records.append(
                {
                    "customer_id": customer_id,
                    "name": v["name"],
                    "phone": v["phone"],
                    "relation": v["relation"],
                }
            )
        written = self._upsert(
            _table(Contact),
            records,
            conflict=("customer_id", "phone"),
            compare=("name", "relation"),
        )
        self._tally(CONTACTS, len(records), written)

    def _load_customer_rooms(self, rows: Sequence[Row]) -> None:
        resolved = []
        for row, customer_id in self._resolve_customers(rows):
            v = row.values
            if v["end_date"] is not None and v["end_date"] < v["start_date"]:
                self.bad(row, self.header("end_date"), MSG_PERIOD)
                continue
            community_id = self._community(row)
            if community_id is not None:
                resolved.append((row, customer_id, community_id))
        if not resolved:
            return
        room_keys = list({(c, row.values["room_code"]) for row, _, c in resolved})
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT r.id, r.community_id, r.code FROM rooms r"
                " JOIN unnest(%(communities)s::bigint[], %(codes)s::text[])"
                " AS k(community_id, code)"
                " ON r.community_id = k.community_id AND r.code = k.code"
                " WHERE r.org_id = %(org)s",
                {
                    "org": self.org_id,
                    "communities": [c for c, _ in room_keys],
                    "codes": [code for _, code in room_keys],
                },
                prepare=False,
            )
            rooms = {(c, code): rid for rid, c, code in cursor}
        links = []
        for row, customer_id, community_id in resolved:
            room_id = rooms.get((community_id, row.values["room_code"]))
            if room_id is None:
                self.bad(row, self.header("room_code"), MSG_UNKNOWN_ROOM)
                continue
            links.append((row, customer_id, room_id))
        cr = _table(CustomerRoom)
        pairs = list({(customer_id, room_id) for _, customer_id, room_id in links})
        stored: dict[tuple[int, int, str], list[tuple[int, date, date | None]]] = {}
        if pairs:
            with self._cursor() as cursor:
                cursor.execute(
                    "SELECT l.id, l.customer_id, l.room_id, l.relation, l.start_date, l.end_date"
                    " FROM customer_rooms l"
                    " JOIN unnest(%(customers)s::bigint[], %(rooms)s::bigint[])"
                    " AS k(customer_id, room_id)"
                    " ON l.customer_id = k.customer_id AND l.room_id = k.room_id"
                    " WHERE l.org_id = %(org)s",
                    {
                        "org": self.org_id,
                        "customers": [c for c, _ in pairs],
                        "rooms": [r for _, r in pairs],
                    },
                    prepare=False,
                )
                for link_id, customer_id, room_id, relation, start, end in cursor:
                    stored.setdefault((customer_id, room_id, relation), []).append(
                        (link_id, start, end)
                    )
        inserts, ends = [], []
        unchanged = 0
        for row, customer_id, room_id in links:
            v = row.values
            key = (customer_id, room_id, v["relation"])
            start, end = v["start_date"], v["end_date"]
            label = ROOM_RELATION_LABELS[v["relation"]]
            if not self.once(row, (*key, start), "start_date"):
                continue
            same = [s for s in stored.get(key, []) if s[1] == start]
            clash = next(
                (
                    s
                    for s in stored.get(key, [])
                    if s[1] != start and periods_overlap(start, end, s[1], s[2])
                ),
                None,
            )
            in_file = next(
                (p for p in self.periods.get(key, []) if periods_overlap(start, end, p[0], p[1])),
                None,
            )
            if clash is not None or in_file is not None:
                other_start = clash[1] if clash is not None else in_file[0]  # type: ignore[index]
                self.bad(
                    row,
                    self.header("start_date"),
                    MSG_OVERLAP.format(relation=label, start=other_start.isoformat()),
                )
                continue
            self.periods.setdefault(key, []).append((start, end, row.number))
            if same:
                link_id, _, stored_end = same[0]
                if stored_end == end:
                    unchanged += 1
                else:
                    ends.append({"b_id": link_id, "end_date": end, "updated_at": self.now})
                continue
            inserts.append(
                self._stamp(
                    {
                        "customer_id": customer_id,
                        "room_id": room_id,
                        "relation": v["relation"],
                        "start_date": start,
                        "end_date": end,
                    }
                )
            )
        if inserts:
            self.conn.execute(insert(cr), inserts)
        if ends:
            self.conn.execute(
                update(cr)
                .where(cr.c.id == bindparam("b_id"))
                .values(end_date=bindparam("end_date"), updated_at=bindparam("updated_at")),
                ends,
            )
        self.report.count(
            CUSTOMER_ROOMS, created=len(inserts), updated=len(ends), unchanged=unchanged
        )

    # -- parking ----------------------------------------------------------------------------

    def _load_parking_spaces(self, rows: Sequence[Row]) -> None:
        records = []
        for row in rows:
            v = row.values
            community_id = None if row.bad else self._community(row)
            if community_id is None or not self.once(row, (community_id, v["number"]), "number"):
                continue
            records.append(
                {
                    "community_id": community_id,
                    "number": v["number"],
                    "area": v["area"] or "",
                    "kind": v["kind"],
                    "location": v["location"] or "",
                    "status": v["status"] or SPACE_ACTIVE,
                    "remark": v["remark"] or "",
                }
            )
        written = self._upsert(
            _table(ParkingSpace),
            records,
            conflict=("community_id", "number"),
            compare=("area", "kind", "location", "status", "remark"),
        )
        self._tally(PARKING_SPACES, len(records), written)

    def _spaces(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Any]:
        """(community id, space number) → the stored space (id, status); one statement."""
        wanted = list(set(keys))
        if not wanted:
            return {}
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT s.id, s.community_id, s.number, s.status FROM parking_spaces s"
                " JOIN unnest(%(communities)s::bigint[], %(numbers)s::text[])"
                " AS k(community_id, number)"
                " ON s.community_id = k.community_id AND s.number = k.number"
                " WHERE s.org_id = %(org)s",
                {
                    "org": self.org_id,
                    "communities": [c for c, _ in wanted],
                    "numbers": [n for _, n in wanted],
                },
                prepare=False,
            )
            return {(s.community_id, s.number): s for s in cursor}

    def _load_space_holdings(self, rows: Sequence[Row]) -> None:
        resolved = []
        for row, customer_id in self._resolve_customers(rows):
            v = row.values
            problem = period_problem(v["kind"], v["start_date"], v["end_date"])
            if problem is not None:
                self.bad(row, self.header(problem[0]), problem[1])
                continue
            community_id = self._community(row)
            if community_id is not None:
                resolved.append((row, customer_id, community_id))
        spaces = self._spaces((c, row.values["space_number"]) for row, _, c in resolved)
        links = []
        for row, customer_id, community_id in resolved:
            space = spaces.get((community_id, row.values["space_number"]))
            if space is None:
                self.bad(row, self.header("space_number"), MSG_UNKNOWN_SPACE)
                continue
            links.append((row, customer_id, space))
        stored: dict[int, list[Any]] = {}
        if links:
            with self._cursor() as cursor:
                cursor.execute(
                    "SELECT id, space_id, customer_id, kind, start_date, end_date, remind_days,"
                    " contract_number, ended_at FROM parking_space_holdings"
                    " WHERE org_id = %(org)s AND space_id = ANY(%(spaces)s::bigint[])",
                    {"org": self.org_id, "spaces": list({space.id for _, _, space in links})},
                    prepare=False,
                )
                for held in cursor:
                    stored.setdefault(held.space_id, []).append(held)
        inserts, changes = [], []
        unchanged = 0
        for row, customer_id, space in links:
            v = row.values
            kind, start, end = v["kind"], v["start_date"], v["end_date"]
            if not self.once(row, (space.id, customer_id, kind, start), "start_date"):
                continue
            remind = 0
            if kind == RENTED:
                remind = DEFAULT_REMIND_DAYS if v["remind_days"] is None else v["remind_days"]
            contract = v["contract_number"] or ""
            held = stored.get(space.id, [])
            same = next(
                (
                    h
                    for h in held
                    if (h.customer_id, h.kind, h.start_date) == (customer_id, kind, start)
                ),
                None,
            )
            other = next(
                (
                    (h.kind, h.start_date)
                    for h in held
                    if h is not same and periods_overlap(start, end, h.start_date, h.end_date)
                ),
                None,
            ) or next(
                (
                    (p_kind, p_start)
                    for p_start, p_end, p_kind in self.periods.get(space.id, [])
                    if periods_overlap(start, end, p_start, p_end)
                ),
                None,
            )
            if other is not None:
                message = MSG_SPACE_TAKEN.format(
                    kind=HOLDING_KIND_LABELS[other[0]], start=other[1].isoformat()
                )
                self.bad(row, self.header("start_date"), message)
                continue
            if same is None and space.status == SPACE_DISABLED:
                self.bad(row, self.header("space_number"), MSG_SPACE_DISABLED)
                continue
            self.periods.setdefault(space.id, []).append((start, end, kind))
            if same is None:
                inserts.append(
                    self._stamp(
                        {
                            "space_id": space.id,
                            "customer_id": customer_id,
                            "kind": kind,
                            "start_date": start,
                            "end_date": end,
                            "remind_days": remind,
                            "contract_number": contract,
                        }
                    )
                )
            elif (same.end_date, same.remind_days, same.contract_number) == (end, remind, contract):
                unchanged += 1
            elif same.ended_at is not None:
                self.bad(row, self.header("end_date"), MSG_HOLDING_ENDED)
            else:
                # A new contract end (or reminder days) is a new contract: reminded again.
                renewed = (same.end_date, same.remind_days) != (end, remind)
                changes.append(
                    {
                        "b_id": same.id,
                        "end_date": end,
                        "remind_days": remind,
                        "contract_number": contract,
                        "renewed": renewed,
                        "updated_at": self.now,
                    }
                )
        h = _table(SpaceHolding)
        if inserts:
            self.conn.execute(insert(h), inserts)
        if changes:
            self.conn.execute(
                update(h)
                .where(h.c.id == bindparam("b_id"))
                .values(
                    end_date=bindparam("end_date"),
                    remind_days=bindparam("remind_days"),
                    contract_number=bindparam("contract_number"),
                    reminded_at=case((bindparam("renewed"), None), else_=h.c.reminded_at),
                    updated_at=bindparam("updated_at"),
                ),
                changes,
            )
        self.report.count(
            SPACE_HOLDINGS, created=len(inserts), updated=len(changes), unchanged=unchanged
        )

    def _load_vehicles(self, rows: Sequence[Row]) -> None:
        resolved = []
        for row, customer_id in self._resolve_customers(rows):
            v = row.values
            community_id = None
            if v["space_number"] is not None:
                if v["community_code"] is None:
                    self.bad(row, self.header("community_code"), MSG_SPACE_COMMUNITY)
                    continue
                community_id = self._community(row)
                if community_id is None:
                    continue
            resolved.append((row, customer_id, community_id))
        spaces = self._spaces(
            (c, row.values["space_number"]) for row, _, c in resolved if c is not None
        )
        records = []
        for row, customer_id, community_id in resolved:
            v = row.values
            space_id = None
            if community_id is not None:
                space = spaces.get((community_id, v["space_number"]))
                if space is None:
                    self.bad(row, self.header("space_number"), MSG_UNKNOWN_SPACE)
                    continue
                space_id = space.id
            if not self.once(row, v["plate"], "plate"):
                continue
            records.append(
                {
                    "plate": v["plate"],
                    "plate_kind": plate_kind(v["plate"]),
                    "model": v["model"] or "",
                    "colour": v["colour"] or "",
                    "customer_id": customer_id,
                    "space_id": space_id,
                    "remark": v["remark"] or "",
                }
            )
        # An active vehicle is found by its plate (the partial unique index of the table).
        written = self._upsert(
            _table(Vehicle),
            records,
            conflict=("org_id", "plate"),
            conflict_where=" WHERE removed_at IS NULL",
            compare=("plate_kind", "model", "colour", "customer_id", "space_id", "remark"),
        )
        self._tally(VEHICLES, len(records), written)


# -- the job ------------------------------------------------------------------------------


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def run_import(
    db: Database,
    *,
    job_id: int,
    upload_dir: Path,
    clock: Callable[[], datetime] = _wall_clock,
    batch_rows: int = BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
) -> str:
    """Run one queued import job; returns its final status (or "skipped" if not queued).
    Owns its transactions: the claim, the progress, the import itself, the outcome."""
    with db.transaction() as uow:
        claimed = uow.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.status == QUEUED)
            .values(status=RUNNING, started_at=clock(), updated_at=clock())
            .returning(
                ImportJob.org_id,
                ImportJob.kind,
                ImportJob.file_format,
                ImportJob.file_hash,
                ImportJob.stored_name,
                ImportJob.dry_run,
            )
        ).first()
        if claimed is None:
            return "skipped"
        org_id, kind, file_format, file_hash, stored_name, dry_run = claimed
        duplicate_of = None
        if not dry_run:
            duplicate_of = uow.session.scalar(
                select(ImportJob.id)
                .where(
                    ImportJob.org_id == org_id,
                    ImportJob.file_hash == file_hash,
                    ImportJob.kind == kind,
                    ImportJob.dry_run.is_(False),
                    ImportJob.status == DONE,
                    ImportJob.id != job_id,
                )
                .order_by(ImportJob.id)
                .limit(1)
            )
    report = Report()
    if duplicate_of is not None:
        _finish(
            db,
            job_id,
            status=DONE,
            report=report,
            now=clock(),
            message=f"同一文件已于导入任务 #{duplicate_of} 导入，本次未做任何修改",
            duplicate_of=duplicate_of,
        )
        return DONE
    path = stored_path(upload_dir, stored_name)
    try:
        with reading.opened(path, file_format=file_format, kind=kind) as sheets:
            _load(db, job_id, org_id, sheets, report, dry_run, clock, batch_rows, on_batch)
    except reading.UnreadableFile as exc:
        _finish(db, job_id, status=FAILED, report=report, now=clock(), message=str(exc))
        return FAILED
    except Exception:
        log.exception("import %s failed", job_id)
        _finish(
            db,
            job_id,
            status=FAILED,
            report=report,
            now=clock(),
            message="导入出错，未写入任何数据",
        )
        return FAILED
    if report.error_count:
        status = DONE if dry_run else REJECTED
        rows = len(report.bad_rows)
        message = f"共 {rows} 行有误" + (
            "" if rows == report.error_count else f"（{report.error_count} 处）"
        )
        message += "" if dry_run else "，未导入任何数据"
    else:
        status = DONE
        message = "校验通过，可以正式导入" if dry_run else "导入完成"
    _finish(db, job_id, status=status, report=report, now=clock(), message=message)
    return status


def _load(
    db: Database,
    job_id: int,
    org_id: int,
    sheets: list[reading.SheetSource],
    report: Report,
    dry_run: bool,
    clock: Callable[[], datetime],
    batch_rows: int,
    on_batch: Callable[[int], None] | None,
) -> None:
    """Every sheet in one transaction: committed only for a real run without a bad row."""
    total = sum(source.count_rows() for source in sheets)
    _progress(db, job_id, done=0, total=total, now=clock())
    uow = db.unit_of_work()
    try:
        loader = Loader(uow.session, org_id=org_id, report=report, now=clock())
        last = time.monotonic()
        for source in sheets:
            loader.start_sheet(source.kind, source.title)
            for batch in _batches(loader, source, report, batch_rows):
                loader.load(batch)
                report.rows_done += len(batch)
                if time.monotonic() - last >= PROGRESS_EVERY:
                    _progress(db, job_id, done=report.rows_done, total=total, now=clock())
                    last = time.monotonic()
                if on_batch is not None:
                    on_batch(report.rows_done)
            _progress(db, job_id, done=report.rows_done, total=total, now=clock())
        if dry_run or report.error_count:
            uow.rollback()
        else:
            uow.commit()
    except BaseException:
        uow.rollback()
        raise
    finally:
        uow.close()


def _batches(
    loader: Loader, source: reading.SheetSource, report: Report, size: int
) -> Iterable[list[Row]]:
    rows = source.rows()
    first = next(rows, None)
    if first is None:
        report.error(source.title, 1, "", MSG_EMPTY_FILE)
        return
    headers = map_headers(loader.sheet, first[1])
    if headers.problems:
        for problem in headers.problems:
            report.error(source.title, first[0], "", problem)
        return
    batch: list[Row] = []
    for number, cells in rows:
        values, problems = parse_row(loader.sheet, headers, cells)
        row = Row(number, values, bool(problems))
        for column, message in problems:
            report.error(source.title, number, column, message)
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _progress(db: Database, job_id: int, *, done: int, total: int, now: datetime) -> None:
    with db.transaction() as uow:
        uow.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(rows_done=done, rows_total=max(total, done), updated_at=now)
        )


def _finish(
    db: Database,
    job_id: int,
    *,
    status: str,
    report: Report,
    now: datetime,
    message: str,
    duplicate_of: int | None = None,
) -> None:
    with db.transaction() as uow:
        uow.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                status=status,
                rows_done=report.rows_done,
                rows_total=func.greatest(ImportJob.rows_total, report.rows_done),
                error_count=report.error_count,
                errors=report.ordered_errors(),
                counts=report.counts,
                message=message[:500],
                duplicate_of_id=duplicate_of,
                finished_at=now,
                updated_at=now,
            )
        )
