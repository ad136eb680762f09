"""The served OpenAPI document, and what app teams generate from it.

`document` is `/openapi.json` as the app serves it. The generators run on that document as an
app team runs them (docs/clients.md): `openapi-python-client` from the dev dependencies, and
`openapi-typescript` + `tsc` from `tests/contract/ts` (npm from PyPI's Node.js wheel,
installed by `make test` from the lockfile).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask

from tests.factories import PASSWORD, Factory
from tests.fakes.server import serve
from tests.world import World

HERE = Path(__file__).parent
TS_DIR = HERE / "ts"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A command installed into this virtualenv (the generators, node, npm)."""
    path = BIN / name
    assert path.exists(), f"{name} is not installed in {BIN}: run `make install`"
    return str(path)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="session")
def document(app: Flask) -> dict[str, Any]:
    answer = app.test_client().get("/openapi.json")
    assert answer.status_code == 200
    return answer.get_json()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def document_file(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@dataclass
class Generated:
    package: ModuleType
    output: str

    def module(self, name: str) -> Any:
        return importlib.import_module(f"{self.package.__name__}.{name}")


@pytest.fixture(scope="session")
def python_client(document_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The Python client `openapi-python-client` generates from the served document."""
    root = tmp_path_factory.mktemp("python-client")
    name = f"baoxiu_client_{uuid.uuid4().hex[:8]}"
    done = run(
        [
            tool("openapi-python-client"),
            "generate",
            "--path",
            str(document_file),
            "--meta",
            "none",
            "--output-path",
            str(root / name),
            "--config",
            str(HERE / "openapi-python-client.yaml"),
        ],
        cwd=root,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(name)
    finally:
        sys.path.remove(str(root))
    return Generated(package, output)


@pytest.fixture(scope="session")
def typescript_types(document_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`api.d.ts` as `openapi-typescript` writes it from the served document."""
    binary = TS_DIR / "node_modules" / ".bin" / "openapi-typescript"
    assert binary.exists(), "tests/contract/ts is not installed: run `make test` (npm ci)"
    out = tmp_path_factory.mktemp("typescript") / "api.d.ts"
    done = run([tool("node"), str(binary), str(document_file), "-o", str(out)], cwd=TS_DIR)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def compile_typescript(
    types: Path, sample: Path, workdir: Path
) -> subprocess.CompletedProcess[str]:
    """`tsc --strict --noEmit` over the generated types and one sample file."""
    shutil.copy(types, workdir / "api.d.ts")
    shutil.copy(sample, workdir / sample.name)
    tsc = TS_DIR / "node_modules" / "typescript" / "bin" / "tsc"
    return run(
        [
            tool("node"),
            str(tsc),
            "--strict",
            "--noEmit",
            "--target",
            "es2020",
            "--module",
            "es2020",
            "--moduleResolution",
            "node",
            "--lib",
            "es2020",
            str(workdir / "api.d.ts"),
            str(workdir / sample.name),
        ],
        cwd=workdir,
    )


@dataclass
class LiveWorld:
    """A committed organisation (the `World` of the other tests) behind a real HTTP server."""

    base_url: str
    world: World
    phones: dict[str, str]


@pytest.fixture(scope="module")
def live(app: Flask) -> Iterator[LiveWorld]:
    """The app on a loopback port, with a committed organisation set up for orders.

    Committed for real (not in a test's SAVEPOINT): the generated client talks to a real
    server in other threads. Rows of a fresh organisation; the run's database is dropped.
    """
    container = app.extensions["baoxiu"]
    with container.db.transaction() as uow:
        make = Factory(uow.session, container.tokens)
        world = World(make)
        phones = {
            "tenant": world.tenant.phone,
            "tech0": world.techs[0].user.phone,
            "tech1": world.techs[1].user.phone,
        }
    with serve(app) as url:
        yield LiveWorld(url, world, phones)


def login(live: LiveWorld, client: Generated, who: str) -> Any:
    """Log in through the generated client; an authenticated client for `who`."""
    pkg = client.package
    models = client.module("models")
    password_login = client.module("api.auth.auth_password_login")
    answer = password_login.sync_detailed(
        client=pkg.Client(base_url=live.base_url, raise_on_unexpected_status=True),
        body=models.PasswordLogin(phone=live.phones[who], password=PASSWORD),
    )
    assert answer.status_code == 200, answer.content
    tokens = answer.parsed
    assert isinstance(tokens, models.Login), tokens
    return pkg.AuthenticatedClient(
        base_url=live.base_url, token=tokens.access_token, raise_on_unexpected_status=True
    )


def now() -> datetime:
    return datetime.now(UTC)
