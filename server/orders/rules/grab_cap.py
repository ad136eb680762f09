"""The grab cap (抢单数上限): how many orders a technician may hold at once."""

from __future__ import annotations

from server.kernel.values import DEFAULT_GRAB_CAP, MAX_GRAB_CAP

__all__ = ["DEFAULT_GRAB_CAP", "MAX_GRAB_CAP", "effective_grab_cap"]


def effective_grab_cap(
    *, organisation_default: int, department_default: int | None, technician_override: int | None
) -> int:
    """The most specific setting wins: technician, then department, then organisation."""
    if technician_override is not None:
        return technician_override
    if department_default is not None:
        return department_default
    return organisation_default
