"""Several prebuilt SELECTs in one round trip: same rows as one by one, pending changes seen."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from server.db.pipeline import read_together
from server.organisation.models import Organisation

_BY_CODE = select(Organisation.id, Organisation.code).where(Organisation.code == bindparam("code"))
_ALL = select(Organisation.code).order_by(Organisation.code)


def test_rows_come_back_per_statement_by_name(db_session, make) -> None:
    first, second = make.org(code="pipe-a"), make.org(code="pipe-b")
    # Not flushed by hand: read_together flushes, as a query would.
    db_session.add(Organisation(code="pipe-c", name="c"))
    a, b, everyone = read_together(
        db_session, [(_BY_CODE, {"code": "pipe-a"}), (_BY_CODE, {"code": "pipe-b"}), (_ALL, {})]
    )
    assert [(r.id, r.code) for r in a] == [(first.id, "pipe-a")]
    assert [(r.id, r.code) for r in b] == [(second.id, "pipe-b")]
    codes = [r.code for r in everyone]
    assert {"pipe-a", "pipe-b", "pipe-c"} <= set(codes) and codes == sorted(codes)
    # The session goes on working on the same connection afterwards.
    assert db_session.scalar(select(Organisation.id).where(Organisation.code == "pipe-c"))
