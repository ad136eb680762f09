"""代客报修: the desk files a repair on a resident's behalf.

The same filing as the API's staff endpoint (`POST /api/v1/tech/orders` from a desk caller):
`orders.filing.file_order` with the desk's actor (dispatcher, else admin), so the order is
counted as filed at the desk (前台登记, channel `staff`). The form is checked by the API's own
schema (`StaffOrderCreateSchema`), so the fields and their zh-CN messages are the API's.

One page; htmx fills its parts as the desk picks: the rooms matching a code, the chosen
room's customers and contacts (masked phones; picking one fills the contact's name and
whole phone, which stay editable), the subtypes of a type, and the chosen subtype's fee and
booking slots for the next days (remaining places per slot; past, closed and full ones
disabled). A hidden random token per form is the filing's idempotency key
(`server.idempotency.keys`): a second submit of the same form lands on the order the first
one filed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, timedelta
from typing import Any

from flask import redirect, request
from marshmallow import ValidationError

from schemas.booking import SlotSchema
from schemas.catalog import CatalogOrderTypeSchema, CatalogSubtypeSchema
from schemas.charges import TenantSpecSchema
from schemas.directory import ContactSchema, CustomerListItemSchema, RoomBriefSchema
from schemas.orders import StaffOrderCreateSchema
from server.booking.slots import list_slots
from server.catalog.browse import active_catalog
from server.charges import catalogue
from server.console.blueprint import bp, local
from server.console.web import desk_page, discard_changes, page
from server.directory import customers as customer_service
from server.directory import property as property_service
from server.directory.tenancy import customers_of_room
from server.idempotency import keys as idempotency
from server.kernel.errors import DomainError
from server.kernel.roles import Role
from server.orders.actors import Actor
from server.orders.filing import NewOrder, file_order
from server.web.context import now, principal, session, today
from server.web.errors import flatten_messages

ROOM_RESULTS = 20
SLOT_DAYS = 7
KEY_PREFIX = "console-new-order:"
# The form's fields, as the API's schema names them, plus the page's own.
FIELDS = (
    "room_q",
    "room_id",
    "contact_id",
    "contact_name",
    "contact_phone",
    "order_type_id",
    "subtype_id",
    "spec_id",
    "description",
    "priority",
    "payer",
    "slot_start",
    "slot_from",
    "form_token",
)
# Where each field's message is shown; anything else goes to the top of the form.
PLACED = frozenset(
    {
        "room_id",
        "contact_name",
        "contact_phone",
        "subtype_id",
        "spec_id",
        "description",
        "priority",
        "payer",
        "slot_start",
    }
)
PRIORITY_LABELS = {"normal": "普通", "urgent": "紧急"}
PAYER_LABELS = {"tenant": "住户付费", "company": "公司代付"}
FEE_MODE_LABELS = {
    "none": "免费",
    "charge_on_order": "下单即收费",
    "charge_after_completion": "完成后收费",
}
ROOM_RELATION_LABELS = {"owner": "业主", "tenant": "租户", "resident": "住户"}
CONTACT_RELATION_LABELS = {"self": "本人", "family": "家属", "employee": "员工", "other": "其他"}
KIND_LABELS = {"person": "个人", "company": "单位"}
REASON_LABELS = {
    "past": "已过",
    "too_soon": "即将开始",
    "too_far": "未开放",
    "closed": "暂停",
    "full": "已约满",
}
WEEKDAYS = "一二三四五六日"

_CREATE = StaffOrderCreateSchema()
_ROOM = RoomBriefSchema()
_CUSTOMER = CustomerListItemSchema()
_CONTACT = ContactSchema()
_TYPE = CatalogOrderTypeSchema()
_SUBTYPE = CatalogSubtypeSchema()
_SPEC = TenantSpecSchema()
_SLOT = SlotSchema()


def _desk_actor() -> Actor:
    """The desk's capacity, as `server.http.admin.orders._actor` builds it."""
    caller = principal()
    role = Role.DISPATCHER.value if Role.DISPATCHER.value in caller.roles else Role.ADMIN.value
    return Actor(user_id=caller.user_id, org_id=caller.org_id, role=role)


def _values(source: Any) -> dict[str, str]:
    return {name: str(source.get(name, "")).strip()[:2000] for name in FIELDS}


def _int(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


# What each part of the form shows, read through the use cases -------------------------------


def _rooms(q: str) -> tuple[list[dict[str, Any]], int]:
    """The first rooms whose code contains `q`, and how many match in all."""
    if not q:
        return [], 0
    found = property_service.list_rooms(
        session(),
        org_id=principal().org_id,
        community_id=None,
        building_id=None,
        unit_id=None,
        q=q[:50],
        page=1,
        page_size=ROOM_RESULTS,
        in_use_only=True,
    )
    return [_ROOM.dump(room) for room in found.items], found.total


def _room(room_id: int | None) -> dict[str, Any] | None:
    if room_id is None:
        return None
    try:
        room = property_service.get_room(session(), org_id=principal().org_id, room_id=room_id)
    except DomainError:
        return None
    dumped: dict[str, Any] = _ROOM.dump(room)
    return dumped


def _room_customers(room_id: int | None) -> list[dict[str, Any]]:
    if room_id is None:
        return []
    related = customers_of_room(
        session(), org_id=principal().org_id, room_id=room_id, today=today()
    )
    return [{"relation": r.relation, **_CUSTOMER.dump(r.customer)} for r in related]


def _contact(contact_id: int | None) -> dict[str, Any] | None:
    """The chosen contact in full (the desk sees the whole phone, as `GET /admin/contacts/{id}`)."""
    if contact_id is None:
        return None
    try:
        contact = customer_service.get_contact(
            session(), org_id=principal().org_id, contact_id=contact_id
        )
    except DomainError:
        return None
    dumped: dict[str, Any] = _CONTACT.dump(contact)
    return dumped


def _catalog() -> list[dict[str, Any]]:
    return [_TYPE.dump(t) for t in active_catalog(session(), org_id=principal().org_id)]


def _subtype(catalog: list[dict[str, Any]], subtype_id: int | None) -> dict[str, Any] | None:
    for order_type in catalog:
        for subtype in order_type["subtypes"]:
            if subtype["id"] == subtype_id:
                return {**subtype, "order_type_id": order_type["id"]}
    return None


def _specs(subtype: dict[str, Any] | None) -> list[dict[str, Any]]:
    if subtype is None or subtype["fee_mode"] != "charge_on_order":
        return []
    specs = catalogue.list_specs(
        session(), org_id=principal().org_id, subtype_id=subtype["id"], active_only=True
    )
    return [_SPEC.dump(spec) for spec in specs]


def _slot_from(raw: str) -> date:
    first = today()
    try:
        chosen = date.fromisoformat(raw) if raw else first
    except ValueError:
        chosen = first
    return min(max(chosen, first), first + timedelta(days=91))


def _slot_grid(subtype: dict[str, Any] | None, room_id: int | None, start: date) -> dict[str, Any]:
    """The desk's slots (its reserve included) for `SLOT_DAYS` days from `start`: a row per
    day, a column per slot time (the union over the days; a day without it shows none)."""
    if subtype is None or not subtype["booking_enabled"] or room_id is None:
        return {"times": [], "days": []}
    days, times = [], set()
    for offset in range(SLOT_DAYS):
        day = start + timedelta(days=offset)
        slots = list_slots(
            session(),
            org_id=principal().org_id,
            subtype_id=subtype["id"],
            day=day,
            room_id=room_id,
            desk=True,
            now=now(),
        )
        by_time = {}
        for slot in slots:
            dumped = _SLOT.dump(slot)
            at = local(dumped["start"], "%H:%M") + "–" + local(dumped["end"], "%H:%M")
            by_time[at] = dumped
            times.add(at)
        days.append(
            {
                "date": day.isoformat(),
                "label": f"{day:%m-%d} 周{WEEKDAYS[day.weekday()]}",
                "slots": by_time,
            }
        )
    return {"times": sorted(times), "days": days}


def _context(values: dict[str, str], errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    room_id = _int(values["room_id"])
    catalog = _catalog()
    subtype = _subtype(catalog, _int(values["subtype_id"]))
    order_type_id = _int(values["order_type_id"])
    if subtype is not None:
        order_type_id = subtype["order_type_id"]
    order_type = next((t for t in catalog if t["id"] == order_type_id), None)
    slot_from = _slot_from(values["slot_from"])
    room = _room(room_id)
    rooms, rooms_total = _rooms(values["room_q"])
    if room is not None and all(r["id"] != room["id"] for r in rooms):
        rooms.insert(0, room)
    errors = errors or {}
    return {
        "v": values,
        "errors": errors,
        "loose_errors": {k: m for k, m in errors.items() if k not in PLACED},
        "rooms": rooms,
        "rooms_more": rooms_total > ROOM_RESULTS,
        "room": room,
        "customers": _room_customers(room["id"] if room else None),
        "catalog": catalog,
        "order_type": order_type,
        "subtype": subtype,
        "specs": _specs(subtype),
        "slot_grid": _slot_grid(subtype, room["id"] if room else None, slot_from),
        "slot_from": slot_from.isoformat(),
        "slot_prev": (slot_from - timedelta(days=SLOT_DAYS)).isoformat()
        if slot_from > today()
        else "",
        "slot_next": (slot_from + timedelta(days=SLOT_DAYS)).isoformat(),
        "priorities": PRIORITY_LABELS,
        "payers": PAYER_LABELS,
        "fee_modes": FEE_MODE_LABELS,
        "room_relations": ROOM_RELATION_LABELS,
        "contact_relations": CONTACT_RELATION_LABELS,
        "kinds": KIND_LABELS,
        "reasons": REASON_LABELS,
    }


def _form_page(values: dict[str, str], **extra: Any) -> Any:
    if not values["form_token"]:
        values["form_token"] = secrets.token_urlsafe(18)
    if not values["priority"]:
        values["priority"] = "normal"
    if not values["payer"]:
        values["payer"] = "tenant"
    return page(
        "console/new_order.html",
        **_context(values, extra.pop("errors", None)),
        nav="new_order",
        **extra,
    )


# Pages and parts ---------------------------------------------------------------------------


@bp.get("/orders/new")
@desk_page
def new_order() -> Any:
    return _form_page(_values(request.args))


@bp.get("/orders/new/rooms")
@desk_page
def new_order_rooms() -> Any:
    values = _values(request.args)
    return page("console/new_order_rooms.html", **_context(values))


@bp.get("/orders/new/room")
@desk_page
def new_order_room() -> Any:
    values = _values(request.args)
    contact = _contact(_int(values["contact_id"]))
    if contact is not None:
        values["contact_name"], values["contact_phone"] = contact["name"], contact["phone"]
    return page("console/new_order_room.html", **_context(values))


@bp.get("/orders/new/subtypes")
@desk_page
def new_order_subtypes() -> Any:
    values = _values(request.args)
    values["subtype_id"] = ""
    return page("console/new_order_subtypes.html", **_context(values))


@bp.get("/orders/new/details")
@desk_page
def new_order_details() -> Any:
    values = _values(request.args)
    return page("console/new_order_details.html", **_context(values))


@bp.post("/orders/new")
@desk_page
def new_order_submit() -> Any:
    values = _values(request.form)
    try:
        data = _CREATE.load(_payload(values))
    except ValidationError as exc:
        return _form_page(values, errors=flatten_messages(exc.messages), message="请求参数有误")
    actor = _desk_actor()
    try:
        claim = idempotency.begin(
            session(),
            org_id=actor.org_id,
            user_id=actor.user_id,
            key=KEY_PREFIX + values["form_token"][:100],
            request_hash=_hash(data),
            now=now(),
        )
        if isinstance(claim, idempotency.Replay):
            # The same form sent twice: the first filing's order.
            return redirect(f"/console/orders/{claim.body['order_id']}", code=303)
        order = file_order(
            session(),
            actor=actor,
            new=NewOrder(
                subtype_id=data["subtype_id"],
                room_id=data["room_id"],
                description=data["description"],
                image_ids=tuple(data["image_ids"]),
                contact_phone=data["contact_phone"],
                contact_name=data.get("contact_name"),
                priority=data["priority"],
                payer=data["payer"],
                slot_start=data["slot_start"],
                spec_id=data["spec_id"],
            ),
            now=now(),
            today=today(),
        )
        idempotency.finish(session(), claim_id=claim, status_code=303, body={"order_id": order.id})
    except DomainError as exc:
        discard_changes()
        return _form_page(values, errors=exc.errors or {}, message=exc.message)
    return redirect(f"/console/orders/{order.id}", code=303)


def _payload(values: dict[str, str]) -> dict[str, Any]:
    """The form as the API's JSON body: ids as numbers, blank fields left out."""
    body: dict[str, Any] = {}
    for name in ("room_id", "subtype_id", "spec_id"):
        if values[name]:
            number = _int(values[name])
            body[name] = values[name] if number is None else number
    for name in ("description", "contact_phone", "contact_name", "priority", "payer"):
        if values[name]:
            body[name] = values[name]
    if values["slot_start"]:
        body["slot_start"] = values["slot_start"]
    return body


def _hash(data: dict[str, Any]) -> str:
    raw = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()
