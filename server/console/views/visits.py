"""回访: the return-visit queue (due first, oldest first) and recording the call once."""

from __future__ import annotations

from typing import Any

from flask import redirect, request
from marshmallow import ValidationError

from schemas.visits import (
    ReturnVisitPageSchema,
    VisitOutcomeSchema,
    VisitQueryArgsSchema,
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
from server.kernel.errors import DomainError
from server.kernel.roles import Role
from server.orders.actors import Actor
from server.visits import desk
from server.visits.rules import DUE, STATUSES
from server.web.context import now, principal, session

PAGE_SIZE = 20
STATUS_LABELS = {DUE: "待回访", "done": "已回访"}

_PAGE = ReturnVisitPageSchema()
_ARGS = VisitQueryArgsSchema()
_OUTCOME = VisitOutcomeSchema()


def _actor() -> Actor:
    caller = principal()
    role = Role.DISPATCHER.value if Role.DISPATCHER.value in caller.roles else Role.ADMIN.value
    return Actor(user_id=caller.user_id, org_id=caller.org_id, role=role)


def _args() -> dict[str, Any]:
    args = query_args(_ARGS)
    # The queue opens on what is due; all of them is asked for explicitly (status= or all).
    if "status" not in request.args:
        args["status"] = DUE
    return args


def _render(
    *, refused: dict[int, Refusal] | None = None, sent: dict[int, dict[str, str]] | None = None
) -> Any:
    args = _args()
    listing = _PAGE.dump(
        desk.list_visits(
            session(),
            org_id=principal().org_id,
            status=args.get("status"),
            order_id=args.get("order_id"),
            page=args["page"],
            page_size=PAGE_SIZE,
        )
    )
    return page(
        "console/visits.html",
        listing=listing,
        args=args,
        statuses=[(s, STATUS_LABELS[s]) for s in STATUSES],
        refused=refused or {},
        sent=sent or {},
        query=request.query_string.decode("latin-1"),
        # "All" is an explicit choice (the queue opens on what is due): keep it across pages.
        page_url=page_url_for("/console/visits", {**args, "status": args.get("status") or "all"}),
        nav="visits",
    )


@bp.get("/visits")
@desk_page
def visits() -> Any:
    return _render()


def _back() -> str:
    """Back to the list as it was: the form's action carries the list's query string."""
    query = request.query_string.decode("latin-1")
    return f"/console/visits?{query}" if query else "/console/visits"


def _outcome_form() -> dict[str, Any]:
    form = request.form
    raw: dict[str, Any] = {"notes": form.get("notes", "")}
    reached = form.get("reached", "")
    if reached in ("yes", "no"):
        raw["reached"] = reached == "yes"
    satisfied = form.get("satisfied", "")
    raw["satisfied"] = {"yes": True, "no": False}.get(satisfied)
    raw["reopen"] = form.get("reopen") == "1"
    return raw


@bp.post("/visits/<int:visit_id>/outcome")
@desk_page
def record_outcome(visit_id: int) -> Any:
    sent = {k: request.form.get(k, "") for k in ("reached", "satisfied", "notes", "reopen")}
    try:
        data = load_form(_OUTCOME, _outcome_form())
        desk.record_outcome(
            session(),
            actor=_actor(),
            visit_id=visit_id,
            reached=data["reached"],
            satisfied=data["satisfied"],
            notes=data["notes"],
            reopen=data["reopen"],
            now=now(),
        )
    except ValidationError as exc:
        discard_changes()
        return _render(refused={visit_id: invalid(exc)}, sent={visit_id: sent})
    except DomainError as exc:
        discard_changes()
        return _render(refused={visit_id: refusal_of(exc)}, sent={visit_id: sent})
    return redirect(_back(), code=303)
