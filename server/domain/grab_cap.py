"""The grab cap (抢单数上限): how many orders a technician may hold at once."""

from __future__ import annotations

DEFAULT_GRAB_CAP = 5
MAX_GRAB_CAP = 100


def effective_grab_cap(
    *, organisation_default: int, department_default: int | None, technician_override: int | None
) -> int:
    """The most specific setting wins: technician, then department, then organisation."""
    if technician_override is not None:
        return technician_override
    if department_default is not None:
        return department_default
    return organisation_default
