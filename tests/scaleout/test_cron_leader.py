"""Two `baoxiu cron` processes: exactly one enqueues; SIGKILL it and the other takes over."""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from rq import Queue

from server.jobs import QUEUES
from tests.scaleout.conftest import CRON_LOCK_TTL, Processes, wait_for
from workers.leader import CRON_LOCK_KEY

pytestmark = pytest.mark.scaleout

CRON = ("-m", "tests.scaleout.cron_runner")


@pytest.fixture
def names(redis_url: str) -> Iterator[tuple[str, str]]:
    """This test's queue and lock key, removed from Redis afterwards."""
    suffix = uuid.uuid4().hex[:12]
    queue, key = f"test-cron-{suffix}", f"test:cron:leader:{suffix}"
    yield queue, key
    connection = redis.Redis.from_url(redis_url)
    Queue(queue, connection=connection).delete(delete_jobs=True)
    connection.delete(key)


def enqueuers(queue: Queue) -> Counter[int]:
    """How many jobs each cron process (by pid) has enqueued."""
    return Counter(int(job.args[0]) for job in queue.jobs)


@pytest.mark.timeout(60)
def test_two_crons_one_leads_and_the_other_takes_over_when_it_is_killed(
    processes: Processes, names: tuple[str, str], redis_url: str
) -> None:
    queue_name, key = names
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    command = (sys.executable, *CRON)
    first = processes.start("cron-0", queue_name, key, command=command)
    second = processes.start("cron-1", queue_name, key, command=command)
    pids = {first.pid: first, second.pid: second}

    # One of them takes the lock and enqueues every second; the other only waits.
    holder = wait_for("a leader", lambda: connection.get(key))
    wait_for("ticks", lambda: queue.count >= 3)
    time.sleep(CRON_LOCK_TTL + 1)  # the follower tried the lock 3 times: it would have acted
    counts = enqueuers(queue)
    assert len(counts) == 1, counts
    [(leader_pid, ticks)] = counts.items()
    assert ticks >= 5
    assert f":{leader_pid}:" in holder.decode()
    leader = pids[leader_pid]
    [follower] = [p for pid, p in pids.items() if pid != leader_pid]
    assert "leads" in processes.log(f"cron-{[first, second].index(leader)}")
    assert "follows" in processes.log(f"cron-{[first, second].index(follower)}")

    # The leader dies without releasing anything: within the lock's time to live (plus one
    # renewal period) the follower holds it and enqueues; the dead one enqueues no more.
    killed_at = time.monotonic()
    processes.kill(leader)
    dead = enqueuers(queue)[leader_pid]
    wait_for(
        "the follower to take over",
        lambda: enqueuers(queue).get(follower.pid, 0) >= 2,
        timeout=CRON_LOCK_TTL * 3,
    )
    took_over = time.monotonic() - killed_at
    assert took_over < CRON_LOCK_TTL * 2, took_over
    assert f":{follower.pid}:" in connection.get(key).decode()
    assert enqueuers(queue)[leader_pid] == dead  # nothing from the dead one afterwards
    assert "leads" in processes.log(f"cron-{[first, second].index(follower)}")

    # A clean stop releases the lock at once.
    processes.stop_all()
    assert connection.get(key) is None


@pytest.mark.timeout(60)
def test_the_real_baoxiu_cron_takes_the_deployment_s_lock_and_releases_it_on_sigterm(
    processes: Processes, redis_url: str
) -> None:
    connection = redis.Redis.from_url(redis_url)
    assert connection.get(CRON_LOCK_KEY) is None, "another baoxiu cron uses this Redis"
    try:
        cron = processes.start("cron", "cron")  # `baoxiu cron`, the whole catalogue
        holder = wait_for("the lock", lambda: connection.get(CRON_LOCK_KEY))
        assert f":{cron.pid}:" in holder.decode()
        wait_for("the log", lambda: "leads" in processes.log("cron"))
        assert 0 < connection.pttl(CRON_LOCK_KEY) <= CRON_LOCK_TTL * 1000
        processes.stop_all()
        assert cron.returncode == 0
        assert connection.get(CRON_LOCK_KEY) is None
    finally:
        # A minute may have turned meanwhile: drop what it enqueued for nobody.
        for name in QUEUES:
            Queue(name, connection=connection).empty()
