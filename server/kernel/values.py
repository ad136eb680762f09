"""Value lists and limits defined once.

Database CHECK constraints, marshmallow validators and the OpenAPI enums are built from these
tuples, so a value added here is accepted everywhere at once (with a migration for the CHECK).
"""

from __future__ import annotations

from collections.abc import Iterable

# The grab cap (抢单数上限): organisation default and the ceiling of every level.
DEFAULT_GRAB_CAP = 5
MAX_GRAB_CAP = 100


def sql_in(column: str, values: Iterable[str]) -> str:
    """The text of a CHECK constraint `column IN (...)` for a value list."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"
