"""Outbox policy in pure Python: statuses, attempts, backoff, leases and error text.

An item is `pending` until a worker claims it (`delivering`, with a lease), then `delivered`,
or back to `pending` after a failed attempt (with a backoff), or `failed` once its attempts
are used up. A lease that expires means the worker died mid-delivery: the sweeper counts the
attempt as failed and puts the item back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from server.kernel.personal_data import mask_text


class Status(StrEnum):
    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    FAILED = "failed"


STATUSES = tuple(s.value for s in Status)

# What an operator may retry (with a fresh set of attempts): what gave up. A pending item is
# already on its way, a delivering one is being worked on.
RETRYABLE = frozenset({Status.FAILED.value})

MAX_BACKOFF = timedelta(hours=6)
MAX_ERROR_LENGTH = 500
JOB_NAME_LENGTH = 100
DEDUPE_KEY_LENGTH = 200


def attempts_allowed(retries: int) -> int:
    """The first attempt and `retries` more."""
    return max(retries, 0) + 1


def backoff(*, attempt: int, base_seconds: int) -> timedelta:
    """The wait after the `attempt`-th failed attempt of a round: base, 2×base, 4×base …"""
    if base_seconds <= 0:
        return timedelta(0)
    exponent = min(max(attempt, 1) - 1, 20)
    return min(timedelta(seconds=base_seconds * 2**exponent), MAX_BACKOFF)


def after_failure(
    *, attempts: int, max_attempts: int, retries: int, retry_delay: int, now: datetime
) -> tuple[Status, datetime]:
    """Where an item goes after a failed attempt: back to pending (and when), or failed."""
    if attempts >= max_attempts:
        return Status.FAILED, now
    # The attempt's number within the current round (an operator's retry starts a new round).
    in_round = attempts - (max_attempts - attempts_allowed(retries))
    return Status.PENDING, now + backoff(attempt=in_round, base_seconds=retry_delay)


def lease(*, timeout: int) -> timedelta:
    """How long a claim stays valid: the job's timeout and a margin.

    RQ stops a job at its timeout, so a lease that outlives it has expired only when the
    worker itself is gone (killed, its machine lost).
    """
    return timedelta(seconds=timeout + min(timeout, 60))


def error_text(exc: BaseException) -> str:
    """What an operator sees of a failure: the exception's type and message, masked, short."""
    message = str(exc).strip().replace("\n", " ")
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = mask_text(text)
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 1] + "…"
    return text


def delivery_job_id(scope: str, outbox_id: int, attempts: int) -> str:
    """The RQ job id of the delivery that makes attempt `attempts + 1`: duplicates collapse.

    `scope` names the database whose row it is, so that databases sharing one Redis (test
    runs, staging beside a demo) never mistake each other's deliveries for duplicates.
    """
    return f"outbox-{scope}-{outbox_id}-{attempts}"
