"""Active technicians: the rule in Python (`rules.py`) and its SQL spelling side by side."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from server.accounts.models import User
from server.kernel.roles import Role
from server.staff.rules import is_active_technician

__all__ = ["active_login", "active_technician", "active_with_role", "is_active_technician"]


def active_technician() -> ColumnElement[bool]:
    """`rules.is_active_technician` on `users` rows (join the staff member's user)."""
    return active_with_role(Role.TECHNICIAN)


def active_with_role(role: Role) -> ColumnElement[bool]:
    """An active login carrying `role` (technicians above; dispatchers and admins for the
    desk's notifications)."""
    return and_(active_login(), User.roles.contains([role.value]))


def active_login() -> ColumnElement[bool]:
    """A login that may act (not deactivated), whatever its roles: a department's lead."""
    return User.is_active.is_(True)
