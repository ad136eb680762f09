"""The access log leaves its buffer in batches, and nothing waits in it for long."""

from __future__ import annotations

import time

from server.web.logging import PeriodicFlush


def test_flushes_are_batched_and_a_timer_catches_up() -> None:
    flushed: list[float] = []
    flush = PeriodicFlush(lambda: flushed.append(time.monotonic()), interval=0.2)
    for _ in range(100):  # a burst of requests within the interval
        flush()
    assert flushed == []
    time.sleep(0.4)
    assert len(flushed) == 1  # the timer flushed what waited, once
    time.sleep(0.25)
    flush()  # the interval has passed: at once
    assert len(flushed) == 2


def test_the_access_log_handler_flushes_periodically() -> None:
    from tests.web.test_log_privacy import gunicorn_logger

    logger = gunicorn_logger()
    handlers = logger.access_log.handlers
    assert handlers and all(isinstance(h.flush, PeriodicFlush) for h in handlers)
