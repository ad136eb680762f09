"""What makes a staff member an active technician: the one definition.

Only an active login that carries the technician role takes orders (grab, assign, transfer,
reopen to them) and counts in the staff load view; on-duty is a scheduling hint, not a gate.
The SQL spelling is `staff.technicians.active_technician`, kept in step by a test.
"""

from __future__ import annotations

from collections.abc import Collection

from server.kernel.roles import Role


def is_active_technician(*, user_active: bool, roles: Collection[str]) -> bool:
    return bool(user_active) and Role.TECHNICIAN.value in roles
