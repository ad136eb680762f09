"""投诉建议: the list (filters in the URL) and one complaint: the thread with the tenant,
classify, assign, reply, close.

What the desk sees is the desk schema's (the complainant's phone masked); the technician
named never sees who complained: technicians have no console and no complaint endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, request
from marshmallow import ValidationError

from schemas.complaints import (
    ComplaintAssignSchema,
    ComplaintClassifySchema,
    ComplaintReplyCreateSchema,
    DeskComplaintDetailSchema,
    DeskComplaintPageSchema,
    DeskComplaintQueryArgsSchema,
)
from schemas.staff import DepartmentBriefSchema, StaffListItemSchema
from server.complaints import desk
from server.complaints.rules import (
    KIND_LABELS,
    KINDS,
    SEVERITIES,
    SEVERITY_LABELS,
    STATUS_LABELS,
    STATUSES,
)
from server.console.blueprint import bp
from server.console.views._service import (
    Refusal,
    invalid,
    load_form,
    page_url_for,
    query_args,
    refusal_of,
)
from server.console.web import desk_page, discard_changes, page
from server.dictionary import items as dictionary
from server.kernel.errors import DomainError, NotFound
from server.staff import members, structure
from server.web.context import now, principal, session

PAGE_SIZE = 20
# The assign menu lists this many departments and active staff (a property office has fewer).
PICK_LIMIT = 200

_PAGE = DeskComplaintPageSchema()
_DETAIL = DeskComplaintDetailSchema()
_ARGS = DeskComplaintQueryArgsSchema()
_CLASSIFY = ComplaintClassifySchema()
_ASSIGN = ComplaintAssignSchema()
_REPLY = ComplaintReplyCreateSchema()
_DEPARTMENTS = DepartmentBriefSchema(many=True)
_STAFF = StaffListItemSchema(many=True, only=("id", "name", "department", "roles"))


def _choices() -> dict[str, Any]:
    return {
        "statuses": [(s, STATUS_LABELS[s]) for s in STATUSES],
        "kinds": [(k, KIND_LABELS[k]) for k in KINDS],
        # The organisation's names and order (数据字典 complaint_categories).
        "categories": dictionary.choices(
            session(), org_id=principal().org_id, name="complaint_categories"
        ),
        "severities": [(s, SEVERITY_LABELS[s]) for s in SEVERITIES],
    }


def _relabel(complaints: list[dict[str, Any]]) -> None:
    """Categories as the organisation names them (数据字典 complaint_categories)."""
    labels = dictionary.labels(session(), org_id=principal().org_id, name="complaint_categories")
    for c in complaints:
        if c.get("category"):
            c["category_label"] = labels.get(c["category"], c.get("category_label"))


@bp.get("/complaints")
@desk_page
def complaints() -> Any:
    args = query_args(_ARGS, lists=("status",))
    listing = _PAGE.dump(
        desk.desk_complaints(
            session(),
            org_id=principal().org_id,
            filters=desk.ComplaintFilters(
                statuses=args.get("status"),
                kind=args.get("kind"),
                category=args.get("category"),
                severity=args.get("severity"),
            ),
            page=args["page"],
            page_size=PAGE_SIZE,
        )
    )
    _relabel(listing["items"])
    return page(
        "console/complaints.html",
        listing=listing,
        args=args,
        page_url=page_url_for("/console/complaints", args),
        nav="complaints",
        **_choices(),
    )


def _detail(
    complaint_id: int,
    *,
    refused: dict[str, Refusal] | None = None,
    sent: dict[str, str] | None = None,
) -> Any:
    org_id = principal().org_id
    current = session()
    try:
        found = _DETAIL.dump(desk.desk_detail(current, org_id=org_id, complaint_id=complaint_id))
        _relabel([found])
    except NotFound as exc:
        return page(
            "console/error.html",
            status=404,
            title="投诉建议不存在",
            message=exc.message,
            nav="complaints",
        )
    departments = _DEPARTMENTS.dump(
        structure.list_departments(
            current, org_id=org_id, q=None, page=1, page_size=PICK_LIMIT
        ).items
    )
    staff = _STAFF.dump(
        members.list_staff(
            current, org_id=org_id, is_active=True, page=1, page_size=PICK_LIMIT
        ).items
    )
    return page(
        "console/complaint.html",
        c=found,
        departments=departments,
        staff=staff,
        refused=refused or {},
        sent=sent or {},
        nav="complaints",
        **_choices(),
    )


@bp.get("/complaints/<int:complaint_id>")
@desk_page
def complaint(complaint_id: int) -> Any:
    return _detail(complaint_id)


def _act(complaint_id: int, action: str, run: Callable[[], object]) -> Any:
    """Run one desk action; PRG on success, the page with the refusal beside the button."""
    try:
        run()
    except ValidationError as exc:
        discard_changes()
        return _detail(complaint_id, refused={action: invalid(exc)}, sent=dict(request.form))
    except DomainError as exc:
        discard_changes()
        return _detail(complaint_id, refused={action: refusal_of(exc)}, sent=dict(request.form))
    return redirect(f"/console/complaints/{complaint_id}#{action}", code=303)


@bp.post("/complaints/<int:complaint_id>/classify")
@desk_page
def classify(complaint_id: int) -> Any:
    def run() -> object:
        raw = {k: request.form[k] for k in ("category", "severity") if request.form.get(k)}
        data = load_form(_CLASSIFY, raw)
        return desk.classify(
            session(),
            org_id=principal().org_id,
            complaint_id=complaint_id,
            category=data.get("category"),
            severity=data.get("severity"),
            now=now(),
        )

    return _act(complaint_id, "classify", run)


@bp.post("/complaints/<int:complaint_id>/assign")
@desk_page
def assign(complaint_id: int) -> Any:
    def run() -> object:
        # One menu, two kinds of choice: "d:<department id>" or "s:<staff id>".
        kind, _, ident = request.form.get("assignee", "").partition(":")
        raw: dict[str, Any] = {"department_id": None, "staff_id": None}
        if ident.isdigit() and kind in ("d", "s"):
            raw["department_id" if kind == "d" else "staff_id"] = int(ident)
        data = load_form(_ASSIGN, raw)
        return desk.assign(
            session(),
            org_id=principal().org_id,
            complaint_id=complaint_id,
            department_id=data["department_id"],
            staff_id=data["staff_id"],
            now=now(),
        )

    return _act(complaint_id, "assign", run)


@bp.post("/complaints/<int:complaint_id>/reply")
@desk_page
def reply(complaint_id: int) -> Any:
    def run() -> object:
        data = load_form(_REPLY, {"text": request.form.get("text", "")})
        caller = principal()
        return desk.desk_reply(
            session(),
            org_id=caller.org_id,
            user_id=caller.user_id,
            complaint_id=complaint_id,
            text=data["text"],
            now=now(),
        )

    return _act(complaint_id, "reply", run)


@bp.post("/complaints/<int:complaint_id>/close")
@desk_page
def close(complaint_id: int) -> Any:
    def run() -> object:
        caller = principal()
        return desk.close(
            session(),
            org_id=caller.org_id,
            user_id=caller.user_id,
            complaint_id=complaint_id,
            now=now(),
        )

    return _act(complaint_id, "close", run)
