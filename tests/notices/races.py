"""Committed organisations and parallel HTTP clients for the notices' and surveys' races.

Like tests/concurrency: each test commits its own organisation for real (never the SAVEPOINT
fixtures, on whose one connection no race could happen) and fires real parallel requests at
the app served on a loopback port.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import text

from server.db.session import Database
from server.kernel.roles import Role
from tests.factories import Factory
from tests.fakes.server import serve


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


class Estate:
    """A committed organisation: `rooms` rooms, each with one resident who has a login."""

    def __init__(self, app: Flask, base_url: str, *, rooms: int) -> None:
        container = app.extensions["baoxiu"]
        self.db: Database = container.db
        self.base_url = base_url
        now = datetime.now(UTC)
        with self.db.transaction() as uow:
            make = Factory(uow.session, container.tokens)
            org = make.org(code=f"est{uuid.uuid4().hex[:16]}")
            building = make.building(make.community(org))
            self.room_ids: list[int] = []
            self.tenants: list[dict[str, str]] = []
            for _ in range(rooms):
                room = make.room(building)
                customer = make.customer(org)
                contact = make.contact(customer)
                make.holds(customer, room)
                user = make.tenant(org, phone=contact.phone)
                pair = container.tokens.issue(uow.session, user=user, now=now)
                self.tenants.append({"Authorization": f"Bearer {pair.access_token}"})
                self.room_ids.append(room.id)
            desk = make.user(org, roles=[Role.ADMIN.value, Role.DISPATCHER.value])
            pair = container.tokens.issue(uow.session, user=desk, now=now)
            self.desk = {"Authorization": f"Bearer {pair.access_token}"}
            self.org_id = org.id

    def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> Callable[[requests.Session], requests.Response]:
        def call(http: requests.Session) -> requests.Response:
            return http.post(self.base_url + path, json=body, headers=headers, timeout=30)

        return call

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.db.engine.connect() as conn:
            return conn.execute(text(sql), {"org_id": self.org_id, **params}).scalar()


def race(calls: Sequence[Callable[[requests.Session], requests.Response]]) -> list[Reply]:
    """Fire all calls at once from parallel keep-alive clients; every answer, in call order."""
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> Reply:
        with requests.Session() as http:
            barrier.wait(timeout=30)
            response = calls[index](http)
        return Reply(response.status_code, response.json() if response.content else None)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, range(len(calls))))


@pytest.fixture(scope="module")
def base_url(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def estate(app: Flask, base_url: str) -> Callable[..., Estate]:
    def build(*, rooms: int) -> Estate:
        return Estate(app, base_url, rooms=rooms)

    return build
