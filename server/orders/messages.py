"""The conversation on an order between the tenant and the desk or technician."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from server.accounts.models import User
from server.db.session import record_domain_event
from server.kernel.errors import InvalidTransition
from server.orders.actors import Actor
from server.orders.lists import require_tenant_access
from server.orders.models import Order, OrderMessage
from server.orders.rules.states import Status
from server.uploads.files import attachable_uploads

# A conversation stays open a while after the job ends (questions about the bill, the result).
_CLOSED_TO_MESSAGES = frozenset({Status.CANCELLED.value})


def post_message(
    session: Session,
    *,
    actor: Actor,
    order: Order,
    text: str,
    image_ids: list[str],
    now: datetime,
) -> OrderMessage:
    """Add a message (with optional photos) to the order's conversation.

    A tenant may write only on an order they may see (404 otherwise); staff callers check
    their own reach (the desk: the organisation; a technician: theirs or their pool).
    """
    require_tenant_access(session, actor=actor, order_id=order.id, now=now)
    if order.status in _CLOSED_TO_MESSAGES:
        raise InvalidTransition("已取消的工单不能再留言")
    images = attachable_uploads(
        session, org_id=actor.org_id, user_id=actor.user_id, upload_ids=image_ids
    )
    author = session.get(User, actor.user_id)
    assert author is not None
    message = OrderMessage(
        org_id=order.org_id,
        order_id=order.id,
        author_user_id=actor.user_id,
        author_role=actor.role,
        author_name=author.name,
        text=text,
        created_at=now,
    )
    session.add(message)
    session.flush()
    for upload in images:
        upload.message_id, upload.purpose = message.id, "message"
    record_domain_event(
        session,
        "order_message",
        org_id=order.org_id,
        order_id=order.id,
        actor_user_id=actor.user_id,
        actor_role=actor.role,
        text=text,
        now=now,
    )
    return message
