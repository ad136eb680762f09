"""The reach of a survey in Python (`surveys.rules.room_in_scope`, tenants' view) and in SQL
(`notices.fanout.rooms_in_scope`, the announcement and notices' fan-out) agree, room by room."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.directory.models import Room
from server.notices.fanout import rooms_in_scope
from server.surveys.rules import SCOPES, room_in_scope


@pytest.mark.parametrize("scope", SCOPES)
def test_python_and_sql_reach_the_same_rooms(world, make, db_session, scope):
    other = make.building(world.room.community)
    rooms = [
        world.room,
        world.other_room,
        make.room(other),
        make.room(make.building(make.community(world.org))),
    ]
    targets = {
        "org": [],
        "communities": [world.room.community_id],
        "buildings": [other.id],
        "rooms": [world.other_room.id, rooms[3].id],
    }[scope]
    in_sql = set(
        db_session.scalars(
            select(Room.id).where(Room.org_id == world.org.id, rooms_in_scope(scope, targets))
        )
    )
    in_python = {
        r.id
        for r in rooms
        if room_in_scope(
            scope, targets, room_id=r.id, building_id=r.building_id, community_id=r.community_id
        )
    }
    assert in_sql == in_python and in_sql
