"""The notifications area's outbox handler. Registered on import (by `server.outbox.registry`)."""

from __future__ import annotations

import server.notifications.events  # noqa: F401  (its listener writes the notifications)
from server.config import Settings
from server.jobs import DELIVER_NOTIFICATIONS
from server.notifications import delivery
from server.outbox.registry import Delivery, register_external_handler


def deliver(item: Delivery) -> None:
    db = item.db
    assert db is not None, "external handlers are delivered with the process's database"
    settings = db.session_info.get("settings")
    assert isinstance(settings, Settings), "the process must put its settings in db.session_info"
    delivery.deliver(
        db,
        settings,
        notification_ids=[int(i) for i in item.kwargs["notification_ids"]],
        now=item.now,
    )


register_external_handler(DELIVER_NOTIFICATIONS, deliver)
