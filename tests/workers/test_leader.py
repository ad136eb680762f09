"""The cron leader lock against the run's Redis: one holder, renewal and release only by it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers.leader import LeaderLock


@pytest.fixture
def key(redis_url: str) -> Iterator[str]:
    name = f"test:leader:{uuid.uuid4().hex[:12]}"
    yield name
    redis.Redis.from_url(redis_url).delete(name)


def test_one_holds_the_other_waits_until_it_is_released(redis_url: str, key: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    first = LeaderLock(connection, key=key, ttl_seconds=5)
    second = LeaderLock(connection, key=key, ttl_seconds=5)

    assert first.hold()
    assert not second.hold()
    assert first.hold()  # renewed
    assert first.leading() and not second.leading()
    assert first.holder() == first.token

    second.release()  # not its lock: nothing happens
    assert connection.get(key) == first.token.encode()

    first.release()
    assert connection.get(key) is None
    assert not first.leading()
    assert second.hold()


def test_an_expired_holder_does_not_renew_a_successor_s_lock(redis_url: str, key: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    first = LeaderLock(connection, key=key, ttl_seconds=0.3)
    second = LeaderLock(connection, key=key, ttl_seconds=5)
    assert first.hold()
    time.sleep(0.4)  # the holder paused past its time to live
    assert not first.leading()
    assert second.hold()

    assert not first.hold()  # its compare-and-expire fails; the successor keeps the lock
    assert connection.get(key) == second.token.encode()
    first.release()
    assert connection.get(key) == second.token.encode()
    assert connection.pttl(key) > 4000


def test_a_holder_that_cannot_reach_redis_stops_leading(key: str) -> None:
    unreachable = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    lock = LeaderLock(unreachable, key=key, ttl_seconds=5)
    assert not lock.hold()
    assert not lock.leading()
