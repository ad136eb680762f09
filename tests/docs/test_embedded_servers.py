"""The first hour on a fresh clone: what `make test` and `make run` start, they stop.

Each test runs the real thing in a subprocess on the embedded default (no DATABASE_URL or
REDIS_URL), with its own BAOXIU_INSTANCE_DIR, and looks at the processes left afterwards.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

PROJECT = Path(__file__).resolve().parents[2]
BAOXIU = Path(sys.executable).with_name("baoxiu")


def embedded_env(instance_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PORT")}
    env["BAOXIU_INSTANCE_DIR"] = str(instance_dir)
    env["PYTHONPATH"] = str(PROJECT)
    return env


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (a socket path, a data dir)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if text in cmdline and proc.info["pid"] != os.getpid():
            found.append(f"{proc.info['pid']}: {cmdline}")
    return found


def wait_until_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not running(pid)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


STARTS_REDIS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from server import runtime

    runtime.embedded_redis_url(Path(sys.argv[1]))
    (server,) = runtime.embedded_services()
    print(json.dumps({"pid": server.pid, "socket": server.where, "started": server.started}))
    sys.stdout.flush()
    if sys.argv[2] == "wait":
        sys.stdin.read()  # until the test closes our stdin (or signals us)
    """
)


def start_redis_process(instance_dir: Path, *, wait: bool) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen(
        [sys.executable, "-c", STARTS_REDIS, str(instance_dir), "wait" if wait else "exit"],
        cwd=PROJECT,
        env=embedded_env(instance_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the subprocess printed nothing"
    return proc, json.loads(line)


def test_a_process_stops_the_redis_it_started_when_it_exits(tmp_path):
    proc, server = start_redis_process(tmp_path, wait=False)
    assert proc.wait(timeout=30) == 0
    assert server["started"]
    assert wait_until_gone(server["pid"]), "redis-server outlived the process that started it"
    assert processes_mentioning(server["socket"]) == []


def test_sigterm_stops_the_embedded_redis_too(tmp_path):
    proc, server = start_redis_process(tmp_path, wait=True)
    assert running(server["pid"])
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert wait_until_gone(server["pid"])
    assert processes_mentioning(server["socket"]) == []


def test_a_redis_another_process_started_is_left_running(tmp_path):
    owner, server = start_redis_process(tmp_path, wait=True)
    try:
        joiner, joined = start_redis_process(tmp_path, wait=False)
        assert joiner.wait(timeout=30) == 0
        assert (joined["pid"], joined["started"]) == (server["pid"], False)
        time.sleep(0.5)
        assert running(server["pid"]), "the joining process stopped a server it did not start"
    finally:
        assert owner.stdin is not None
        owner.stdin.close()
        owner.wait(timeout=30)
    assert wait_until_gone(server["pid"]), "the process that started it did not stop it"


PROBE = textwrap.dedent(
    """
    import json, os
    from server import runtime

    def test_uses_the_embedded_redis(redis_url):
        assert redis_url.startswith("unix://")
        (server,) = runtime.embedded_services()
        with open(os.environ["PROBE_OUT"], "w") as out:
            json.dump({"pid": server.pid, "socket": server.where}, out)
    """
)


def test_a_test_run_stops_the_embedded_redis_it_started(tmp_path):
    """The suite's own wiring (tests/conftest.py), run as `make test` runs it."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = embedded_env(tmp_path / "instance")
    env["PROBE_OUT"] = str(tmp_path / "probe.json")
    options = ["-q", "-p", "no:cacheprovider", "-p", "tests.conftest"]
    config = ["-c", str(PROJECT / "pyproject.toml"), "--rootdir", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *options, *config, str(probe)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    server = json.loads((tmp_path / "probe.json").read_text())
    assert wait_until_gone(server["pid"]), "redis-server outlived the test run"
    assert processes_mentioning(server["socket"]) == []
    summary = r"embedded servers.*redis \(pid \d+.*started here — stopped"
    assert re.search(summary, result.stdout, re.S), result.stdout


def test_baoxiu_dev_stops_everything_on_ctrl_c(tmp_path):
    port = free_port()
    instance = tmp_path / "instance"
    dev = subprocess.Popen(
        [str(BAOXIU), "dev", "--port", str(port)],
        cwd=PROJECT,
        env=embedded_env(instance),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if dev.poll() is not None:
                assert dev.stdout is not None
                pytest.fail("baoxiu dev stopped on its own:\n" + dev.stdout.read()[-4000:])
            assert time.monotonic() < deadline, "baoxiu dev did not become ready"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/readyz") as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        children = psutil.Process(dev.pid).children(recursive=True)
        assert children, "no API, worker and cron processes"
    finally:
        dev.send_signal(signal.SIGINT)  # what Ctrl-C does
        output, _ = dev.communicate(timeout=60)
    assert dev.returncode == 0, output
    stopped = dict(re.findall(r"embedded (redis|postgres) \(pid (\d+), .*— stopped", output))
    assert set(stopped) == {"redis", "postgres"}, output
    for pid in [int(p) for p in stopped.values()] + [c.pid for c in children]:
        assert wait_until_gone(pid), f"pid {pid} is still running after baoxiu dev ended"
    assert processes_mentioning(str(instance)) == []


@pytest.mark.parametrize("command", ["dev", "serve"])
def test_a_taken_port_is_named_with_the_way_out(tmp_path, command):
    instance = tmp_path / "instance"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(BAOXIU), command, "--port", str(port)],
            cwd=PROJECT,
            env=embedded_env(instance),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"端口 {port} 已被占用" in result.stderr
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert re.search(r"make run PORT=\d+|baoxiu serve --host 127.0.0.1 --port \d+", result.stderr)
    assert "Connection in use" not in result.stderr
    assert not instance.exists(), "embedded servers were started before the port was checked"


def test_make_run_passes_port_through():
    result = subprocess.run(
        ["make", "-n", "run", "PORT=5123"], cwd=PROJECT, capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"make is not usable here: {result.stderr.strip()}")
    assert "baoxiu dev --port 5123" in result.stdout
