"""docs/api.md agrees with the code: endpoints, error ids, statuses and state moves.

The page is written by hand for people; these tests keep it from drifting from what the
server actually does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.kernel import errors
from server.orders.rules.states import TRANSITIONS, Action, Status
from server.web.errors import HTTP_ERRORS

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BASE_PATH = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")
# `GET /tenant/orders/{order_id}`, wherever it appears on the page (lists, tables, prose).
ENDPOINT = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`")


@pytest.fixture(scope="module")
def doc() -> str:
    return API_DOC.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The body of the `## heading` section (up to the next `## `)."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/api.md has no '## {heading}' section"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The cells of every body row of the markdown tables in `text`."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return [row for row in rows if not row[0].startswith(("error", "status", "from", "audience"))]


def code(cell: str) -> str:
    """`order_taken` → order_taken; — → ''."""
    return cell.strip().strip("`") if cell.strip() != "—" else ""


def documented_endpoints(doc: str) -> set[tuple[str, str]]:
    return {(method, BASE_PATH + path) for method, path in ENDPOINT.findall(doc)}


def served_endpoints(client) -> set[tuple[str, str]]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return {
        (method.upper(), path)
        for path, operations in response.get_json()["paths"].items()
        for method in operations
        if method in METHODS
    }


def test_every_documented_endpoint_is_served(app, doc):
    documented = documented_endpoints(doc)
    assert len(documented) > 50, "the endpoint lines of docs/api.md were not found"
    missing = documented - served_endpoints(app.test_client())
    assert not missing, f"docs/api.md lists endpoints the app does not have: {sorted(missing)}"


def test_every_served_endpoint_is_documented(app, doc):
    undocumented = served_endpoints(app.test_client()) - documented_endpoints(doc)
    assert not undocumented, f"add these to docs/api.md: {sorted(undocumented)}"


def error_ids_in_code() -> dict[str, set[int]]:
    """Every `error` id a client can receive, with its HTTP statuses.

    The domain error classes (server/kernel/errors.py) and the ids the one error handler
    gives generic HTTP failures (404 for an unknown path, 405, 413, 415, 500, ...).
    """
    found: dict[str, set[int]] = {}
    pending: list[type[errors.DomainError]] = [errors.DomainError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.error, set()).add(cls.status)
        pending.extend(cls.__subclasses__())
    for status, (error, _message) in HTTP_ERRORS.items():
        found.setdefault(error, set()).add(status)
    return found


def error_ids_in_doc(doc: str) -> dict[str, set[int]]:
    table: dict[str, set[int]] = {}
    for row in table_rows(section(doc, "Errors")):
        error, statuses = code(row[0]), row[1]
        assert error not in table, f"{error} appears twice in the error table"
        table[error] = {int(s) for s in re.findall(r"\d{3}", statuses)}
    return table


def test_error_table_lists_exactly_the_error_ids_of_the_code(doc):
    documented, defined = set(error_ids_in_doc(doc)), set(error_ids_in_code())
    assert not documented - defined, f"no error class has these ids: {documented - defined}"
    assert not defined - documented, f"add these to the error table: {defined - documented}"


def test_error_table_gives_each_id_its_statuses(doc):
    documented, defined = error_ids_in_doc(doc), error_ids_in_code()
    wrong = {e: (documented[e], defined[e]) for e in defined if documented.get(e) != defined[e]}
    assert not wrong, f"error id: (statuses in docs/api.md, statuses in the code): {wrong}"


def test_status_table_lists_every_order_status(doc):
    rows = table_rows(section(doc, "Work orders: statuses and actions"))
    statuses = {code(row[0]) for row in rows if len(row) == 3}
    defined = {s.value for s in Status}
    assert statuses == defined, f"docs/api.md: {sorted(statuses)}; the code: {sorted(defined)}"


def test_transition_table_is_the_state_machine(doc):
    rows = table_rows(section(doc, "Work orders: statuses and actions"))
    moves = {(code(r[0]) or None, code(r[1]), code(r[2])) for r in rows if len(r) == 4}
    machine = {
        (start.value if start else None, action.value, end.value)
        for (start, action), end in TRANSITIONS.items()
    }
    assert not moves - machine, f"the state machine has no such moves: {moves - machine}"
    assert not machine - moves, f"add these moves to docs/api.md: {machine - moves}"
    assert {action for _, action, _ in moves} == {a.value for a in Action}


# The folder of documents kept beside the project, spelled in parts so that this check is not
# itself a mention of it.
OUTSIDE_FOLDERS = tuple(prefix + "shared" for prefix in ("../", "/work/"))


def test_the_project_points_at_this_page_and_nothing_outside_it(doc):
    readme = (API_DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "docs/api.md" in readme
    for text in (doc, readme):
        assert all(word not in text for word in OUTSIDE_FOLDERS)


def test_no_file_of_the_project_cites_documents_it_does_not_contain():
    """The project stands alone: no source, doc or test names a file kept outside it."""
    root = API_DOC.parents[1]
    outside = (*OUTSIDE_FOLDERS, "integrations.md", "STYLE.md", "API.md")
    offenders = [
        f"{path.relative_to(root)}: {word}"
        for folder in (
            "server",
            "mobile_api",
            "schemas",
            "workers",
            "bench",
            "docs",
            "deploy",
            "tests",
        )
        for path in (root / folder).rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".md", ".toml", ".example", ".sh", ".cfg")
        and path.resolve() != Path(__file__).resolve()  # this test names them to look for them
        for word in outside
        if word in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []
