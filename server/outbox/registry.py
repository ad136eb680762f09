"""Which handler delivers which outbox job.

A handler is named by its job (`server.jobs.outbox_job`) and receives a `Delivery`: the outbox
row's id, the attempt, the organisation and the job's arguments. Handlers must be idempotent,
keyed on `delivery.outbox_id`: a delivery may be repeated after a crash.

Two kinds:
- database handlers (`register_database_handler`) only write to the database: they run in the
  delivery's transaction, which also marks the row delivered, so their effects happen exactly
  once (a crash rolls both back; a late, superseded delivery is rolled back too).
- external handlers (`register_external_handler`) call a provider (a push, a payment query):
  they run outside any transaction and the row is marked delivered after they return, so they
  run at least once; they pass `delivery.outbox_id` on as the provider's idempotency key.

Product handlers are registered at the bottom of this module, next to each other, so that the
worker that imports this module knows every job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.db.session import Database
from server.jobs import DELIVER_OUTBOX, JobSpec, outbox_job


@dataclass(frozen=True)
class Delivery:
    """One attempt at delivering one outbox item."""

    outbox_id: int  # the idempotency key of the handler's effects
    attempt: int  # 1 for the first attempt
    job: str
    org_id: int | None
    kwargs: Mapping[str, Any]
    now: datetime
    # External handlers own their transactions: the process's database (its `session_info`
    # carries the settings). None for database handlers, which get a session instead.
    db: Database | None = None


DatabaseHandler = Callable[[Session, Delivery], None]
ExternalHandler = Callable[[Delivery], None]


@dataclass(frozen=True)
class Handler:
    job: JobSpec
    in_transaction: DatabaseHandler | None = None
    outside_transaction: ExternalHandler | None = None


_HANDLERS: dict[str, Handler] = {}


def _register(handler: Handler) -> None:
    job = handler.job
    if not job.name or job.func != DELIVER_OUTBOX:
        raise ValueError(f"not an outbox job (use server.jobs.outbox_job): {job!r}")
    known = _HANDLERS.get(job.name)
    if known is not None and known != handler:
        raise ValueError(f"outbox job {job.name!r} already has a handler")
    _HANDLERS[job.name] = handler


def register_database_handler(job: JobSpec, handler: DatabaseHandler) -> None:
    """Deliver `job` with `handler(session, delivery)` inside the delivery's transaction."""
    _register(Handler(job, in_transaction=handler))


def register_external_handler(job: JobSpec, handler: ExternalHandler) -> None:
    """Deliver `job` with `handler(delivery)`, outside any transaction (at least once)."""
    _register(Handler(job, outside_transaction=handler))


def handler_for(name: str) -> Handler | None:
    return _HANDLERS.get(name)


def spec_for(name: str) -> JobSpec:
    """The catalogue entry of a job; catalogue defaults for a name nobody registered."""
    handler = _HANDLERS.get(name)
    return handler.job if handler is not None else outbox_job(name)


# Product handlers: importing them registers them (they import this module's functions above).
import server.notices.handlers  # noqa: E402
import server.notifications.handlers  # noqa: E402
import server.payments.handlers  # noqa: E402
import server.surveys.handlers  # noqa: E402, F401
