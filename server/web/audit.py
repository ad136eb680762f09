"""The request's side of the audit log: where a request came from, handed to the use cases
through the session's info (they never import Flask), and rows that must be written in a
transaction of their own (a refused login, an export from a read-only view)."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request

from server.audit import log as audit_log
from server.db.session import Database
from server.web.context import container
from server.web.throttle import client_address


def request_origin() -> audit_log.Origin | None:
    """The current request's client and caller; None outside a request (jobs, the CLI)."""
    if not has_request_context():
        return None
    caller = g.get("principal")
    try:
        address = client_address()
    except Exception:  # no settings outside the app (never in a real request)
        address = request.remote_addr or ""
    return audit_log.Origin(
        address=address,
        user_agent=request.headers.get("User-Agent", ""),
        user_id=getattr(caller, "user_id", None),
        roles=frozenset(getattr(caller, "roles", ()) or ()),
    )


def attach_request_origin(db: Database) -> None:
    """Every unit of work of this process can ask who its request came from."""
    db.session_info[audit_log.ORIGIN] = request_origin


def record_now(**entry: Any) -> None:
    """Write one audit row in a transaction of its own, committed at once (an export answered
    by a read-only view, a refused login whose request rolls back)."""
    with container().db.transaction() as unit:
        audit_log.record(unit.session, **entry)


def record_refused_login(session: Any, **details: Any) -> None:
    """A refused login, written in the request's own transaction, which then commits although
    the answer is an error (the refusal wrote nothing else: the check only reads)."""
    audit_log.record_login_failure(session, **details)
    g.keep_changes = True


def record_export(
    what: str,
    *,
    fmt: str,
    rows: int | None = None,
    target_type: str = "export",
    target_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """An export of personal data by the signed-in desk, in a transaction of its own: export
    views read only (autocommit), and the file is the outcome, whatever happens to the rest."""
    caller = g.principal
    details = {"what": what, "format": fmt, **({"rows": rows} if rows is not None else {})}
    record_now(
        org_id=caller.org_id,
        at=g.now,
        kind="export",
        summary=f"导出{what}（{fmt.upper()}" + (f"，{rows} 行）" if rows is not None else "）"),
        actor_user_id=caller.user_id,
        target_type=target_type,
        target_id=target_id,
        data={**details, **(data or {})},
    )
