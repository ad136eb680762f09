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
    # Asked on every ORM statement (the data scope's listener): made once per caller.
    cached = g.get("grant")
    if cached is None or cached[0] is not caller:
        cached = (caller, Grant(caller.permissions, caller.communities))
        g.grant = cached
    grant: Grant = cached[1]
    return grant


def attach_request_grant(db: Database) -> None:
    """Every unit of work of this process can ask what its request's caller may do."""
    db.session_info[GRANT] = request_grant
