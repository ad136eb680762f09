"""工作台: the dispatcher's queues with exact counts, one open, refreshing by itself."""

from __future__ import annotations

from typing import Any

from flask import redirect, request

from schemas.workbench import WorkbenchOrderPageSchema
from server.complaints import figures as complaint_figures
from server.console.blueprint import bp, local
from server.console.web import SCREENS, desk_page, is_htmx, may_open, page
from server.web.context import now, principal, session
from server.workbench import queues
from server.workbench.rules import COMPLAINTS_LABEL, QUEUE_LABELS, QUEUES

# The workbench asks for fresh counts this often (seconds): a new order appears unasked.
REFRESH_SECONDS = 15
PAGE_SIZE = 20

_QUEUE_PAGE = WorkbenchOrderPageSchema()


@bp.get("/")
@desk_page
def home() -> Any:
    """The first screen the caller's roles open (the workbench, for the desk)."""
    for path in ("/console/workbench", "/console/search", "/console/dashboard", "/console/notices"):
        if may_open(path):
            return redirect(path)
    first = next((f"/console{s[0]}" for s in SCREENS if may_open(f"/console{s[0]}")), None)
    return redirect(first or "/console/roles")


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 10_000 else 1


@bp.get("/workbench")
@desk_page
def workbench() -> Any:
    org_id = principal().org_id
    chosen = request.args.get("queue", "")
    chosen = chosen if chosen in QUEUES else QUEUES[0]
    current = session()
    board = {
        "queues": queues.queue_counts(current, org_id=org_id, now=now()),
        "complaints": {
            "label": COMPLAINTS_LABEL,
            "total": complaint_figures.open_count(current, org_id=org_id),
        },
    }
    listing = _QUEUE_PAGE.dump(
        queues.queue_page(
            current,
            org_id=org_id,
            name=chosen,
            now=now(),
            page=_page_number(),
            page_size=PAGE_SIZE,
        )
    )
    template = "console/workbench_live.html" if is_htmx() else "console/workbench.html"
    return page(
        template,
        board=board,
        chosen=chosen,
        chosen_label=QUEUE_LABELS[chosen],
        listing=listing,
        refresh_seconds=REFRESH_SECONDS,
        now_local=local(now(), "%H:%M:%S"),
        page_url=lambda n: f"/console/workbench?queue={chosen}&page={n}",
        nav="workbench",
    )
