"""Who may fetch an upload: its owner, whoever may see the order it is attached to, the desk.

- a tenant: their own uploads, and the photos (report, completion, message) of orders they
  may see (`orders.lists.tenant_order`);
- a technician: their own uploads, and the photos of orders they may see (`orders.pool.
  technician_order`: the orders they hold or held, and the pending ones of their pool);
- the desk (dispatcher, admin): any upload of the organisation;
- a notice's images (通知公告, 公告板): whoever the notice reached (its recipients: the tenants
  of its rooms, the staff of its departments), while they may see it (`notices.reading.
  received`: published and not expired);
- a complaint's photos: their owner and the desk only (the two cases above).
Anything else is 404, never 403: whether an upload exists is itself not given away.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.auth import active_user
from server.accounts.tokens import Principal
from server.db.scoping import find_owned
from server.kernel.clock import local_date
from server.kernel.errors import NotFound
from server.kernel.roles import CONSOLE_ROLES, Role
from server.notices.reading import received
from server.orders.capacity import technician
from server.orders.lists import tenant_order
from server.orders.models import OrderMessage
from server.orders.pool import technician_order
from server.uploads.files import UPLOAD_ID
from server.uploads.models import Upload

NOT_FOUND = "图片不存在"


def visible_upload(session: Session, *, viewer: Principal, upload_id: str, now: datetime) -> Upload:
    """The upload if `viewer` may see it; 404 for anything else (no leaks)."""
    upload = (
        find_owned(session, Upload, upload_id, org_id=viewer.org_id)
        if UPLOAD_ID.fullmatch(upload_id)
        else None
    )
    if upload is None:
        raise NotFound(NOT_FOUND)
    if upload.owner_user_id == viewer.user_id or viewer.has_any(frozenset(CONSOLE_ROLES)):
        return upload
    order_id = _order_of(session, upload)
    if order_id is not None and _may_see_order(session, viewer=viewer, order_id=order_id, now=now):
        return upload
    if upload.notice_id is not None and _may_see_notice(
        session, viewer=viewer, notice_id=upload.notice_id, now=now
    ):
        return upload
    raise NotFound(NOT_FOUND)


def _may_see_notice(session: Session, *, viewer: Principal, notice_id: int, now: datetime) -> bool:
    """Whether the notice reached the viewer (its recipients row) and is still theirs to see."""
    return received(
        session, user_id=viewer.user_id, org_id=viewer.org_id, notice_id=notice_id, now=now
    )


def _order_of(session: Session, upload: Upload) -> int | None:
    """The order an upload is attached to: directly, or through the message it came with."""
    if upload.order_id is not None:
        return upload.order_id
    if upload.message_id is not None:
        return session.scalar(
            select(OrderMessage.order_id).where(
                OrderMessage.id == upload.message_id, OrderMessage.org_id == upload.org_id
            )
        )
    return None


def _may_see_order(session: Session, *, viewer: Principal, order_id: int, now: datetime) -> bool:
    """Whether the order is visible to the viewer in any role they have (the orders' own rules)."""
    if Role.TECHNICIAN.value in viewer.roles and viewer.staff_id is not None:
        tech = technician(session, org_id=viewer.org_id, staff_id=viewer.staff_id)
        if tech is not None:
            try:
                technician_order(session, tech=tech, order_id=order_id)
                return True
            except NotFound:
                pass
    if Role.TENANT.value in viewer.roles:
        user = active_user(session, user_id=viewer.user_id, org_id=viewer.org_id)
        try:
            tenant_order(session, user=user, order_id=order_id, today=local_date(now))
            return True
        except NotFound:
            pass
    return False
