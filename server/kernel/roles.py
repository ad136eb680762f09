"""Who may do what: the roles a login carries."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TENANT = "tenant"
    TECHNICIAN = "technician"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.TECHNICIAN, Role.DISPATCHER, Role.ADMIN})
# The console is for the desk: dispatchers run it, admins also set the organisation up.
CONSOLE_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})
