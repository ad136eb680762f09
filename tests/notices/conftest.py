"""Notices through the HTTP API; the background fan-out delivered in-process, as a worker would."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.outbox import delivery
from server.outbox.models import OutboxItem
from server.outbox.rules import Status

ADMIN = "/api/v1/admin/notices"
TENANT = "/api/v1/tenant/notices"
TECH = "/api/v1/tech/notices"


def fan_out(app: Flask, *, rounds: int = 5) -> list[str]:
    """Deliver every pending notices.* outbox item (the fan-out and its parts), until none."""
    db = app.extensions["baoxiu"].db
    outcomes: list[str] = []
    for _ in range(rounds):
        with db.transaction() as uow:
            due = list(
                uow.session.execute(
                    select(OutboxItem.id, OutboxItem.job)
                    .where(
                        OutboxItem.status == Status.PENDING.value,
                        OutboxItem.job.like("notices.%"),
                    )
                    .order_by(OutboxItem.id)
                )
            )
        if not due:
            break
        for outbox_id, job in due:
            outcomes.append(f"{job}:{delivery.deliver(db, outbox_id=outbox_id, job=job).value}")
    return outcomes


class Board:
    """Helpers over a world: publish as the desk, read as anyone."""

    def __init__(self, app: Flask, client: Any, world: Any) -> None:
        self.app, self.client, self.world = app, client, world
        self.desk = world.headers(world.dispatcher)

    def publish(self, expect: int = 201, fan: bool = True, **body: Any) -> Any:
        payload = {"title": "停水通知", "body": "明日 9:00–12:00 停水", "scope": "org", **body}
        r = self.client.post(ADMIN, json=payload, headers=self.desk)
        assert r.status_code == expect, r.json
        if fan and expect == 201:
            fan_out(self.app)
        return r.json

    def tenant_list(self, who: Any) -> list[int]:
        r = self.client.get(TENANT, headers=self.world.headers(who))
        assert r.status_code == 200, r.json
        return [n["id"] for n in r.json["items"]]


@pytest.fixture
def board(app: Flask, client: Any, world: Any) -> Board:
    return Board(app, client, world)


# Committed organisations and a loopback server for the races (tests/notices/test_races.py).
from tests.notices.races import base_url, estate  # noqa: E402, F401
