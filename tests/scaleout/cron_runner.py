"""`baoxiu cron` with one test job, scheduled every second and tagged with this process's id.

python -m tests.scaleout.cron_runner <queue> <lock key>

The product's loop (`workers.main.run_cron`: the leader lock, following, takeover) runs as is;
only the catalogue is replaced, so the test sees within seconds which process enqueues, on a
queue no worker listens to, under a lock key of its own.
"""

from __future__ import annotations

import os
import sys

from rq.cron import CronScheduler

from workers.main import run_cron
from workers.runtime import redis_connection


def tick(pid: int) -> int:
    """Never run (nobody works the queue): the job's argument names who enqueued it."""
    return pid


def main() -> None:
    from tests.scaleout.cron_runner import tick as job  # named by its module, not __main__

    queue, key = sys.argv[1:3]
    scheduler = CronScheduler(connection=redis_connection(), name=f"{key}-{os.getpid()}")
    scheduler.register(job, queue_name=queue, args=(os.getpid(),), interval=1, name=queue)
    run_cron(scheduler, lock_key=key)


if __name__ == "__main__":
    main()
