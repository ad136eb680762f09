"""The image installs the project as a wheel (deploy/Dockerfile: `pip install .`, not editable):
every file the running code reads from its packages must be package data in pyproject.toml, or
the container lacks it (a console template, a stylesheet, a migration) while every test run from
the source tree passes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "mobile_api", "workers", "schemas")
# Inputs of the build, not read at run time: the console's npm manifest (the libraries it
# installs are copied into static/vendor, which is package data).
BUILD_INPUTS = ("server/console/assets",)


def _runtime_files() -> set[Path]:
    found = set()
    for top in PACKAGES:
        for path in (ROOT / top).rglob("*"):
            relative = path.relative_to(ROOT)
            if (
                path.is_file()
                and path.suffix not in (".py", ".pyc")
                and not any(part.startswith((".", "__pycache__")) for part in relative.parts)
                and "node_modules" not in relative.parts
                and not str(relative).startswith(BUILD_INPUTS)
            ):
                found.add(relative)
    return found


def _package_data() -> set[Path]:
    """What setuptools puts in the wheel: each package's globs, relative to the package."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    covered = set()
    for package, patterns in settings["tool"]["setuptools"]["package-data"].items():
        directory = ROOT / package.replace(".", "/")
        assert (directory / "__init__.py").is_file(), f"{package} is not a package"
        for pattern in patterns:
            covered |= {p.relative_to(ROOT) for p in directory.glob(pattern) if p.is_file()}
    return covered


def test_every_data_file_of_the_packages_is_installed():
    missing = sorted(str(p) for p in _runtime_files() - _package_data())
    assert not missing, f"not package data in pyproject.toml (absent from the image): {missing}"


def test_the_console_and_the_migrations_are_package_data():
    covered = {str(p) for p in _package_data()}
    assert "server/console/static/console.css" in covered
    assert "server/db/migrations/script.py.mako" in covered
    assert any(p.startswith("server/db/migrations/versions/") for p in covered)
    assert any(p.startswith("server/console/templates/console/") for p in covered)
