"""The demo organisation has a family, a completed transfer and a split (made by the use cases)."""

from __future__ import annotations

from sqlalchemy import select

from server.demo_data import seed_demo
from server.models import Organisation, Room


def test_demo_residency(db_session, make, client):
    assert seed_demo(db_session, history=False) is True
    org = db_session.scalar(select(Organisation).where(Organisation.code == "demo"))
    rooms = {r.code: r for r in db_session.scalars(select(Room).where(Room.org_id == org.id))}
    headers = make.headers(make.admin(org))

    def history(code):
        r = client.get(f"/api/v1/admin/rooms/{rooms[code].id}/history", headers=headers)
        assert r.status_code == 200, r.json
        return r.json

    family = history("1-2-101")
    assert sorted(
        (r["relation"], r["household_label"], r["customer"]["name"])
        for r in family["relations"]
        if r["current"]
    ) == [("owner", "", "孙八"), ("resident", "子女", "孙小宝"), ("resident", "配偶", "孙妻")]
    [transfer] = history("1-2-102")["transfers"]
    assert transfer["from_customer"]["name"] == "周九"
    assert transfer["to_customer"]["name"] == "吴十"
    split = history("3-1101")
    assert split["room"]["retired_on"] is not None
    assert sorted(e["to_room"]["code"] for e in split["lineage"]) == ["3-1101A", "3-1101B"]
