"""Where one request's time goes, by layer: a profile of each hot path, in process.

    python -m bench.layers [--requests 1000] [--history 20000]

Seeds a fresh database as bench.hotpaths does, then calls the app's WSGI callable directly
(no HTTP, no server, one thread) `--requests` times per path and splits each request's CPU
time into layers by timing the functions that mark their boundaries:

- auth: `authenticate` (the JWT, then the access check: one Redis GET);
- sql: SQLAlchemy and psycopg, from `Connection._execute_context` in (compiling or finding
  the statement, sending it, building the result), CPU only;
- dump: the response schema's compiled dump; json: orjson;
- framework: the rest (werkzeug, Flask, flask-smorest, webargs, our hooks, the unit of work,
  the use case's own Python).

`wait` is wall time minus CPU: the request waiting for PostgreSQL (and Redis) to answer.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import psycopg

from bench.grab import PROJECT_ROOT, OrderMaker, Refiller, insert_history, seed
from bench.hotpaths import drop_database, fresh_database, seed_orders, seed_people
from server import runtime
from server.accounts.tokens import TokenIssuer
from server.config import Settings

LAYERS = ("auth", "sql", "dump", "json", "framework")
SPENT: dict[str, float] = defaultdict(float)
_ACTIVE: list[str] = []


@contextmanager
def _layer(name: str) -> Iterator[None]:
    """CPU time inside `name`, not counting an inner layer (sql inside auth counts as sql)."""
    start = time.process_time()
    _ACTIVE.append(name)
    try:
        yield
    finally:
        _ACTIVE.pop()
        spent = time.process_time() - start
        SPENT[name] += spent
        if _ACTIVE:
            SPENT[_ACTIVE[-1]] -= spent


def _timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _layer(name):
            return func(*args, **kwargs)

    return wrapper


def instrument() -> None:
    """Wrap the layer boundaries; before the app is created (dumpers are built with it)."""
    from sqlalchemy.engine.base import Connection

    from server.web import blueprint, json_provider

    blueprint.authenticate = _timed("auth", blueprint.authenticate)
    Connection._execute_context = _timed("sql", Connection._execute_context)  # type: ignore[method-assign]
    compiled = blueprint._compiled_dump
    blueprint._compiled_dump = lambda schema: _timed("dump", compiled(schema))
    encode = json_provider.OrjsonProvider.encode
    json_provider.OrjsonProvider.encode = _timed("json", encode)  # type: ignore[method-assign]


def _environ(method: str, target: str, token: str) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_LENGTH": "0",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def profile(app: Any, method: str, target: str, token: str, requests: int) -> dict[str, float]:
    """Per request, in ms: total CPU, each layer, and the wait."""
    status: list[str] = []

    def start_response(s: str, _headers: Any, _exc: Any = None) -> None:
        status.append(s)

    def call() -> None:
        b"".join(app.wsgi_app(_environ(method, target, token), start_response))

    for _ in range(50):
        call()
    if not status[-1].startswith("200"):
        raise RuntimeError(f"{method} {target} answered {status[-1]}")
    SPENT.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        with _layer("framework"):
            call()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    figures = {name: SPENT[name] / requests * 1000 for name in LAYERS}
    figures["cpu"] = cpu / requests * 1000
    figures["wait"] = max(wall - cpu, 0.0) / requests * 1000
    return figures


def report(rows: dict[str, dict[str, float]]) -> str:
    head = f"{'path':14}{'CPU ms':>8}" + "".join(f"{n:>11}" for n in LAYERS) + f"{'wait ms':>9}"
    lines = [head, "-" * len(head)]
    for name, f in rows.items():
        cells = "".join(f"{f[n]:6.3f} {f[n] / f['cpu']:3.0%}" for n in LAYERS)
        lines.append(f"{name:14}{f['cpu']:8.3f}{cells}{f['wait']:9.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layers", description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="requests per path")
    parser.add_argument("--history", type=int, default=20_000, help="historical orders")
    parser.add_argument("--db-name", default="baoxiu_layers", help="the bench database's name")
    parser.add_argument("--json", default=None, help="write the figures here")
    parser.add_argument(
        "--profile", default="", help="also cProfile this path (pool, detail, …): top functions"
    )
    args = parser.parse_args(argv)

    base = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(base.instance_dir)
    redis_url = os.environ.get("REDIS_URL") or runtime.embedded_redis_url(base.instance_dir)
    database_url = fresh_database(server_url, args.db_name, PROJECT_ROOT)
    try:
        env = {
            "BAOXIU_ENV": "dev",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "warning",
        }
        settings = Settings.from_env({**os.environ, **env})
        tokens = TokenIssuer(
            settings.secret_key, settings.jwt_access_minutes, settings.jwt_refresh_days
        )
        world = seed(database_url, tokens, clients=1, techs_per_client=1)
        people = seed_people(database_url, world, tokens, readers=1)
        maker = OrderMaker(world)
        with psycopg.connect(database_url) as conn:
            insert_history(conn, maker, count=args.history)
            seed_orders(conn, maker, people)
            Refiller(database_url, maker, 200).fill(conn)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        instrument()
        from server.app import create_app

        app = create_app(settings)
        staff_id, reader = people.readers[0]
        held = people.held[staff_id][0]
        paths = {
            "pool": ("GET", "/api/v1/tech/pool?page_size=5", reader),
            "detail": ("GET", f"/api/v1/tech/orders/{held}", reader),
            "tenant_list": ("GET", "/api/v1/tenant/orders?page_size=20", people.tenant_token),
            "console_list": ("GET", "/api/v1/admin/orders?page_size=20", people.admin_token),
            "floor": ("GET", "/api/v1/healthz", reader),
        }
        rows = {name: profile(app, *spec, args.requests) for name, spec in paths.items()}
        if args.profile:
            method, target, token = paths[args.profile]
            profiler = cProfile.Profile()
            profiler.enable()
            profile(app, method, target, token, args.requests)
            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(r"server/|mobile_api/|schemas/", 40)
        print(f"in-process CPU per request by layer ({args.requests} requests each)\n")
        print(report(rows))
        if args.json:
            with open(args.json, "w") as out:
                json.dump(rows, out, indent=1)
        app.extensions["baoxiu"].db.dispose()
    finally:
        drop_database(server_url, args.db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
