"""What each event tells whom: the one table from order events, messages and money to
notifications, applied just before the transaction that caused them commits.

The areas only record what happened (`server.db.session.record_domain_event`); this module
listens on every session's `before_commit` and writes the notifications in that same
transaction, so a rolled-back grab (or a rolled-back savepoint) notifies no one, and the
notified state is the one being committed (the final assignee, the final amount).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from server.db.session import forget_dead_domain_events, take_domain_events
from server.kernel.money import fen_to_yuan_text
from server.kernel.roles import Role
from server.notifications.send import (
    OrderFacts,
    desk_users,
    eligible_technicians,
    notify,
    order_facts,
    staff_user,
)

log = logging.getLogger(__name__)

POOL = "pending"
LOW_SCORE = 2
# Order actions that put an order (back) into the grab pool: its technicians hear of it.
TO_POOL = frozenset({"file", "payment_received", "reject", "reopen"})


def _technician_name(order: OrderFacts) -> str:
    name = order.assignee_name
    if not name:
        return "师傅"
    return name if name.endswith("师傅") else f"{name}师傅"


def _order_event(session: Session, e: dict[str, Any]) -> None:
    order = order_facts(session, e["order_id"])
    if order is None:
        return
    action, now, org_id = e["action"], e["now"], e["org_id"]
    send = _sender(session, org_id=org_id, order=order, now=now)
    if action in TO_POOL and order.status == POOL:
        send("pool_order", eligible_technicians(session, order=order))
    if action == "reject":
        send("order_rejected", desk_users(session, org_id=org_id), reason=e["reason"])
    if action in ("grab", "accept"):
        send("order_taken", [order.reporter_user_id], technician=_technician_name(order))
    if action == "assign" or action == "reopen_to_assignee":
        send("order_assigned", staff_user(session, order.assignee_id))
    if action == "transfer":
        send("order_transferred", staff_user(session, order.assignee_id))
    if action == "complete":
        hint = f"，待支付 {fen_to_yuan_text(order.payable_fen)} 元" if order.payable_fen else ""
        send("order_completed", [order.reporter_user_id], pay_hint=hint)
    if action == "rate":
        score = int(e["data"].get("score", 5))
        if score <= LOW_SCORE:
            send(
                "low_rating",
                desk_users(session, org_id=org_id),
                score=score,
                comment=e["reason"] or "（无）",
            )


def _sender(session: Session, *, org_id: int, order: OrderFacts, now: datetime) -> Any:
    def send(kind: str, user_ids: list[int], **data: Any) -> None:
        if user_ids:
            notify(
                session,
                org_id=org_id,
                kind=kind,
                user_ids=user_ids,
                now=now,
                order_id=order.id,
                data=data,
                order=order,
            )

    return send


def _message(session: Session, e: dict[str, Any]) -> None:
    order = order_facts(session, e["order_id"])
    if order is None:
        return
    send = _sender(session, org_id=e["org_id"], order=order, now=e["now"])
    text = str(e["text"])[:60]
    if e["actor_role"] == Role.TENANT.value:
        holder = staff_user(session, order.assignee_id)
        send("tenant_message", holder or desk_users(session, org_id=e["org_id"]), text=text)
    else:
        send("desk_reply", [order.reporter_user_id], text=text)


def _money(session: Session, name: str, e: dict[str, Any]) -> None:
    order = order_facts(session, e["order_id"])
    if order is None:
        return
    users = {order.reporter_user_id, e.get("payer_user_id") or order.reporter_user_id}
    send = _sender(session, org_id=e["org_id"], order=order, now=e["now"])
    send(name, sorted(users), amount=f"{fen_to_yuan_text(int(e['amount_fen']))} 元")


HANDLERS = {
    "order_event": _order_event,
    "order_message": _message,
}


def dispatch(session: Session) -> None:
    """Turn the transaction's events into notifications (events raised meanwhile too)."""
    for _ in range(3):  # notifying records no events; a bound all the same
        events = take_domain_events(session)
        if not events:
            return
        for name, data in events:
            if name in HANDLERS:
                HANDLERS[name](session, data)
            elif name in ("payment_received", "refund_done"):
                _money(session, name, data)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    dispatch(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    forget_dead_domain_events(session)
