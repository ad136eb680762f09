"""`baoxiu` with the test outbox handlers registered.

python -m tests.workers.outbox_worker worker --queue <name>
"""

from __future__ import annotations

import tests.workers.outbox_handlers  # noqa: F401  (registers the handlers before the fork)
from server.cli import main

if __name__ == "__main__":
    main()
