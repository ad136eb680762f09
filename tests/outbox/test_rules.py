"""The outbox policy, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.outbox.rules import (
    MAX_BACKOFF,
    Status,
    after_failure,
    attempts_allowed,
    backoff,
    error_text,
    lease,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_backoff_doubles_from_the_base_and_is_capped():
    assert [backoff(attempt=n, base_seconds=30).total_seconds() for n in (1, 2, 3, 4)] == [
        30,
        60,
        120,
        240,
    ]
    assert backoff(attempt=60, base_seconds=30) == MAX_BACKOFF
    assert backoff(attempt=3, base_seconds=0) == timedelta(0)


def test_the_retries_of_the_catalogue_decide_when_an_item_fails():
    assert attempts_allowed(3) == 4
    assert after_failure(attempts=1, max_attempts=4, retries=3, retry_delay=30, now=NOW) == (
        Status.PENDING,
        NOW + timedelta(seconds=30),
    )
    assert after_failure(attempts=3, max_attempts=4, retries=3, retry_delay=30, now=NOW) == (
        Status.PENDING,
        NOW + timedelta(seconds=120),
    )
    assert after_failure(attempts=4, max_attempts=4, retries=3, retry_delay=30, now=NOW)[0] == (
        Status.FAILED
    )
    # After an operator's retry (max_attempts raised by 4), the backoff starts again.
    assert after_failure(attempts=5, max_attempts=8, retries=3, retry_delay=30, now=NOW) == (
        Status.PENDING,
        NOW + timedelta(seconds=30),
    )


def test_a_lease_outlives_the_job_timeout():
    assert lease(timeout=300) == timedelta(seconds=360)
    assert lease(timeout=2) == timedelta(seconds=4)


def test_error_text_is_short_and_masked():
    assert error_text(ValueError("bad phone 13812345678\nand id 110101199003071234")) == (
        "ValueError: bad phone 138****5678 and id 110101********1234"
    )
    assert error_text(KeyError()) == "KeyError"
    long = error_text(RuntimeError("x" * 2000))
    assert len(long) == 500 and long.endswith("…")
