"""Read-only units of work: no transaction round trips, and no writes, however attempted."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, text, update

from server.accounts.models import User
from server.db.session import core
from server.organisation.models import Organisation


@pytest.fixture
def db(app):
    return app.extensions["baoxiu"].db


def test_a_read_only_unit_reads_in_autocommit(db) -> None:
    uow = db.unit_of_work(read_only=True)
    try:
        assert uow.session.scalar(select(func.count()).select_from(Organisation)) is not None
        assert uow.session.connection().connection.driver_connection.autocommit is True
        # Nothing was begun: PostgreSQL has no transaction id for this backend.
        assert uow.session.scalar(text("SELECT pg_current_xact_id_if_assigned()")) is None
        uow.commit()
    finally:
        uow.close()
    # The pooled connection goes back to transactions for the next unit of work.
    writer = db.unit_of_work()
    try:
        writer.session.scalar(text("SELECT 1"))
        assert writer.session.connection().connection.driver_connection.autocommit is False
    finally:
        writer.close()


@pytest.mark.parametrize("how", ["orm_statement", "core_statement", "flush"])
def test_a_read_only_unit_refuses_writes(db, how: str) -> None:
    uow = db.unit_of_work(read_only=True)
    try:
        with pytest.raises(RuntimeError, match="read-only"):
            if how == "orm_statement":
                uow.session.execute(update(User).where(User.id == -1).values(name="x"))
            elif how == "core_statement":
                core(uow.session).execute(
                    insert(Organisation.__table__).values(code="ro-test", name="x")
                )
            else:
                uow.session.add(Organisation(code="ro-test", name="x"))
                uow.session.flush()
    finally:
        uow.rollback()
        uow.close()
    check = db.unit_of_work()
    try:
        found = check.session.scalar(select(Organisation).where(Organisation.code == "ro-test"))
        assert found is None
    finally:
        check.close()
