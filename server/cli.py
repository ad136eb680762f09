"""The `baoxiu` command: migrate, seed-demo, serve, worker, cron, outbox, sandbox, dev."""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from server import runtime
from server.config import ConfigError, Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GUNICORN_CONF = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"
DEFAULT_PORT = 5000
# `--port` falls back to $PORT (`make run PORT=5001` passes it on), then to 5000.
port_option = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    envvar="PORT",
    show_default=True,
    show_envvar=True,
    help="TCP port for the API",
)


def _settings() -> Settings:
    try:
        return runtime.resolve(Settings.from_env())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _bind_problem(host: str, port: int) -> OSError | None:
    """Try to bind `host:port` the way gunicorn will; the error if that fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _free_port_near(host: str, port: int) -> int | None:
    for candidate in range(port + 1, min(port + 50, 65535) + 1):
        if _bind_problem(host, candidate) is None:
            return candidate
    return None


def _holder(port: int) -> str:
    """Which process listens on `port`, when the system lets us see it."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="inet"):
            listening = conn.status == psutil.CONN_LISTEN
            if listening and conn.pid and conn.laddr and conn.laddr.port == port:
                name = " ".join(psutil.Process(conn.pid).cmdline())
                return f"pid {conn.pid}: {name[:120]}"
    except Exception:
        return ""
    return ""


def ensure_port_free(host: str, port: int, *, command: str) -> None:
    """Fail before starting anything when the API could not listen on `host:port`."""
    problem = _bind_problem(host, port)
    if problem is None:
        return
    other = _free_port_near(host, port) or port + 1
    again = {
        "dev": [f"make run PORT={other}", f".venv/bin/baoxiu dev --port {other}"],
        "serve": [f".venv/bin/baoxiu serve --host {host} --port {other}"],
    }[command]
    if problem.errno == errno.EADDRINUSE:
        holder = _holder(port)
        held_by = f"\n  占用者 / held by: {holder}" if holder else ""
        headline = (
            f"端口 {port} 已被占用（{host}:{port}），Baoxiu 无法启动。"
            f"是不是另一个 `make run` / `baoxiu {command}` 还在运行？{held_by}\n"
            f"Port {port} on {host} is already in use: is another `make run` or "
            f"`baoxiu {command}` still running? Stop it (Ctrl-C in its terminal), "
            "or choose another port:"
        )
    else:
        headline = (
            f"无法监听 {host}:{port}（{problem.strerror}）。\n"
            f"Cannot listen on {host}:{port} ({problem.strerror}). Choose another port:"
        )
    lines = [headline, *(f"  {cmd}" for cmd in again)]
    lines.append(f"  (或设置环境变量 / or set the environment variable: PORT={other})")
    raise click.ClickException("\n".join(lines))


@click.group()
def main() -> None:
    """报修 Baoxiu — repair work orders for property companies."""


@main.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    from server.db import migrate as migrations

    settings = _settings()
    assert settings.database_url
    migrations.upgrade(settings.database_url)
    click.echo("database schema is up to date")


@main.command("seed-demo")
def seed_demo() -> None:
    """Create the demo organisation, its people and catalogue (idempotent)."""
    from server.db.session import Database
    from server.demo_data import seed_demo as seed

    settings = _settings()
    assert settings.database_url
    db = Database(settings.database_url, pool_size=1)
    with db.transaction() as uow:
        created = seed(uow.session)
    db.dispose()
    click.echo("demo data created" if created else "demo data already present")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@port_option
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: config)")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the API with gunicorn (config: deploy/gunicorn.conf.py or BAOXIU_GUNICORN_CONF)."""
    from gunicorn.app.base import BaseApplication

    ensure_port_free(host, port, command="serve")
    _settings()  # fail fast, and start the embedded services before forking workers
    conf_path = Path(os.environ.get("BAOXIU_GUNICORN_CONF", DEFAULT_GUNICORN_CONF))
    if not conf_path.is_file():
        raise click.ClickException(f"gunicorn config not found: {conf_path}")

    class GunicornApp(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            namespace: dict[str, Any] = {"__file__": str(conf_path)}
            exec(compile(conf_path.read_text(), str(conf_path), "exec"), namespace)
            for key, value in namespace.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key, value)
            self.cfg.set("bind", [f"{host}:{port}"])
            if workers:
                self.cfg.set("workers", workers)

        def load(self) -> Any:
            from server.wsgi import app

            return app

    GunicornApp().run()


@main.command()
@click.option("--queue", "queues", multiple=True, help="queues to work (default: all, by priority)")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker for background jobs."""
    from server.jobs import QUEUES
    from workers.main import run_worker

    _settings()
    run_worker(queues or QUEUES, burst=burst)


@main.command()
def cron() -> None:
    """Run the periodic-job scheduler (enqueues the catalogue's periodic jobs)."""
    from workers.main import run_cron

    _settings()
    run_cron()


@main.command()
@click.option("--sweep", is_flag=True, help="re-enqueue lost deliveries now (the cron does it)")
def outbox(sweep: bool) -> None:
    """Show background side effects (the outbox) by job and status; optionally sweep now."""
    from datetime import UTC, datetime

    from server.outbox import console, delivery
    from workers.runtime import database

    _settings()
    db = database()
    if sweep:
        with db.transaction() as uow:
            report = delivery.sweep(uow.session, now=datetime.now(UTC))
        click.echo(f"swept: {report.lost} lost deliveries re-armed, {report.requeued} re-enqueued")
    with db.transaction() as uow:
        rows = console.summary(uow.session)
    db.dispose()
    for job, status, count in rows:
        click.echo(f"{job:<40} {status:<12} {count:>8}")
    if not rows:
        click.echo("the outbox is empty")


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=5010, show_default=True)
@click.option(
    "--api",
    default=f"http://127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    help="the API whose notify endpoints the sandbox calls",
)
def sandbox(port: int, api: str) -> None:
    """Local WeChat Pay + Alipay + FCM sandbox for development (never for production).

    Speaks both providers' wire protocols with keys generated under the instance directory;
    `baoxiu dev` starts it and points WECHATPAY_* / ALIPAY_* at it when no real account is set.
    """
    from werkzeug.serving import run_simple

    from server.sandbox.service import Sandbox, SandboxKeys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(message)s")
    keys = SandboxKeys.ensure(_sandbox_dir())
    box = Sandbox(
        keys,
        wechat_notify_url=f"{api}/api/v1/payments/wechat/notify",
        alipay_notify_url=f"{api}/api/v1/payments/alipay/notify",
    )
    box.start_background()
    click.echo(f"payment sandbox on http://127.0.0.1:{port} (notifies {api})")
    run_simple("127.0.0.1", port, box.wsgi(), threaded=True)


def _sandbox_dir() -> Path:
    return Path(Settings.from_env().instance_dir) / "sandbox"


def _use_sandbox(api_port: int) -> int | None:
    """Point WECHATPAY_* / ALIPAY_* / FCM at the local sandbox unless real ones are configured;
    returns the sandbox's port, or None when real accounts are set."""
    if (
        os.environ.get("WECHATPAY_MCHID")
        or os.environ.get("ALIPAY_APPID")
        or os.environ.get("FIREBASE_CREDENTIALS")
    ):
        return None
    from server.sandbox.service import SandboxKeys, environment

    port = api_port + 10
    if _bind_problem("127.0.0.1", port) is not None:
        port = _free_port_near("127.0.0.1", port) or port
    keys = SandboxKeys.ensure(_sandbox_dir())
    os.environ.update(
        environment(
            keys, sandbox_url=f"http://127.0.0.1:{port}", api_url=f"http://127.0.0.1:{api_port}"
        )
    )
    return port


@main.command()
@port_option
def dev(port: int) -> None:
    """Everything for a first look: embedded services, migrate, seed, API, worker and cron.

    Ctrl-C (or SIGTERM) stops all of it, embedded PostgreSQL and Redis included (those that
    this command started; servers that were already running are left running).
    """
    ensure_port_free("127.0.0.1", port, command="dev")
    try:
        _dev(port)
    finally:
        for line in runtime.stop_embedded():
            click.echo(f"embedded {line}")


def _dev(port: int) -> None:
    sandbox_port = _use_sandbox(port)
    settings = _settings()
    click.get_current_context().invoke(migrate)
    click.get_current_context().invoke(seed_demo)
    command = [sys.executable, "-m", "server.cli"]
    children = []
    if sandbox_port is not None:
        api = f"http://127.0.0.1:{port}"
        children.append(
            subprocess.Popen([*command, "sandbox", "--port", str(sandbox_port), "--api", api])
        )
    children += [
        subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
        ),
        subprocess.Popen([*command, "worker"]),
        subprocess.Popen([*command, "cron"]),
    ]
    base = f"http://127.0.0.1:{port}"
    click.echo(f"""
Baoxiu is starting on the embedded default (data under {settings.instance_dir}).
  Console (控制台):       {base}/console/   dispatcher 13900000000, password demo1234
  API docs (Swagger UI): {base}/docs
  OpenAPI document:      {base}/openapi.json
  Health:                {base}/api/v1/readyz
Demo logins (password demo1234), POST {base}/api/v1/auth/login:
  dispatcher / admin  13900000000
  desk clerk          13900000009 (role 客服专员: one community, no money or settings)
  technicians         13900000001 … 13900000005 (grab cap 3)
  residents           13800000001, 13800000002, 13800000003 (family of …001)
  company employees   13800000010 … 13800000014
{_sandbox_note(sandbox_port)}Press Ctrl-C to stop.
""")
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
    if failed and not stopping:
        raise click.ClickException(f"a process stopped unexpectedly: {failed[0].args!r}")


def _sandbox_note(port: int | None) -> str:
    if port is None:
        return "Payments go to the configured WeChat Pay / Alipay accounts.\n"
    return (
        f"Payments go to the local sandbox http://127.0.0.1:{port} (no real money):\n"
        f"  pay a WeChat payment  POST http://127.0.0.1:{port}/sandbox/wechat/pay/<out_trade_no>\n"
        f"  pay an Alipay one     POST http://127.0.0.1:{port}/sandbox/alipay/pay {{orderStr}}\n"
        f"Pushes go to the sandbox's FCM: a 'FCM push to …' line per delivery, and\n"
        f"  GET http://127.0.0.1:{port}/ lists the last ones.\n"
    )


if __name__ == "__main__":
    main()
