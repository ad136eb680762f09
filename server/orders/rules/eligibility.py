"""Which technicians an order type reaches.

An order type (一级) is bound to a department and/or a post, never to people, so that staff
turnover needs no reconfiguration. A technician qualifies when they match every binding the
type sets; a type bound to nothing is open to every technician of the organisation.
"""

from __future__ import annotations


def is_eligible(
    *,
    type_department_id: int | None,
    type_post_id: int | None,
    staff_department_id: int | None,
    staff_post_id: int | None,
) -> bool:
    if type_department_id is not None and type_department_id != staff_department_id:
        return False
    return not (type_post_id is not None and type_post_id != staff_post_id)
