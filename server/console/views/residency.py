"""住户生命周期 in the console: a room's page (details, household today, dated history, payer,
and the forms: move in, transfer, add a family member, end a member, name the payer), a
customer's page (their rooms together, contacts, family), the split / merge forms and the
customer-service report.

Over the same use cases and schemas as `/api/v1/admin/move-ins`, `/rooms/{id}/transfers` …
(`server.http.admin.residency`); a refusal is shown beside its form, nothing written.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Response, redirect, request
from marshmallow import ValidationError

from schemas.directory import ContactSchema, CustomerSchema, RoomBriefSchema
from schemas.residency import (
    CustomerRoomsSchema,
    CustomerServiceReportArgsSchema,
    CustomerServiceReportSchema,
    HouseholdMemberCreateSchema,
    HouseholdMemberEndSchema,
    MoveInCreateSchema,
    RoomHistorySchema,
    RoomMergeSchema,
    RoomPayerSetSchema,
    RoomSplitSchema,
    RoomTransferCreateSchema,
)
from server.console.blueprint import bp
from server.console.views._service import (
    Refusal,
    claim_form,
    finish_form,
    invalid,
    load_form,
    new_form_token,
    refusal_of,
)
from server.console.web import desk_page, discard_changes, page
from server.directory import customers as customer_service
from server.directory import property as places
from server.idempotency.keys import Replay
from server.kernel.errors import DomainError, NotFound, ValidationFailed
from server.kernel.personal_data import mask_phone
from server.orders import export as order_export
from server.residency import details, households, move_ins, payers, report, reshaping, transfers
from server.residency.rules import FAMILY_LABELS
from server.web.context import principal, session, today

RELATION_LABELS = {"owner": "业主", "tenant": "租户", "resident": "家庭成员 / 住户"}
LINEAGE_LABELS = {"split": "拆分", "merge": "合并"}
FORM_LABELS = {
    "room_id": "房间",
    "room_ids": "房间",
    "start_date": "日期",
    "end_date": "结束日期",
    "date": "日期",
    "relation": "身份",
    "customer": "客户",
    "customer_id": "客户",
    "contacts": "联系人",
    "family": "家庭成员",
    "vehicles": "车辆",
    "label": "与户主关系",
    "rooms": "新房间",
    "room": "新房间",
    "keep_tenants": "保留租户",
}
_CUSTOMER_REF = re.compile(r"^#(\d{1,12})$")
_HISTORY = RoomHistorySchema()
_ROOM = RoomBriefSchema()
_CUSTOMER = CustomerSchema()
_CONTACTS = ContactSchema(many=True)
_CUSTOMER_ROOMS = CustomerRoomsSchema()
_MOVE_IN = MoveInCreateSchema()
_TRANSFER = RoomTransferCreateSchema()
_MEMBER = HouseholdMemberCreateSchema()
_END = HouseholdMemberEndSchema()
_PAYER = RoomPayerSetSchema()
_SPLIT = RoomSplitSchema()
_MERGE = RoomMergeSchema()
_REPORT_ARGS = CustomerServiceReportArgsSchema()
_REPORT = CustomerServiceReportSchema()


def _lines(refusal: Refusal) -> list[str]:
    out: list[str] = []
    for name, texts in refusal.errors.items():
        label = FORM_LABELS.get(name.split(".")[0], "")
        out.extend(f"{label}：{text}" if label else text for text in texts)
    return out


def _customer_ref(text: str, *, field: str = "customer_id") -> int:
    """The customer the desk typed: `#编号`, or a name / phone matching exactly one."""
    text = text.strip()
    match = _CUSTOMER_REF.match(text)
    if match:
        return int(match.group(1))
    found = customer_service.list_customers(
        session(), org_id=principal().org_id, kind=None, q=text[:50], page=1, page_size=6
    )
    if found.total == 1:
        return found.items[0].id
    if found.total == 0:
        raise ValidationFailed.field(field, f"没有找到“{text}”对应的客户")
    shown = "、".join(
        f"{c.name}（{mask_phone(c.phone) or '无手机号'}，#{c.id}）" for c in found.items[:5]
    )
    raise ValidationFailed.field(field, f"找到 {found.total} 位客户：{shown}；请输入 #编号")


def _who(form: Any, prefix: str = "") -> dict[str, Any]:
    """An existing customer (`existing`: #编号 / name / phone) or a new one (name, phone …)."""
    existing = form.get(f"{prefix}existing", "").strip()
    if existing:
        return {"customer_id": _customer_ref(existing)}
    new: dict[str, Any] = {"name": form.get(f"{prefix}name", "")}
    for key in ("phone", "id_number"):
        if form.get(f"{prefix}{key}", "").strip():
            new[key] = form.get(f"{prefix}{key}")
    if form.get(f"{prefix}kind"):
        new["kind"] = form.get(f"{prefix}kind")
    return {"customer": new}


def _room_view(room_id: int, *, refused: dict[str, Refusal], sent: dict[str, Any]) -> Any:
    org_id, day = principal().org_id, today()
    try:
        history = details.room_history(
            session(), org_id=org_id, room_id=room_id, on=None, today=day
        )
    except NotFound as exc:
        return page("console/error.html", status=404, title="房屋不存在", message=exc.message)
    dumped = _HISTORY.dump(history)
    current = [r for r in dumped["relations"] if r["current"]]
    heads = [r for r in current if r["household_id"] is None]
    members = {
        head["id"]: [r for r in current if r["household_id"] == head["id"]] for head in heads
    }
    payer = payers.payer_on(session(), room_id=room_id, day=day)
    return page(
        "console/residency_room.html",
        room=dumped["room"],
        retired_on=dumped["room"]["retired_on"],
        history=dumped,
        heads=heads,
        members=members,
        payer=payer.customer.name if payer is not None else None,
        current_customers={r["customer"]["id"]: r["customer"]["name"] for r in current},
        relation_labels=RELATION_LABELS,
        lineage_labels=LINEAGE_LABELS,
        family_labels=FAMILY_LABELS,
        refused=refused,
        sent=sent,
        lines=_lines,
        today=day.isoformat(),
        token=new_form_token(),
        nav="residency",
    )


@bp.get("/rooms/<int:room_id>")
@desk_page
def residency_room(room_id: int) -> Any:
    return _room_view(room_id, refused={}, sent={})


def _act(room_id: int, key: str, sent: dict[str, Any], action: Any) -> Any:
    """Run a form's action; a refusal is shown beside the form, nothing written."""
    try:
        action()
    except ValidationError as exc:
        discard_changes()
        return _room_view(room_id, refused={key: invalid(exc)}, sent={key: sent})
    except DomainError as exc:
        discard_changes()
        return _room_view(room_id, refused={key: refusal_of(exc)}, sent={key: sent})
    return redirect(f"/console/rooms/{room_id}", code=303)


@bp.post("/rooms/<int:room_id>/move-in")
@desk_page
def residency_move_in(room_id: int) -> Any:
    form = request.form
    sent = form.to_dict()

    def action() -> None:
        body: dict[str, Any] = {
            "room_id": room_id,
            "start_date": form.get("start_date", ""),
            "relation": form.get("relation", "owner"),
            **_who(form),
        }
        family = []
        for i in (1, 2):
            if form.get(f"family{i}_name", "").strip():
                person: dict[str, Any] = {"name": form.get(f"family{i}_name")}
                if form.get(f"family{i}_phone", "").strip():
                    person["phone"] = form.get(f"family{i}_phone")
                family.append({"customer": person, "label": form.get(f"family{i}_label", "")})
        body["family"] = family
        if form.get("plate", "").strip():
            body["vehicles"] = [{"plate": form.get("plate")}]
        # A form sent twice (a double click, the back button) moves in once.
        claim = claim_form("move-in", body)
        if isinstance(claim, Replay):
            return
        record = move_ins.move_in(
            session(), org_id=principal().org_id, data=load_form(_MOVE_IN, body)
        )
        finish_form(claim, created_id=record.id)

    return _act(room_id, "move_in", sent, action)


@bp.post("/rooms/<int:room_id>/transfer")
@desk_page
def residency_transfer(room_id: int) -> Any:
    form = request.form
    sent = form.to_dict()

    def action() -> None:
        body = {
            "date": form.get("date", ""),
            "keep_tenants": form.get("keep_tenants") == "on",
            **_who(form),
        }
        claim = claim_form("room-transfer", {"room_id": room_id, **body})
        if isinstance(claim, Replay):
            return
        record = transfers.transfer(
            session(),
            org_id=principal().org_id,
            room_id=room_id,
            data=load_form(_TRANSFER, body),
        )
        finish_form(claim, created_id=record.id)

    return _act(room_id, "transfer", sent, action)


@bp.post("/rooms/<int:room_id>/households/<int:household_id>/members")
@desk_page
def residency_add_member(room_id: int, household_id: int) -> Any:
    form = request.form
    sent = form.to_dict()
    key = f"member-{household_id}"

    def action() -> None:
        body: dict[str, Any] = {"label": form.get("label", ""), **_who(form)}
        if form.get("start_date"):
            body["start_date"] = form.get("start_date")
        claim = claim_form("household-member", {"household_id": household_id, **body})
        if isinstance(claim, Replay):
            return
        member = households.add_member(
            session(),
            org_id=principal().org_id,
            household_id=household_id,
            data=load_form(_MEMBER, body),
        )
        finish_form(claim, created_id=member.id)

    return _act(room_id, key, sent, action)


@bp.post("/rooms/<int:room_id>/members/<int:member_id>/end")
@desk_page
def residency_end_member(room_id: int, member_id: int) -> Any:
    sent = request.form.to_dict()

    def action() -> None:
        data = load_form(_END, {"end_date": sent.get("end_date", "")})
        households.end_member(
            session(), org_id=principal().org_id, member_id=member_id, end_date=data["end_date"]
        )

    return _act(room_id, f"end-{member_id}", sent, action)


@bp.post("/rooms/<int:room_id>/payer")
@desk_page
def residency_payer(room_id: int) -> Any:
    sent = request.form.to_dict()

    def action() -> None:
        raw = sent.get("customer_id", "")
        data = load_form(
            _PAYER,
            {
                "customer_id": int(raw) if raw.isdigit() and len(raw) < 12 else -1,
                "start_date": sent.get("start_date", ""),
            },
        )
        payers.set_payer(
            session(),
            org_id=principal().org_id,
            room_id=room_id,
            customer_id=data["customer_id"],
            start_date=data["start_date"],
        )

    return _act(room_id, "payer", sent, action)


@bp.get("/customers/<int:customer_id>")
@desk_page
def residency_customer(customer_id: int) -> Any:
    org_id, day = principal().org_id, today()
    try:
        rooms = details.customer_rooms(session(), org_id=org_id, customer_id=customer_id, today=day)
    except NotFound as exc:
        return page("console/error.html", status=404, title="客户不存在", message=exc.message)
    dumped = _CUSTOMER_ROOMS.dump(rooms)
    family = []
    for item in dumped["items"]:
        if item["household_id"] is None and item["relation"] in ("owner", "tenant"):
            for member in households.members_of(session(), household_id=item["id"]):
                family.append(
                    {
                        "room": item["room"],
                        "name": member.customer.name,
                        "customer_id": member.customer_id,
                        "label": member.household_label,
                        "start_date": member.start_date.isoformat(),
                        "end_date": member.end_date.isoformat() if member.end_date else None,
                    }
                )
    return page(
        "console/residency_customer.html",
        customer=_CUSTOMER.dump(rooms.customer),
        relations=dumped["items"],
        family=family,
        relation_labels=RELATION_LABELS,
        nav="residency",
    )


def _reshape_view(*, refused: dict[str, Refusal], sent: dict[str, Any]) -> Any:
    return page(
        "console/residency_reshape.html",
        refused=refused,
        sent=sent,
        lines=_lines,
        today=today().isoformat(),
        nav="residency",
    )


@bp.get("/residency/reshape")
@desk_page
def residency_reshape() -> Any:
    return _reshape_view(refused={}, sent={})


def _room_by_code(code: str, field: str) -> int:
    code = code.strip()
    found = places.list_rooms(
        session(),
        org_id=principal().org_id,
        community_id=None,
        building_id=None,
        unit_id=None,
        q=code[:50] or None,
        page=1,
        page_size=50,
    )
    exact = [room for room in found.items if room.code == code]
    if len(exact) == 1:
        return exact[0].id
    if not exact:
        raise ValidationFailed.field(field, f"没有房号为“{code}”的房间")
    raise ValidationFailed.field(field, f"多个小区有房号“{code}”，请用全能搜索打开房间")


def _reshape(key: str, action: Any) -> Any:
    sent = request.form.to_dict()
    try:
        target = action(sent)
    except ValidationError as exc:
        discard_changes()
        return _reshape_view(refused={key: invalid(exc)}, sent={key: sent})
    except DomainError as exc:
        discard_changes()
        return _reshape_view(refused={key: refusal_of(exc)}, sent={key: sent})
    return redirect(f"/console/rooms/{target}", code=303)


def _parts(text: str) -> list[dict[str, Any]]:
    """One new room a line: `房号` or `房号 面积`."""
    parts = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        part: dict[str, Any] = {"code": words[0]}
        if len(words) > 1:
            part["building_area"] = words[1]
        parts.append(part)
    return parts


@bp.post("/residency/splits")
@desk_page
def residency_split() -> Any:
    def action(sent: dict[str, Any]) -> int:
        body = {
            "room_id": _room_by_code(sent.get("room_code", ""), "room_id"),
            "date": sent.get("date", ""),
            "rooms": _parts(sent.get("parts", "")),
        }
        edges = reshaping.split_room(
            session(), org_id=principal().org_id, data=load_form(_SPLIT, body)
        )
        return edges[0].from_room_id

    return _reshape("split", action)


@bp.post("/residency/merges")
@desk_page
def residency_merge() -> Any:
    def action(sent: dict[str, Any]) -> int:
        codes = [c for c in re.split(r"[\s,，、]+", sent.get("room_codes", "")) if c]
        body = {
            "room_ids": [_room_by_code(code, "room_ids") for code in codes],
            "date": sent.get("date", ""),
            "room": {"code": sent.get("code", "")},
        }
        edges = reshaping.merge_rooms(
            session(), org_id=principal().org_id, data=load_form(_MERGE, body)
        )
        return edges[0].to_room_id

    return _reshape("merge", action)


def _report_args() -> tuple[dict[str, Any], str]:
    day = today()
    raw = {
        "from": request.args.get("from") or (day - timedelta(days=29)).isoformat(),
        "to": request.args.get("to") or day.isoformat(),
        "bucket": request.args.get("bucket") or "day",
    }
    if request.args.get("community_id", "").isdigit():
        raw["community_id"] = request.args["community_id"]
    try:
        return _REPORT_ARGS.load(raw), ""
    except ValidationError:
        fallback = {"from": (day - timedelta(days=29)).isoformat(), "to": day.isoformat()}
        return _REPORT_ARGS.load(fallback), "筛选条件有误，已显示最近 30 天"


@bp.get("/residency")
@desk_page
def residency_report() -> Any:
    args, problem = _report_args()
    answer = _run_report(args)
    communities = places.list_communities(
        session(), org_id=principal().org_id, q=None, page=1, page_size=100
    ).items
    return page(
        "console/residency_report.html",
        report=_REPORT.dump(answer),
        args=args,
        problem=problem,
        communities=[{"id": c.id, "name": c.name} for c in communities],
        query=request.query_string.decode("latin-1"),
        nav="residency",
    )


def _run_report(args: dict[str, Any]) -> report.Report:
    return report.customer_service(
        session(),
        org_id=principal().org_id,
        date_from=args["date_from"],
        date_to=args["date_to"],
        community_id=args.get("community_id"),
        bucket=args["bucket"],
        today=today(),
    )


@bp.get("/residency/report.csv")
@desk_page
def residency_report_csv() -> Any:
    args, _ = _report_args()
    answer = _run_report(args)
    headers, rows = report.report_table(answer)
    body = b"".join(order_export.csv_chunks(rows, headers=headers))
    response = Response(body, mimetype=order_export.CSV_MEDIA_TYPE)
    name = f"customer-service-{answer.date_from:%Y%m%d}-{answer.date_to:%Y%m%d}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
