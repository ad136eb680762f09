"""The request's side of the permission checks: the caller's grant, handed to the use cases
through the session's info (`server.roles.grants.GRANT`); they never import Flask."""

from __future__ import annotations

from flask import g, has_request_context

from server.db.session import Database
from server.roles.grants import GRANT
from server.roles.rules import Grant


def request_grant() -> Grant | None:
    """The signed-in caller's permissions and data scope; None outside a request or before
    sign-in (jobs, the command line, the sign-in itself act for the system)."""
    if not has_request_context():
        return None
    caller = g.get("principal")
    if caller is None:
        return None
    return Grant(caller.permissions, caller.communities)


def attach_request_grant(db: Database) -> None:
    """Every unit of work of this process can ask what its request's caller may do."""
    db.session_info[GRANT] = request_grant
