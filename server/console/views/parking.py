"""客车关系: parking spaces with their current holder and contract end, vehicles, and the forms
to register a space, assign it (产权 / 租用), end a relation, register and remove a vehicle.

Over the same use cases and schemas as `/api/v1/admin/parking-spaces` and `/vehicles`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import redirect, request
from marshmallow import ValidationError

from schemas.common import page_of
from schemas.directory import CommunitySchema
from schemas.parking import (
    AssignSpaceSchema,
    EndSchema,
    ParkingSpaceCreateSchema,
    ParkingSpaceQueryArgsSchema,
    ParkingSpaceSchema,
    VehicleCreateSchema,
    VehicleQueryArgsSchema,
    VehicleSchema,
)
from server.console.blueprint import bp
from server.console.views._service import (
    Refusal,
    claim_form,
    finish_form,
    invalid,
    load_form,
    new_form_token,
    page_url_for,
    query_args,
    refusal_of,
)
from server.console.web import desk_page, discard_changes, page
from server.dictionary import items as dictionary
from server.directory import customers as customer_service
from server.directory import property as places
from server.idempotency.keys import Replay
from server.kernel.errors import DomainError, ValidationFailed
from server.kernel.personal_data import mask_phone
from server.parking import spaces, vehicles
from server.web.context import now, principal, session, today

PAGE_SIZE = 20
PATH = "/console/parking"

_SPACES = page_of(ParkingSpaceSchema)()
_VEHICLES = page_of(VehicleSchema)()
_COMMUNITIES = CommunitySchema(many=True)
_SPACE_ARGS = ParkingSpaceQueryArgsSchema()
_VEHICLE_ARGS = VehicleQueryArgsSchema()
_NEW_SPACE = ParkingSpaceCreateSchema()
_ASSIGN = AssignSpaceSchema()
_END = EndSchema()
_NEW_VEHICLE = VehicleCreateSchema()
_CUSTOMER_ID = re.compile(r"^#(\d{1,12})$")

FORM_LABELS = {
    "community_id": "小区",
    "number": "车位编号",
    "kind": "类型",
    "area": "区域",
    "location": "位置",
    "customer_id": "客户",
    "start_date": "开始日期",
    "end_date": "结束日期",
    "remind_days": "提前提醒天数",
    "contract_number": "合同号",
    "plate": "车牌号",
    "model": "车型",
    "colour": "颜色",
    "space_id": "车位",
    "reason": "原因",
    "remark": "备注",
}


def _lines(refusal: Refusal) -> list[str]:
    out: list[str] = []
    for name, texts in refusal.errors.items():
        label = FORM_LABELS.get(name.split(".")[0], "")
        out.extend(f"{label}：{text}" if label else text for text in texts)
    return out


def _space_args() -> dict[str, Any]:
    return query_args(_SPACE_ARGS)


def _vehicle_args() -> dict[str, Any]:
    # The vehicles' list has its own page (`vpage`) and plate search (`plate`).
    raw = {"q": request.args.get("plate", ""), "page": request.args.get("vpage", "1")}
    try:
        loaded: dict[str, Any] = _VEHICLE_ARGS.load({k: v for k, v in raw.items() if v})
    except ValidationError:
        loaded = _VEHICLE_ARGS.load({})
    return loaded


def _render(
    *,
    refused: dict[str, Refusal] | None = None,
    sent: dict[str, dict[str, str]] | None = None,
) -> Any:
    org_id, current, day = principal().org_id, session(), today()
    args = _space_args()
    vargs = _vehicle_args()
    listing = _SPACES.dump(
        spaces.list_spaces(
            current,
            org_id=org_id,
            today=day,
            community_id=args.get("community_id"),
            kind=args.get("kind"),
            status=args.get("status"),
            occupied=args.get("occupied"),
            customer_id=args.get("customer_id"),
            q=args.get("q"),
            page=args["page"],
            page_size=PAGE_SIZE,
        )
    )
    vlisting = _VEHICLES.dump(
        vehicles.list_vehicles(
            current,
            org_id=org_id,
            customer_id=args.get("customer_id"),
            community_id=args.get("community_id"),
            q=vargs.get("q"),
            page=vargs["page"],
            page_size=PAGE_SIZE,
        )
    )
    communities = _COMMUNITIES.dump(
        places.list_communities(current, org_id=org_id, q=None, page=1, page_size=100).items
    )
    assign_to = None
    assign_id = request.args.get("assign", "")
    if assign_id.isdigit() and int(assign_id) < 2**62:
        try:
            view = spaces.space_view(current, org_id=org_id, space_id=int(assign_id), today=day)
            assign_to = ParkingSpaceSchema().dump(view)
        except DomainError:
            assign_to = None
    space_filters = {**args, "plate": vargs.get("q") or ""}
    vehicle_filters = {**args, "plate": vargs.get("q") or "", "page": args["page"]}
    return page(
        "console/parking.html",
        listing=listing,
        vlisting=vlisting,
        args=args,
        plate=vargs.get("q") or "",
        communities=communities,
        # The organisation's names and order (数据字典).
        kinds=dictionary.choices(session(), org_id=org_id, name="parking_space_kinds"),
        holding_kinds=dictionary.choices(session(), org_id=org_id, name="parking_holding_kinds"),
        colours=[
            label
            for _, label in dictionary.choices(session(), org_id=org_id, name="vehicle_colours")
        ],
        assign_to=assign_to,
        refused=refused or {},
        sent=sent or {},
        lines=_lines,
        today=day.isoformat(),
        token=new_form_token(),
        query=request.query_string.decode("latin-1"),
        page_url=page_url_for(PATH, space_filters),
        vpage_url=_vpage_url(vehicle_filters),
        nav="parking",
    )


def _vpage_url(filters: dict[str, Any]) -> Any:
    base = page_url_for(PATH, filters)

    def url(number: int) -> str:
        # page_url_for sets `page`; the vehicles' page is `vpage` (the spaces' page is kept).
        return str(base(filters.get("page") or 1)) + f"&vpage={number}"

    return url


@bp.get("/parking")
@desk_page
def parking() -> Any:
    return _render()


def _back(*, drop: tuple[str, ...] = ()) -> str:
    """Back to the page as it was (the forms' actions carry the page's query string)."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in drop]
    return f"{PATH}?{urlencode(kept)}" if kept else PATH


def _customer_id(text: str) -> int:
    """The customer the desk typed: `#编号`, or a name / phone matching exactly one."""
    text = text.strip()
    if not text:
        raise ValidationFailed.field("customer_id", "请填写客户姓名、手机号或 #编号")
    match = _CUSTOMER_ID.match(text)
    if match:
        return int(match.group(1))
    found = customer_service.list_customers(
        session(), org_id=principal().org_id, kind=None, q=text[:50], page=1, page_size=6
    )
    if found.total == 1:
        return found.items[0].id
    if found.total == 0:
        raise ValidationFailed.field("customer_id", f"没有找到“{text}”对应的客户")
    shown = "、".join(
        f"{c.name}（{mask_phone(c.phone) or '无手机号'}，#{c.id}）" for c in found.items[:5]
    )
    raise ValidationFailed.field(
        "customer_id", f"找到 {found.total} 位客户：{shown}；请输入 #编号 或完整手机号"
    )


def _space_id(number: str, community: str) -> int | None:
    number = number.strip()
    if not number:
        return None
    community_id = int(community) if community.isdigit() and int(community) < 2**62 else None
    found = spaces.find_space(
        session(), org_id=principal().org_id, number=number, community_id=community_id
    )
    if len(found) == 1:
        return found[0].id
    if not found:
        raise ValidationFailed.field("space_id", f"没有编号为 {number.upper()} 的车位")
    raise ValidationFailed.field("space_id", "多个小区有此编号的车位，请同时选择小区")


@bp.post("/parking/spaces")
@desk_page
def create_space() -> Any:
    form = request.form
    sent = {k: form.get(k, "") for k in ("community_id", "number", "kind", "area", "location")}
    body: dict[str, Any] = {k: v for k, v in sent.items() if v != ""}
    try:
        claim = claim_form("parking-space", body)
        if isinstance(claim, Replay):
            return redirect(_back(), code=303)
        if "community_id" in body:
            body["community_id"] = (
                int(body["community_id"]) if body["community_id"].isdigit() else -1
            )
        data = load_form(_NEW_SPACE, body)
        space = spaces.create_space(session(), org_id=principal().org_id, data=data)
        finish_form(claim, created_id=space.id)
    except ValidationError as exc:
        discard_changes()
        return _render(refused={"space": invalid(exc)}, sent={"space": sent})
    except DomainError as exc:
        discard_changes()
        return _render(refused={"space": refusal_of(exc)}, sent={"space": sent})
    return redirect(_back(), code=303)


@bp.post("/parking/spaces/<int:space_id>/assign")
@desk_page
def assign_space(space_id: int) -> Any:
    form = request.form
    keys = ("customer", "kind", "start_date", "end_date", "remind_days", "contract_number")
    sent = {k: form.get(k, "") for k in keys}
    try:
        claim = claim_form("parking-assign", {"space_id": space_id, **sent})
        if isinstance(claim, Replay):
            return redirect(_back(), code=303)
        body: dict[str, Any] = {
            "kind": sent["kind"],
            "start_date": sent["start_date"],
            "end_date": sent["end_date"] or None,
            "contract_number": sent["contract_number"],
        }
        if sent["remind_days"] != "":
            body["remind_days"] = (
                int(sent["remind_days"]) if sent["remind_days"].isdigit() else sent["remind_days"]
            )
        body["customer_id"] = _customer_id(sent["customer"])
        data = load_form(_ASSIGN, body)
        holding = spaces.assign(
            session(), org_id=principal().org_id, space_id=space_id, data=data, now=now()
        )
        finish_form(claim, created_id=holding.id)
    except ValidationError as exc:
        discard_changes()
        return _render(refused={"assign": invalid(exc)}, sent={"assign": sent})
    except DomainError as exc:
        discard_changes()
        return _render(refused={"assign": refusal_of(exc)}, sent={"assign": sent})
    return redirect(_back(drop=("assign",)), code=303)


@bp.post("/parking/holdings/<int:holding_id>/end")
@desk_page
def end_holding(holding_id: int) -> Any:
    sent = {"end_date": request.form.get("end_date", ""), "reason": request.form.get("reason", "")}
    key = f"end-{holding_id}"
    try:
        data = load_form(_END, sent)
        spaces.end_holding(
            session(),
            org_id=principal().org_id,
            holding_id=holding_id,
            end_date=data["end_date"],
            reason=data["reason"],
            now=now(),
        )
    except ValidationError as exc:
        discard_changes()
        return _render(refused={key: invalid(exc)}, sent={key: sent})
    except DomainError as exc:
        discard_changes()
        return _render(refused={key: refusal_of(exc)}, sent={key: sent})
    return redirect(_back(), code=303)


@bp.post("/parking/vehicles")
@desk_page
def register_vehicle() -> Any:
    form = request.form
    keys = ("plate", "model", "colour", "customer", "space_number", "space_community")
    sent = {k: form.get(k, "") for k in keys}
    try:
        claim = claim_form("vehicle", sent)
        if isinstance(claim, Replay):
            return redirect(_back(), code=303)
        body = {
            "plate": sent["plate"],
            "model": sent["model"],
            "colour": sent["colour"],
            "customer_id": _customer_id(sent["customer"]),
            "space_id": _space_id(sent["space_number"], sent["space_community"]),
        }
        data = load_form(_NEW_VEHICLE, body)
        vehicle = vehicles.register_vehicle(session(), org_id=principal().org_id, data=data)
        finish_form(claim, created_id=vehicle.id)
    except ValidationError as exc:
        discard_changes()
        return _render(refused={"vehicle": invalid(exc)}, sent={"vehicle": sent})
    except DomainError as exc:
        discard_changes()
        return _render(refused={"vehicle": refusal_of(exc)}, sent={"vehicle": sent})
    return redirect(_back(), code=303)


@bp.post("/parking/vehicles/<int:vehicle_id>/remove")
@desk_page
def remove_vehicle(vehicle_id: int) -> Any:
    sent = {"end_date": request.form.get("end_date", ""), "reason": request.form.get("reason", "")}
    key = f"remove-{vehicle_id}"
    try:
        data = load_form(_END, sent)
        vehicles.remove_vehicle(
            session(),
            org_id=principal().org_id,
            vehicle_id=vehicle_id,
            on=data["end_date"],
            reason=data["reason"],
            now=now(),
        )
    except ValidationError as exc:
        discard_changes()
        return _render(refused={key: invalid(exc)}, sent={key: sent})
    except DomainError as exc:
        discard_changes()
        return _render(refused={key: refusal_of(exc)}, sent={key: sent})
    return redirect(_back(), code=303)
