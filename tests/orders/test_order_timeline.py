"""The order timeline is history: the database refuses to rewrite or delete it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError


def test_events_cannot_be_changed_or_deleted(client, world, db_session):
    order_id = world.file(client)["id"]
    event_id = db_session.execute(
        text("SELECT id FROM order_events WHERE order_id = :id"), {"id": order_id}
    ).scalar_one()
    for statement in (
        "UPDATE order_events SET reason = 'rewritten' WHERE id = :id",
        "DELETE FROM order_events WHERE id = :id",
    ):
        nested = db_session.begin_nested()
        with pytest.raises(IntegrityError, match="immutable"):
            db_session.execute(text(statement), {"id": event_id})
        nested.rollback()
