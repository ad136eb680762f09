"""A mini-program team's TypeScript, generated from the served document, compiled strictly.

`openapi-typescript` writes `api.d.ts`; `tsc --strict` must compile the typed samples of the
mini-program's and the technician app's screens as they are (no casts, no `!`), and must
refuse a sample that names an error id the server never answers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.contract.conftest import TS_DIR, compile_typescript

SAMPLES = TS_DIR / "samples"


@pytest.mark.parametrize("sample", ["miniprogram.ts", "technician.ts"])
def test_app_screens_compile_strictly(typescript_types: Path, tmp_path: Path, sample: str):
    done = compile_typescript(typescript_types, SAMPLES / sample, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_unknown_error_id_does_not_compile(typescript_types: Path, tmp_path: Path):
    done = compile_typescript(typescript_types, SAMPLES / "unknown_error.ts", tmp_path)
    assert done.returncode != 0
    assert "unknown_error.ts" in done.stdout and "order_takne" in done.stdout, done.stdout


def test_answers_are_not_optional_and_links_are_nullable(typescript_types: Path):
    """What the samples rely on, read off the generated text."""
    text = typescript_types.read_text(encoding="utf-8")
    order = text[text.index("        Order: {") :]
    order = order[: order.index("\n        };")]
    assert "    timeline" not in order  # the list shape has no timeline …
    assert "status_label: string;" in order and "overdue: boolean;" in order
    assert 'assignee: components["schemas"]["Assignee"] | null;' in order
    assert "?:" not in order, order  # … and nothing in it is optional
    # No `Record<string, never> | null | T` for a nullable link, no untyped property.
    assert "Record<string, never> |" not in text and "| Record<string, never>" not in text
    untyped = re.findall(r"^\s+(\w+)\??: unknown;$", text, flags=re.MULTILINE)
    assert untyped == [], untyped
