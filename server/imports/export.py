"""Exporting the onboarding sheets (the same columns as the import), and their templates.

Phones and ID numbers are masked in every export (a masked file is for reading, not for
importing back: the import refuses a masked phone or ID number as malformed), unless a caller
holding `personal_data.view` asks for them whole.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from server.directory.models import Building, Community, Contact, Customer, CustomerRoom, Room, Unit
from server.imports.rules import (
    BUILDINGS,
    COMMUNITIES,
    CONTACT_RELATION_LABELS,
    CONTACTS,
    CUSTOMER_KIND_LABELS,
    CUSTOMER_ROOMS,
    CUSTOMERS,
    ID_TYPE_LABELS,
    ORIENTATION_LABELS,
    PARKING_SPACES,
    ROOM_RELATION_LABELS,
    ROOM_USE_LABELS,
    ROOMS,
    SHEET_KINDS,
    SHEET_TITLES,
    SHEETS,
    SPACE_HOLDINGS,
    UNITS,
    VEHICLES,
    WORKBOOK,
)
from server.kernel.permissions import Permission
from server.kernel.personal_data import mask_id_number, mask_phone
from server.orders.export import csv_chunks, escape_formula, xlsx_bytes
from server.parking.models import ParkingSpace, SpaceHolding, Vehicle
from server.parking.rules import HOLDING_KIND_LABELS, SPACE_KIND_LABELS, SPACE_STATUS_LABELS
from server.roles.grants import require

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YIELD_PER = 1000


def headers(kind: str) -> list[str]:
    return SHEETS[kind].headers


def _statement(kind: str, org_id: int) -> Any:
    if kind == COMMUNITIES:
        return (
            select(Community.code, Community.name, Community.address)
            .where(Community.org_id == org_id)
            .order_by(Community.id)
        )
    if kind == BUILDINGS:
        return (
            select(Community.code, Building.name, Building.floors)
            .join(Community, Community.id == Building.community_id)
            .where(Building.org_id == org_id)
            .order_by(Building.id)
        )
    if kind == UNITS:
        return (
            select(Community.code, Building.name, Unit.name)
            .join(Building, Building.id == Unit.building_id)
            .join(Community, Community.id == Building.community_id)
            .where(Unit.org_id == org_id)
            .order_by(Unit.id)
        )
    if kind == ROOMS:
        return (
            select(
                Community.code,
                Building.name,
                Unit.name,
                Room.code,
                Room.floor,
                Room.building_area,
                Room.charge_area,
                Room.layout,
                Room.orientation,
                Room.use,
                Room.delivered_on,
                Room.moved_in_on,
            )
            .join(Community, Community.id == Room.community_id)
            .join(Building, Building.id == Room.building_id)
            .outerjoin(Unit, Unit.id == Room.unit_id)
            .where(Room.org_id == org_id)
            .order_by(Room.id)
        )
    if kind == CUSTOMERS:
        return (
            select(
                Customer.kind,
                Customer.name,
                Customer.id_type,
                Customer.id_number,
                Customer.phone,
                Customer.emergency_name,
                Customer.emergency_phone,
                Customer.remark,
            )
            .where(Customer.org_id == org_id)
            .order_by(Customer.id)
        )
    owner = aliased(Customer)
    if kind == CONTACTS:
        return (
            select(owner.id_number, owner.phone, Contact.name, Contact.phone, Contact.relation)
            .join(owner, owner.id == Contact.customer_id)
            .where(Contact.org_id == org_id)
            .order_by(Contact.id)
        )
    if kind == CUSTOMER_ROOMS:
        return (
            select(
                owner.id_number,
                owner.phone,
                Community.code,
                Room.code,
                CustomerRoom.relation,
                CustomerRoom.start_date,
                CustomerRoom.end_date,
            )
            .join(owner, owner.id == CustomerRoom.customer_id)
            .join(Room, Room.id == CustomerRoom.room_id)
            .join(Community, Community.id == Room.community_id)
            .where(CustomerRoom.org_id == org_id)
            .order_by(CustomerRoom.id)
        )
    if kind == PARKING_SPACES:
        return (
            select(
                Community.code,
                ParkingSpace.number,
                ParkingSpace.area,
                ParkingSpace.kind,
                ParkingSpace.location,
                ParkingSpace.status,
                ParkingSpace.remark,
            )
            .join(Community, Community.id == ParkingSpace.community_id)
            .where(ParkingSpace.org_id == org_id)
            .order_by(ParkingSpace.id)
        )
    if kind == SPACE_HOLDINGS:
        return (
            select(
                owner.id_number,
                owner.phone,
                Community.code,
                ParkingSpace.number,
                SpaceHolding.kind,
                SpaceHolding.start_date,
                SpaceHolding.end_date,
                SpaceHolding.contract_number,
                SpaceHolding.remind_days,
            )
            .join(owner, owner.id == SpaceHolding.customer_id)
            .join(ParkingSpace, ParkingSpace.id == SpaceHolding.space_id)
            .join(Community, Community.id == ParkingSpace.community_id)
            .where(SpaceHolding.org_id == org_id)
            .order_by(SpaceHolding.id)
        )
    assert kind == VEHICLES
    # Active vehicles (a removed one's plate may be registered again).
    return (
        select(
            Vehicle.plate,
            owner.id_number,
            owner.phone,
            Vehicle.model,
            Vehicle.colour,
            Community.code,
            ParkingSpace.number,
            Vehicle.remark,
        )
        .join(owner, owner.id == Vehicle.customer_id)
        .outerjoin(ParkingSpace, ParkingSpace.id == Vehicle.space_id)
        .outerjoin(Community, Community.id == ParkingSpace.community_id)
        .where(Vehicle.org_id == org_id, Vehicle.removed_at.is_(None))
        .order_by(Vehicle.id)
    )


def _label(labels: dict[str, str], code: str | None) -> str | None:
    return None if code is None else labels.get(code, code)


def _shape(kind: str, row: Any, *, unmasked: bool = False) -> list[Any]:
    values = list(row)
    mask_id_number, mask_phone = (_as_is, _as_is) if unmasked else (_MASK_ID, _MASK_PHONE)
    if kind == ROOMS:
        values[5] = None if values[5] is None else str(values[5])
        values[6] = None if values[6] is None else str(values[6])
        values[8] = _label(ORIENTATION_LABELS, values[8])
        values[9] = _label(ROOM_USE_LABELS, values[9])
        values[10] = None if values[10] is None else values[10].isoformat()
        values[11] = None if values[11] is None else values[11].isoformat()
    elif kind == CUSTOMERS:
        values[0] = _label(CUSTOMER_KIND_LABELS, values[0])
        values[2] = _label(ID_TYPE_LABELS, values[2])
        values[3] = mask_id_number(values[3])
        values[4] = mask_phone(values[4])
        values[6] = mask_phone(values[6])
    elif kind == CONTACTS:
        values[0] = mask_id_number(values[0])
        values[1] = mask_phone(values[1])
        values[3] = mask_phone(values[3])
        values[4] = _label(CONTACT_RELATION_LABELS, values[4])
    elif kind == CUSTOMER_ROOMS:
        values[0] = mask_id_number(values[0])
        values[1] = mask_phone(values[1])
        values[4] = _label(ROOM_RELATION_LABELS, values[4])
        values[5] = values[5].isoformat()
        values[6] = None if values[6] is None else values[6].isoformat()
    elif kind == PARKING_SPACES:
        values[3] = _label(SPACE_KIND_LABELS, values[3])
        values[5] = _label(SPACE_STATUS_LABELS, values[5])
    elif kind == SPACE_HOLDINGS:
        values[0] = mask_id_number(values[0])
        values[1] = mask_phone(values[1])
        values[4] = _label(HOLDING_KIND_LABELS, values[4])
        values[5] = values[5].isoformat()
        values[6] = None if values[6] is None else values[6].isoformat()
    elif kind == VEHICLES:
        values[1] = mask_id_number(values[1])
        values[2] = mask_phone(values[2])
    return values


def require_unmasked(session: Session) -> None:
    """An export with whole phones and ID numbers needs `personal_data.view` (403 without);
    checked before the first row is read, so a refused stream never starts."""
    require(session, Permission.PERSONAL_DATA_VIEW)


def export_rows(
    session: Session, *, org_id: int, kind: str, unmasked: bool = False
) -> Iterator[list[Any]]:
    """The organisation's rows of one sheet, in batches (a server-side cursor); phones and ID
    numbers masked unless `unmasked` (see `require_unmasked`)."""
    result = session.execute(_statement(kind, org_id).execution_options(yield_per=YIELD_PER))
    for row in result:
        yield _shape(kind, row, unmasked=unmasked)


def _as_is(value: Any) -> Any:
    return value


_MASK_ID, _MASK_PHONE = mask_id_number, mask_phone


def csv_stream(rows: Iterator[list[Any]], kind: str) -> Iterator[bytes]:
    return csv_chunks(rows, headers=headers(kind))


def xlsx_export(rows: Iterator[list[Any]], kind: str) -> bytes:
    """XLSX of the rows; control characters a worksheet cannot hold are dropped."""
    clean = (
        [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row] for row in rows
    )
    return xlsx_bytes(clean, sheet_title=SHEET_TITLES[kind], headers=headers(kind))


def _example(kind: str) -> list[Any]:
    return [column.example for column in SHEETS[kind].columns]


def template_csv(kind: str) -> bytes:
    return b"".join(csv_chunks(iter([_example(kind)]), headers=headers(kind)))


def template_xlsx(kind: str) -> bytes:
    """One sheet per kind (all of them for `workbook`): bold headers, an example row."""
    kinds = SHEET_KINDS if kind == WORKBOOK else (kind,)
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for each in kinds:
        sheet = book.create_sheet(SHEET_TITLES[each])
        header = []
        for title in headers(each):
            cell = WriteOnlyCell(sheet, value=title)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        example = []
        for value in _example(each):
            cell = WriteOnlyCell(sheet, value=value if value != "" else None)
            if isinstance(value, str):
                cell.value = escape_formula(value) if value else None
                cell.data_type = "s"
            example.append(cell)
        sheet.append(example)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(kind: str, extension: str) -> str:
    return f"{kind}.{extension}"
