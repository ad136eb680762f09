"""Several prebuilt SELECTs in one round trip to PostgreSQL (psycopg's pipeline mode).

An order's detail reads seven independent lists (timeline, messages, photos, charges, fee,
payments, refunds). One after the other that is seven round trips, each paying the network,
the driver and the server's per-statement wake-up; in a pipeline the statements leave
together and their results come back together.

Statements are compiled once per dialect (they must be built once, at import, with named bind
parameters for what varies, constants for the rest, and no expanding ones); rows come back as
named tuples, read by column name as ORM objects or SQLAlchemy rows would be. They run on the
session's own connection, inside its transaction (or its autocommit, for a read-only unit of
work).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from server.db.session import core


@dataclass(frozen=True)
class _Plan:
    sql: str
    row: Any  # a namedtuple class, one field per selected column
    # The statement's own constants (a LIMIT, a role list): bound once, at build time.
    constants: dict[str, Any]


_PLANS: dict[tuple[int, str], _Plan] = {}


def _plan(statement: Select[Any], dialect: Any) -> _Plan:
    key = (id(statement), dialect.name)
    plan = _PLANS.get(key)
    if plan is None:
        compiled = statement.compile(dialect=dialect)
        names = list(statement.selected_columns.keys())
        constants = {k: v for k, v in compiled.params.items() if v is not None}
        plan = _Plan(str(compiled), namedtuple("Row", names), constants)
        _PLANS[key] = plan
    return plan


def read_together(
    session: Session, statements: Sequence[tuple[Select[Any], Mapping[str, Any]]]
) -> list[list[Any]]:
    """Run `statements` (each with its parameters) in one round trip; their rows, in order."""
    connection = core(session)
    driver = connection.connection.driver_connection
    assert driver is not None
    plans = [_plan(statement, connection.dialect) for statement, _ in statements]
    cursors = []
    with driver.pipeline():
        for plan, (_statement, params) in zip(plans, statements, strict=True):
            cursor = driver.cursor()
            cursor.execute(plan.sql, {**plan.constants, **params})
            cursors.append(cursor)
    results = []
    for plan, cursor in zip(plans, cursors, strict=True):
        results.append([plan.row._make(values) for values in cursor.fetchall()])
        cursor.close()
    return results
